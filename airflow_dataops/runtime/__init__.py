"""What blocks, spawns or runs an engine, kept out of the pure core.

- ``probing``: asks clusters for their live capacity over asyncio;
- ``local_runner``: runs a pod's command as a local subprocess;
- ``interruptible``: runs blocking work in a thread that a signal can stop;
- ``embedded_sql``: the DuckDB engine behind the embedded connection;
- ``local_quantum``: Qiskit Aer and Braket's local simulator;
- ``optional``: imports an extra's package with an error that names the extra to install.

No Airflow imports here either: the adapters in hooks/, operators/ and triggers/ call in.
"""

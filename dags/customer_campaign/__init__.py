"""Business logic of the showcase pipeline, kept free of Airflow.

The showcase DAG (``dags/showcase_customer_campaign.py``) wires these functions into
TaskGroups. Keeping the steps here, as plain functions over files, means they can be
unit-tested without Airflow and later moved onto the provider's operators (a pod on
the supercluster, a quantum task, a federated query) one step at a time.

Heavy libraries (numpy, scikit-learn) are imported inside the functions so that
parsing the DAG never pays for them.
"""

"""Lineage records and their spool, without Airflow or MLflow."""

from __future__ import annotations

from pathlib import Path

from airflow_dataops.core.lineage import KEY_TAG, MAX_PARAM_VALUE, TRUNCATED, LineageRecord, clip, dataset
from airflow_dataops.lineage.spool import Spool


def record(key: str = "ti:d/r/t/-1/1", parent: str | None = "dagrun:d/r", end_ms: int = 2000) -> LineageRecord:
    return LineageRecord.build(
        key=key, parent_key=parent, experiment="airflow/d", run_name="t try 1", status="FINISHED",
        start_ms=1000, end_ms=end_ms, tags={"airflow.task_id": "t"}, params={"sql": "x" * 10_000},
        metrics={"duration_s": 1.0},
    )  # fmt: skip


def test_values_are_clipped_to_mlflows_limits_with_a_marker() -> None:
    built = record()
    assert len(built.params["sql"]) == MAX_PARAM_VALUE
    assert built.params["sql"].endswith(TRUNCATED)
    assert built.tags[KEY_TAG] == "ti:d/r/t/-1/1"
    assert clip({"b": 1, "a": 2}, 100) == '{"a": 2, "b": 1}'


def test_the_spool_keeps_records_until_done_and_gives_them_back_on_failure(tmp_path: Path) -> None:
    spool = Spool(tmp_path)
    spool.put(record("ti:d/r/t/-1/1", end_ms=3000))
    spool.put(record("dagrun:d/r", parent=None, end_ms=3000))
    claimed = list(spool.claim())
    assert [r.key for _, r in claimed] == ["dagrun:d/r", "ti:d/r/t/-1/1"]  # the DAG run first
    assert list(spool.claim()) == []  # claimed records are not handed out twice
    Spool.release(claimed[0][0])
    Spool.done(claimed[1][0])
    assert [r for _, r in spool.claim()] == [claimed[0][1]]
    assert spool.pending() == 1


def test_a_claim_left_by_a_dead_sender_is_taken_back(tmp_path: Path) -> None:
    import subprocess
    import sys

    spool = Spool(tmp_path)
    spool.put(record())
    claimer = subprocess.run(
        [
            sys.executable,
            "-c",
            f"from airflow_dataops.lineage.spool import Spool; list(Spool({str(tmp_path)!r}).claim())",
        ],
        check=True,
    )  # a sender that claimed the record and then ended without sending it
    assert claimer.returncode == 0
    assert [r.key for _, r in Spool(tmp_path).claim()] == ["ti:d/r/t/-1/1"]


def test_a_live_senders_claim_is_left_alone_until_stale(tmp_path: Path) -> None:
    Spool(tmp_path).put(record())
    list(Spool(tmp_path).claim())  # claimed by this (living) process
    assert list(Spool(tmp_path).claim()) == []
    assert [r.key for _, r in Spool(tmp_path, stale_after=0.0).claim()] == ["ti:d/r/t/-1/1"]


def test_a_written_dataset_is_versioned_by_the_try_that_wrote_it() -> None:
    first = dataset("trino://t:443/w/m/x", "output", "d/r1/t/-1/1")
    assert first == dataset("trino://t:443/w/m/x", "output", "d/r1/t/-1/1")  # a replay is the same dataset
    assert first["digest"] != dataset("trino://t:443/w/m/x", "output", "d/r2/t/-1/1")["digest"]
    assert len(first["digest"]) == 36  # MLflow's limit
    assert LineageRecord.from_json(record().to_json()) == record()


def test_mlflow_credentials_become_a_header_only_inside_the_hooks_calls() -> None:
    from airflow_dataops.lineage.mlflow_auth import ConnectionAuthHeaderProvider, authorization, authorization_header

    assert authorization_header("admin", "pw") == "Basic YWRtaW46cHc="
    assert authorization_header(None, "tok-1") == "Bearer tok-1"
    assert authorization_header("admin", None) is None
    provider = ConnectionAuthHeaderProvider()
    assert not provider.in_context()
    with authorization("Bearer tok-1"):
        assert provider.in_context()
        assert provider.request_headers() == {"Authorization": "Bearer tok-1"}
    assert not provider.in_context()


def test_mlflow_registers_the_header_provider_through_its_entry_point() -> None:
    from mlflow.tracking.request_header.registry import _request_header_provider_registry

    from airflow_dataops.lineage.mlflow_auth import ConnectionAuthHeaderProvider

    assert any(isinstance(p, ConnectionAuthHeaderProvider) for p in _request_header_provider_registry)


def test_a_running_sender_is_seen_so_no_second_one_is_started(tmp_path: Path) -> None:
    from airflow_dataops.lineage.spool import Spool

    spool = Spool(tmp_path / "spool")
    assert not spool.sender_running()
    with spool.sending(wait=True) as got:
        assert got
        assert spool.sender_running()
    assert not spool.sender_running()

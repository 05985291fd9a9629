from __future__ import annotations

import json
import sys
import threading
import time

import pytest

from airflow_dataops.runtime.local_runner import XCOM_ENV, LocalPodError, LocalProcess


def test_streams_output_honours_exit_code_and_env() -> None:
    lines: list[str] = []
    process = LocalProcess(
        ["python", "-c", "import os,sys; print('a'); print(os.environ['GREETING']); sys.exit(4)"], {"GREETING": "hi"}
    )
    assert process.argv[0] == sys.executable  # "python" is the worker's interpreter
    assert process.run(lines.append) == 4
    assert lines == ["a", "hi"]
    process.close()


def test_xcom_file_is_offered_and_read_back() -> None:
    script = f"import json,os; open(os.environ['{XCOM_ENV}'],'w').write(json.dumps({{'n': 3}}))"
    process = LocalProcess(["python", "-c", script], {})
    assert process.run(lambda _: None) == 0
    assert json.loads(process.xcom() or "") == {"n": 3}
    process.close()


def test_no_xcom_when_nothing_written() -> None:
    process = LocalProcess(["python", "-c", "pass"], {})
    process.run(lambda _: None)
    assert process.xcom() is None
    process.close()


def test_kill_stops_the_process_group() -> None:
    process = LocalProcess(["sh", "-c", "sleep 30 & wait"], {})
    codes: list[int] = []
    runner = threading.Thread(target=lambda: codes.append(process.run(lambda _: None)))
    started = time.monotonic()
    runner.start()
    time.sleep(0.5)
    process.kill()
    runner.join(timeout=15)
    assert codes == [-15]  # ended by SIGTERM
    assert time.monotonic() - started < 15
    process.close()


def test_a_pod_without_command_is_refused_with_the_fix() -> None:
    with pytest.raises(LocalPodError, match="give the task cmds"):
        LocalProcess([], {})


def test_a_missing_program_is_a_clear_error() -> None:
    process = LocalProcess(["no-such-program-xyz"], {})
    with pytest.raises(LocalPodError, match="is it installed on the worker"):
        process.run(lambda _: None)
    process.close()

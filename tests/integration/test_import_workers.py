"""Imports are decoded and validated in worker processes: a worker that dies mid-request
costs that request a retryable 503 (nothing written) and the next import is served; the
workers end with the service, even when it is killed."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
import time
from concurrent.futures import Future

import httpx
import psutil

from projects_import.imports.offload import workers
from tests.support import batch, cli_env, project_row, start_serve


def _occupy_workers(seconds: float) -> list[Future[None]]:
    """Keep every worker busy (sleeping) so the next call waits in the pool's queue."""
    executor = workers._executor  # the test drives the pool directly
    assert executor is not None
    return [executor.submit(time.sleep, seconds) for _ in range(workers.size)]


def test_imports_run_in_worker_processes_of_the_service(http, tenant, directories) -> None:
    _, secret = tenant
    response = http.post("/import-projects", json=batch([project_row("STG-1")]),
                         headers={"Authorization": f"Bearer {secret}"})
    assert response.status_code == 200, response.text
    pids = workers.pids()
    assert pids and os.getpid() not in pids
    for pid in pids:  # forked by the forkserver, itself a child of this process
        forkserver = psutil.Process(pid).parent()
        assert forkserver is not None and forkserver.ppid() == os.getpid()


def test_a_worker_dying_mid_request_answers_503_and_the_resend_is_served(
        http, db, tenant, directories) -> None:
    _, secret = tenant
    headers = {"Authorization": f"Bearer {secret}", "Content-Type": "application/json"}
    body = json.dumps(batch([project_row("STG-1")])).encode()
    busy = _occupy_workers(30)
    answers: list[httpx.Response] = []
    sender = threading.Thread(target=lambda: answers.append(
        http.post("/import-projects", content=body, headers=headers)))
    waiting = workers.pending
    sender.start()
    deadline = time.monotonic() + 10
    while workers.pending <= waiting and time.monotonic() < deadline:
        time.sleep(0.01)  # the request waits for a worker
    assert workers.pending > waiting
    for pid in workers.pids():
        os.kill(pid, signal.SIGKILL)
    sender.join(timeout=20)
    for future in busy:
        assert future.exception(timeout=10) is not None  # the sleepers died with the pool
    lost = answers[0]
    assert lost.status_code == 503, lost.text
    assert lost.json()["error"]["code"] == "worker_unavailable"
    assert int(lost.headers["Retry-After"]) >= 1
    assert db.execute("select count(*) as n from staging_imports").fetchone()["n"] == 0
    again = http.post("/import-projects", content=body, headers=headers)
    assert again.status_code == 200, again.text
    assert again.json()["replayed"] is False
    recorded = db.execute("select status, error_code from import_requests order by id").fetchall()
    assert recorded == [{"status": 503, "error_code": "worker_unavailable"},
                        {"status": 200, "error_code": None}]


def test_the_workers_end_with_serve_even_when_it_is_killed(database_url, tmp_path) -> None:
    for stop in (signal.SIGTERM, signal.SIGKILL):
        server, _ = start_serve(cli_env(tmp_path / "home", database_url),
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            children = psutil.Process(server.pid).children(recursive=True)
            assert len(children) >= 2  # the forkserver and its workers (and a resource tracker)
        finally:
            server.send_signal(stop)
            server.wait(timeout=30)
        _, alive = psutil.wait_procs(children, timeout=10)
        assert alive == [], f"left behind after {stop.name}: {[p.pid for p in alive]}"


def test_the_workers_of_serve_hold_the_import_contract_not_the_web_stack(
        database_url, tmp_path) -> None:
    """`serve` runs as the console script; a worker must not run that script again (it
    imports the whole CLI and web stack): pydantic's compiled core is mapped in the service's
    process, in none of its children."""
    server, _ = start_serve(cli_env(tmp_path / "home", database_url),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        service = psutil.Process(server.pid)

        def web_stack(process: psutil.Process) -> bool:
            return any("pydantic_core" in m.path for m in process.memory_maps())

        assert web_stack(service)  # the check sees it where it is
        children = service.children(recursive=True)
        assert len(children) >= 2
        assert [p.pid for p in children if web_stack(p)] == []
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)

"""Background hunt jobs started from the workbench, with progress for a poll endpoint.

A job either ingests a result document (an uploaded ``chainbreaker.json``) directly, or runs
``chainbreaker hunt PATH... --json FILE`` in a child process and ingests what it writes. A child
process, not a thread calling the pipeline: the hunt is exactly the CLI's (same detectors and
post-processing as they evolve), a crash or memory blow-up in it cannot take the server down, and
it does not hold the server's GIL. One job runs at a time; others queue. Job records live in
memory (a restarted server forgets them; the runs they stored stay in the store).
"""

from __future__ import annotations

import subprocess
import sys
import threading
import uuid
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import orjson

from chainbreaker.store import Store
from chainbreaker.store.backend import now

#: Lines of the hunt's output kept for the job view.
LOG_LINES = 20
STATES = ("queued", "running", "done", "failed")


class Job:
    """One hunt job; mutable state behind a lock (read by the poll endpoint, written by the worker)."""

    def __init__(self, inputs: Sequence[Path], source: str, folder: Path) -> None:
        self.id = "JOB-" + uuid.uuid4().hex[:12]
        self.inputs = [Path(p) for p in inputs]
        self.source = source  # "upload" or "path"
        self.folder = folder
        self._lock = threading.Lock()
        self._state: dict[str, Any] = {
            "state": "queued",
            "stage": "queued",
            "progress": 0.0,
            "message": "",
            "run_id": None,
            "error": None,
            "created_at": now(),
            "finished_at": None,
            "log": [],
        }

    def update(self, **changes: Any) -> None:
        with self._lock:
            self._state.update(changes)

    def log(self, line: str) -> None:
        with self._lock:
            self._state["log"] = [*self._state["log"], line.rstrip()[:500]][-LOG_LINES:]
            self._state["message"] = line.rstrip()[:500]

    def as_dict(self) -> dict[str, Any]:
        with self._lock:
            state = dict(self._state)
        return {
            "id": self.id,
            "source": self.source,
            "inputs": [p.name for p in self.inputs],
            **state,
        }


def looks_like_result(path: Path) -> bool:
    """A result document (``{"schema_version", "alerts", ...}``), not a log in JSON."""
    if path.suffix.lower() != ".json" or not path.is_file():
        return False
    with path.open("rb") as fh:
        head = fh.read(4096)
    return head.lstrip().startswith(b"{") and b'"schema_version"' in head


def _result_document(inputs: Sequence[Path]) -> dict[str, Any] | None:
    """The uploaded result document, or None when the input is logs (a JSON log export included)."""
    if len(inputs) != 1 or not looks_like_result(inputs[0]):
        return None
    try:
        document = orjson.loads(inputs[0].read_bytes())
    except orjson.JSONDecodeError:
        return None
    if isinstance(document, dict) and isinstance(document.get("alerts"), list):
        return document
    return None


class JobManager:
    def __init__(self, store_target: str, timeout_s: float) -> None:
        self.store_target = store_target
        self.timeout_s = timeout_s
        self._jobs: dict[str, Job] = {}
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="cb-hunt")

    def submit(self, inputs: Sequence[Path], source: str, folder: Path) -> Job:
        job = Job(inputs, source, folder)
        with self._lock:
            self._jobs[job.id] = job
        self._pool.submit(self._run, job)
        return job

    def get(self, job_id: str) -> Job | None:
        with self._lock:
            return self._jobs.get(job_id)

    def all(self) -> list[Job]:
        with self._lock:
            return list(self._jobs.values())

    def shutdown(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

    # the worker --------------------------------------------------------------------------------
    def _run(self, job: Job) -> None:
        job.update(state="running", stage="starting", progress=0.05)
        try:
            document = _result_document(job.inputs)
            meta: dict[str, Any] = {"inputs": [], "options": {"via": "workbench", "kind": "result"}}
            if document is None:  # logs: hunt them
                document = self._hunt(job)
                meta = {"inputs": [str(p) for p in job.inputs], "options": {"via": "workbench"}}
            if not isinstance(document, dict) or "alerts" not in document:
                raise ValueError("not a chainbreaker result document")
            job.update(stage="storing", progress=0.9)
            with Store(self.store_target) as store:
                run = store.ingest(document, meta)
            job.update(
                state="done",
                stage="done",
                progress=1.0,
                run_id=run,
                message=f"{len(document.get('alerts') or [])} alerts, "
                f"{len(document.get('incidents') or [])} incidents stored in {run}",
                finished_at=now(),
            )
        except Exception as exc:  # the job reports every failure; the server goes on
            job.update(state="failed", stage="failed", error=str(exc)[:2000], finished_at=now())

    def _hunt(self, job: Job) -> Any:
        out = job.folder / "result.json"
        cmd = [sys.executable, "-m", "chainbreaker", "hunt", *map(str, job.inputs), "--json", str(out)]
        job.update(stage="hunting", progress=0.1)
        with subprocess.Popen(
            cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, errors="replace"
        ) as proc:
            timer = threading.Timer(self.timeout_s, proc.kill)
            timer.start()
            try:
                assert proc.stdout is not None
                for line in proc.stdout:
                    if line.strip():
                        job.log(line)
            finally:
                timer.cancel()
            code = proc.wait()
        if code != 0 or not out.is_file():
            raise RuntimeError(f"hunt exited with code {code}: {job.as_dict()['message']}")
        job.update(stage="reading result", progress=0.85)
        return orjson.loads(out.read_bytes())

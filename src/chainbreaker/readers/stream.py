"""The read pipeline: paths -> discovered inputs -> a reader each -> conformed batches, on all cores.

The calling process only discovers the inputs (chainbreaker.readers.discover: a folder walk, zip
directories, file sizes) and cuts the sorted list into tasks of similar size (:func:`plan`). Tasks
go round-robin to ``workers`` processes (spawned, so Polars and the Rust parser start clean);
each worker picks every input's reader by content and reads consecutive inputs of one Windows
reader into shared batches, so a folder of small logs still fills whole batches. Each worker has
its own bounded queue and the consumer takes tasks in order, so the output order is the same on
every run and with any number of workers, and at most ``QUEUE_DEPTH`` batches per worker wait in
memory. Batches travel as LZ4-compressed Arrow IPC; :func:`write_parquet_parts` lets each worker
write its Parquet part files itself, so batches never cross processes.
"""

from __future__ import annotations

import gc
import io
import multiprocessing as mp
import os
import pickle
import queue
import zipfile
from array import array
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import chain, groupby
from multiprocessing.reduction import ForkingPickler
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import polars as pl

from chainbreaker.errors import ReaderError
from chainbreaker.events import conform
from chainbreaker.readers.base import DEFAULT_BATCH_SIZE, InputFile, Reader, ReadReport, input_name
from chainbreaker.readers.discover import discover_sized, input_from_name
from chainbreaker.readers.registry import sniff
from chainbreaker.readers.windows_fields import WindowsReader

DEFAULT_WORKERS = 2
#: Task size bounds, in decoded input bytes (see :func:`plan`).
MIN_GROUP_BYTES = 16 << 20
MAX_GROUP_BYTES = 512 << 20
TASKS = 8
#: Batches (or part-file notices) a worker may have waiting for the consumer.
QUEUE_DEPTH = 2
NO_READER = "no reader recognises this file"

#: Called as ``progress(done, total)`` in input bytes: once with done=0 after planning, then after
#: each finished task.
Progress = Callable[[int, int], None]

#: A function applied to every batch inside the worker that read it (both cores, no transfer of the
#: original batch): a module-level function (it is pickled by name), returning a frame or None.
BatchFunction = Callable[[pl.DataFrame], "pl.DataFrame | None"]


@runtime_checkable
class BufferingTransform(Protocol):
    """A transform that may hold batches back to work on several at once (e.g. larger rounds).

    Called with each batch where it was read, it returns the frames it is done with (possibly none,
    while it buffers); ``flush()`` returns whatever it still holds. The stream calls ``flush`` at the
    end of every task (a run of consecutive inputs read by one worker), so everything a task read
    comes out before the task's end: the output order is the same on every run and with any number
    of workers, as without a transform. It is pickled to each worker, so keep it small and picklable.
    """

    def __call__(self, batch: pl.DataFrame) -> list[pl.DataFrame]: ...

    def flush(self) -> list[pl.DataFrame]: ...


#: What ``read_paths(transform=...)`` takes: a plain function per batch, or a buffering transform.
Transform = BatchFunction | BufferingTransform


@dataclass(frozen=True)
class Task:
    """Inputs one worker reads in a row; ``bytes`` drives the progress bar.

    The inputs are kept packed in one string (:func:`pack`): the calling process holds every task
    for the whole run and each worker its share, and a ``Path`` + ``InputFile`` per input made both
    grow with the input by ~1 KB per file (docs/BENCHMARKS.md, "Ingest", memory).
    """

    packed: str = ""
    bytes: int = 0

    @property
    def files(self) -> list[InputFile]:
        return list(unpack(self.packed))


_COMPRESSIONS = {None: "-", "gzip": "g", "bz2": "b", "zip": "z"}
_CODES = {code: name for name, code in _COMPRESSIONS.items()}


def pack(path: str, member: str | None, compression: str | None) -> str:
    """One input as text for :attr:`Task.packed` (NUL separates fields: no path or member holds one)."""
    return f"{_COMPRESSIONS[compression]}{path}\0{member or ''}"


def unpack(packed: str) -> Iterator[InputFile]:
    """The inputs of a :attr:`Task.packed` string, in order, one at a time."""
    start = 0
    while start < len(packed):
        cut = packed.index("\0", start)
        end = packed.find("\0", cut + 1)
        end = len(packed) if end < 0 else end
        yield InputFile(Path(packed[start + 1 : cut]), packed[cut + 1 : end] or None, _CODES[packed[start]])
        start = end + 1


def plan(paths: Iterable[str | os.PathLike[str]], report: ReadReport) -> list[Task]:
    """Discover inputs and cut them, in order, into tasks of similar decoded size (a big file alone).

    The task size aims at ``TASKS`` tasks, so two workers stay busy to the end; it does not
    depend on the number of workers, so the batches are the same whatever that number. It stays
    within [MIN_GROUP_BYTES, MAX_GROUP_BYTES] so that a task still fills whole batches (EVTX files
    are mostly empty chunk space; a small task means small frames and small part files).
    """
    # one str and two machine integers per input until the tasks are cut (no tuple, Path or int object)
    found: list[str] = []
    disks, decodes = array("q"), array("q")
    for path, member, compression, disk, decoded in discover_sized(paths, report):
        report.file(input_name(path, member)).bytes += disk
        found.append(pack(path, member, compression))
        disks.append(disk)
        decodes.append(decoded)
    group = min(max(sum(decodes) // TASKS, MIN_GROUP_BYTES), MAX_GROUP_BYTES)
    tasks: list[Task] = []
    current: list[str] = []
    weight = disk_bytes = 0
    for packed, disk, decoded in zip(found, disks, decodes, strict=True):
        if current and weight + decoded > group:
            tasks.append(Task("\0".join(current), disk_bytes))
            current, weight, disk_bytes = [], 0, 0
        current.append(packed)
        disk_bytes += disk
        weight += decoded
    if current:
        tasks.append(Task("\0".join(current), disk_bytes))
    return tasks


def total_bytes(tasks: list[Task]) -> int:
    return sum(task.bytes for task in tasks)


def run_task(task: Task, report: ReadReport, batch_size: int) -> Iterator[pl.DataFrame]:
    """Read one task in this process: conformed, non-empty batches. Consecutive inputs of one
    Windows reader share batches; an input no reader recognises is a warning."""
    runs = groupby(_with_readers(unpack(task.packed), report), key=_run_key)
    for _, run in runs:
        first = next(run)
        reader = first[1]
        items = chain([first], run)  # read as the files come: no list of the task's inputs
        if isinstance(reader, WindowsReader):  # normalise() already gives conformed frames
            yield from reader.read_many((file for file, _ in items), report, batch_size)
            continue
        for file, each in items:
            for batch in _read_one(each, file, report, batch_size):
                if batch.height:
                    yield conform(batch)


def _with_readers(files: Iterable[InputFile], report: ReadReport) -> Iterator[tuple[InputFile, Reader]]:
    """Each input sniffed (its head read once) with its reader. The input comes back as the
    :class:`~chainbreaker.readers.base.SniffedFile` to read, so the reader reuses that head: this
    generator is pulled lazily by :func:`run_task`, each input just before its read."""
    for file in files:
        file, reader = sniff(file)
        if reader is None:
            report.warn(file.name, None, NO_READER, skipped=0)
        else:
            yield file, reader


def _run_key(item: tuple[InputFile, Reader]) -> object:
    """Inputs of one Windows reader form a run; every other input is a run of its own."""
    reader = item[1]
    return type(reader) if isinstance(reader, WindowsReader) else item


def _read_one(reader: Reader, file: InputFile, report: ReadReport, batch_size: int) -> Iterator[pl.DataFrame]:
    report.file(file.name, reader.name)
    try:
        yield from reader.read(file, report, batch_size)
    except (OSError, EOFError, ValueError, zipfile.BadZipFile) as exc:
        report.warn(file.name, None, f"read stopped: {exc}", skipped=0)


def read_paths(
    paths: Iterable[str | os.PathLike[str]],
    report: ReadReport | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    workers: int | None = None,
    progress: Progress | None = None,
    transform: Transform | None = None,
) -> Iterator[pl.DataFrame]:
    """Conformed event batches from files, folders and archives, in a deterministic order.

    ``report`` (pass your own to read it afterwards) receives per-file counts and every warning.
    ``progress`` follows the input bytes (see :data:`Progress`). Batches hold at most
    ``batch_size`` rows; Windows batches come as one frame per channel. With ``workers`` > 1 and
    more than one task, worker processes are spawned: a script that calls this needs the usual
    ``if __name__ == "__main__":`` guard. ``transform`` (see :data:`Transform`) runs on each batch
    where it was read; its non-empty results are yielded instead of the batches (a
    :class:`BufferingTransform` is flushed at the end of each task).
    """
    report = report if report is not None else ReadReport()
    tasks = plan(paths, report)
    for kind, payload in _execute(tasks, report, batch_size, workers, progress, None, transform):
        if kind == "batch":
            yield payload


def write_parquet_parts(
    paths: Iterable[str | os.PathLike[str]],
    out_dir: Path,
    report: ReadReport | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    workers: int | None = None,
    progress: Progress | None = None,
) -> list[Path]:
    """Read ``paths``, write one Parquet part file per batch into ``out_dir``; returns the parts in order."""
    report = report if report is not None else ReadReport()
    out_dir.mkdir(parents=True, exist_ok=True)
    tasks = plan(paths, report)
    parts: list[Path] = []
    for kind, payload in _execute(tasks, report, batch_size, workers, progress, str(out_dir)):
        if kind == "part":
            parts.append(Path(payload))
    return parts


#: zstd level of the part files: level 1 makes files as small as the default level 3 on event
#: batches (repetitive text) for less CPU time (docs/BENCHMARKS.md, "Ingest").
PARQUET_ZSTD_LEVEL = 1


def write_part(batch: pl.DataFrame, path: str) -> None:
    """One Parquet part file (column statistics kept: they let scans skip row groups).

    One part per frame (a Windows batch is one frame per channel), on purpose: the Spark engine
    hands each part to the detectors as one batch of the embedded read (tests/readers/
    test_parquet_parts.py). Measured on 404,495 records (docs/BENCHMARKS.md, "Ingest"): a batch's
    frames stacked into one part wrote ~2.2x slower (every row carries the union of the channels'
    columns, mostly null) with a larger worker peak; only the small frames stacked saved ~3% of
    the ingest's CPU but breaks that contract; the writer's settings (statistics off, lz4,
    page or row-group size, pyarrow's writer) save at most ~0.15 CPU s of ~1.5 s of writing.
    """
    batch.write_parquet(path, compression="zstd", compression_level=PARQUET_ZSTD_LEVEL)


def part_name(task: int, seq: int) -> str:
    return f"part-{task:06d}-{seq:05d}.parquet"


def scan_parquet_parts(folder: str | os.PathLike[str]) -> pl.LazyFrame:
    """The events of an ingest output folder as one LazyFrame (part files in order; their different
    original columns unified, missing ones null)."""
    parts = sorted(Path(folder).glob("part-*.parquet"))
    if not parts:
        return conform(pl.DataFrame()).lazy()
    return pl.concat([pl.scan_parquet(part) for part in parts], how="diagonal_relaxed")


def _execute(
    tasks: list[Task],
    report: ReadReport,
    batch_size: int,
    workers: int | None,
    progress: Progress | None,
    out_dir: str | None,
    transform: Transform | None = None,
) -> Iterator[tuple[str, Any]]:
    """Run tasks in order; yields ("batch", frame) or, with ``out_dir``, ("part", path)."""
    workers = DEFAULT_WORKERS if workers is None else workers
    if progress:
        total, done = total_bytes(tasks), 0
        progress(0, total)

        def step(task: Task) -> None:
            nonlocal done
            done += task.bytes
            progress(done, total)

        finished: Callable[[Task], None] = step
    else:
        finished = lambda task: None  # noqa: E731
    if workers <= 1 or len(tasks) <= 1:
        for index, task in enumerate(tasks):
            for seq, batch in enumerate(_transformed(run_task(task, report, batch_size), transform)):
                if out_dir is None:
                    yield "batch", batch
                else:
                    path = os.path.join(out_dir, part_name(index, seq))
                    write_part(batch, path)
                    yield "part", path
            finished(task)
        return
    yield from _execute_pool(
        tasks, report, batch_size, min(workers, len(tasks)), finished, out_dir, transform
    )


def _execute_pool(
    tasks: list[Task],
    report: ReadReport,
    batch_size: int,
    workers: int,
    finished: Callable[[Task], None],
    out_dir: str | None,
    transform: Transform | None,
) -> Iterator[tuple[str, Any]]:
    context = mp.get_context("spawn")
    queues = [context.Queue(maxsize=QUEUE_DEPTH) for _ in range(workers)]
    jobs = [context.Queue() for _ in range(workers)]
    processes = [
        context.Process(target=_worker, args=(jobs[w], queues[w]), daemon=True) for w in range(workers)
    ]
    # Each worker's job (its tasks and the transform, e.g. a compiled rule set of a few MB) goes
    # through a queue once every worker runs: sent as spawn arguments, it made ``start`` wait until
    # that child had started Python and read it, so the workers started one after the other.
    with _worker_environment():
        for process in processes:
            process.start()
    try:
        for w in range(workers):  # pickled here, so a transform that cannot be pickled raises here
            job = _Job(
                w, [(i, tasks[i]) for i in range(w, len(tasks), workers)], batch_size, out_dir, transform
            )
            jobs[w].put(bytes(ForkingPickler.dumps(job)))
        for index, task in enumerate(tasks):
            w = index % workers
            while True:
                kind, task_index, payload = _get(queues[w], processes[w])
                if task_index != index:
                    raise ReaderError(f"worker {w} sent task {task_index} while task {index} was expected")
                if kind == "batch":
                    yield "batch", pl.read_ipc(io.BytesIO(payload))
                elif kind == "part":
                    yield "part", payload
                elif kind == "error":
                    raise ReaderError(f"reader worker failed: {payload}")
                else:  # "done"
                    report.merge(payload)
                    break
            finished(task)
        for process in processes:
            process.join(timeout=10)
    finally:
        for process in processes:
            if process.is_alive():
                process.terminate()
                process.join(timeout=5)
        for q in queues + jobs:
            q.close()
        for q in jobs:  # a worker that died unread must not hold the interpreter's exit
            q.cancel_join_thread()


#: Environment of the reader workers (a value the user set wins). The workers are the parallelism,
#: as for the EVTX parser's threads: one Polars thread each spent ~5% less CPU on the 412,750-record
#: hunt (less system time in thread hand-offs on small frames) and was no slower (docs/BENCHMARKS.md).
WORKER_ENVIRONMENT = {"POLARS_MAX_THREADS": "1"}


@contextmanager
def _worker_environment() -> Iterator[None]:
    """``WORKER_ENVIRONMENT`` set while workers are spawned (a spawned child copies os.environ)."""
    added = [k for k in WORKER_ENVIRONMENT if k not in os.environ]
    os.environ.update({k: WORKER_ENVIRONMENT[k] for k in added})
    try:
        yield
    finally:
        for key in added:
            del os.environ[key]


def _get(q: Any, process: Any) -> tuple[str, int, Any]:
    while True:
        try:
            return q.get(timeout=1.0)
        except queue.Empty:
            if not process.is_alive():
                try:  # what it sent just before exiting may still be in the pipe
                    return q.get(timeout=1.0)
                except queue.Empty:
                    raise ReaderError(f"reader worker exited with code {process.exitcode}") from None


def _transformed(batches: Iterator[pl.DataFrame], transform: Transform | None) -> Iterator[pl.DataFrame]:
    """The task's batches through ``transform``: its non-empty results, a buffering one's flushed
    at the end of the task (so nothing it holds crosses into the next task)."""
    if transform is None:
        yield from batches
        return
    if isinstance(transform, BufferingTransform):
        for batch in batches:
            yield from (frame for frame in transform(batch) if frame.height)
        yield from (frame for frame in transform.flush() if frame.height)
        return
    for batch in batches:
        result = transform(batch)
        if result is not None and result.height:
            yield result


#: Collector thresholds of a worker process, and of the main process while it hunts
#: (``pipeline.fewer_collections``); Python's defaults are 700, 10, 10. Parsing, rule evaluation
#: and alert building allocate many short-lived objects that reference counting frees.
WORKER_GC_THRESHOLD = (10_000, 50, 50)


@dataclass(frozen=True, slots=True)
class _Job:
    """What one worker process reads: its tasks (with their indices), and how."""

    worker: int
    tasks: list[tuple[int, Task]]
    batch_size: int
    out_dir: str | None
    transform: Transform | None


def _worker(jobs: Any, out: Any) -> None:
    """Worker process body: takes its job, then sends each task's batches (or part paths), then its
    ReadReport.

    Savings of a process that only runs this: the objects of the imported modules are frozen
    out of the garbage collector (each full collection walked them again), young collections run
    less often (:data:`WORKER_GC_THRESHOLD`), and once everything is
    sent the process ends without the interpreter's teardown (a last collection and the unloading
    of every module: ~0.1 CPU s a worker, docs/BENCHMARKS.md "Ingest").
    """
    from chainbreaker.readers.evtx import EvtxReader
    from chainbreaker.readers.registry import registered_readers

    registered_readers()  # import every reader before freezing
    job: _Job = pickle.loads(jobs.get())  # its transform (a rule set) is frozen with the modules
    gc.freeze()
    gc.set_threshold(*WORKER_GC_THRESHOLD)
    EvtxReader.threads = 1  # one Rust thread per worker: the processes are the parallelism
    _run_tasks(job.worker, job.tasks, out, job.batch_size, job.out_dir, job.transform)
    out.close()
    out.join_thread()  # what was put is in the pipe
    os._exit(0)


def _run_tasks(
    w: int,
    tasks: list[tuple[int, Task]],
    out: Any,
    batch_size: int,
    out_dir: str | None,
    transform: Transform | None,
) -> None:
    for index, task in tasks:
        report = ReadReport()
        try:
            for seq, batch in enumerate(_transformed(run_task(task, report, batch_size), transform)):
                if out_dir is None:
                    buffer = io.BytesIO()
                    batch.write_ipc(buffer, compression="lz4")
                    out.put(("batch", index, buffer.getvalue()))
                else:
                    path = os.path.join(out_dir, part_name(index, seq))
                    write_part(batch, path)
                    out.put(("part", index, path))
        except Exception as exc:  # report any failure to the consumer instead of dying silently
            out.put(("error", index, f"{type(exc).__name__}: {exc} (worker {w}, task {index})"))
            return
        out.put(("done", index, report))


def fetch_record(event_ref_file: str, record: int) -> dict[str, Any] | None:
    """The full original record behind an ``event_ref`` (for reports), or None when it is gone."""
    try:
        file = input_from_name(event_ref_file)
    except OSError:
        return None
    file, reader = sniff(file)
    return reader.fetch(file, record) if reader else None

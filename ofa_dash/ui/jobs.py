"""Long work started from the browser: searches and live validations in background threads; exports.

A search or a validation outlives a single script run: the user may click
elsewhere, and Streamlit stops a script on every click. So each one runs in a
thread owned by this module, reports progress into a :class:`Job`, and stops
early when its ``cancel`` event is set; pages only poll the job (a fragment
re-run every second) and draw what it says. What the work produces goes to
the store (a saved run, a recorded measurement), so it "joins the catalogue"
for every session through the catalogue's file stamps.

Exports are ordinary calls (seconds), but five sessions asking for the same
file at once must not build it five times: a lock per output file makes the
later callers wait and reuse the first one's file.
"""

from __future__ import annotations

import threading
import time
import traceback
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ofa_dash.progress import Cancelled
from ofa_dash.space import Arch, SearchSpace
from ofa_dash.ui.config import Settings

# Model, export and search code (torch, ONNX, pymoo) is imported inside the functions that need it,
# on purpose: every dashboard page imports this module, most never run a job.


@dataclass
class Job:
    """One piece of background work and what it reported so far."""

    kind: str
    label: str
    id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    stage: str = "starting"
    done: int = 0
    total: int = 0
    message: str = ""
    history: list[tuple] = field(default_factory=list)
    result: dict | None = None
    error: str | None = None
    started: float = field(default_factory=time.time)
    finished: float | None = None
    cancel: threading.Event = field(default_factory=threading.Event)
    thread: threading.Thread | None = None

    @property
    def running(self) -> bool:
        return self.finished is None

    @property
    def cancelled(self) -> bool:
        return self.cancel.is_set()

    def update(self, stage: str, done: int = 0, total: int = 0, message: str = "") -> None:
        self.stage, self.done, self.total = stage, int(done), int(total)
        if message:
            self.message = message

    def fraction(self) -> float:
        return min(1.0, self.done / self.total) if self.total else 0.0


_JOBS: dict[str, Job] = {}
_JOBS_LOCK = threading.Lock()
MAX_FINISHED = 50
BACKGROUND_NICENESS = 10  # added to a work thread's nice value: the UI threads win the cores when both want them


def lower_this_thread_priority(step: int = BACKGROUND_NICENESS) -> bool:
    """Make the calling thread (and the threads it starts, e.g. ONNX Runtime's pool) yield to the UI.

    On two cores a validation or an export otherwise takes both, and every
    brush in every session waits seconds for the server. Linux keeps a nice
    value per thread and new threads inherit it; elsewhere this does nothing.
    Returns whether it took effect.
    """
    import os

    try:
        tid = threading.get_native_id()
        os.setpriority(os.PRIO_PROCESS, tid, min(19, os.getpriority(os.PRIO_PROCESS, tid) + step))
        return True
    except (AttributeError, OSError):
        return False


def run_at_background_priority(fn: Callable[[], object]) -> object:
    """``fn()`` in a fresh low-priority thread, waited for here (the caller's thread keeps its priority)."""
    out: dict = {}

    def body() -> None:
        lower_this_thread_priority()
        try:
            out["value"] = fn()
        except BaseException as exc:  # re-raised in the caller
            out["error"] = exc

    worker = threading.Thread(target=body, name="ofa-dash-background", daemon=True)
    worker.start()
    worker.join()
    if "error" in out:
        raise out["error"]
    return out.get("value")


def start_job(kind: str, label: str, work: Callable[[Job], dict | None]) -> Job:
    """Run ``work(job)`` in a daemon thread; its return value becomes ``job.result``, an exception ``job.error``."""
    job = Job(kind, label)

    def body() -> None:
        lower_this_thread_priority()
        try:
            job.result = work(job)
        except Exception as exc:  # shown to the user as a message, with the type, never as a traceback
            if isinstance(exc, Cancelled):
                job.error = "cancelled"
            else:
                job.error = f"{type(exc).__name__}: {exc}"
                job.message = traceback.format_exc(limit=3)
        finally:
            job.finished = time.time()

    job.thread = threading.Thread(target=body, name=f"ofa-dash-{kind}-{job.id}", daemon=True)
    with _JOBS_LOCK:
        _JOBS[job.id] = job
        finished = sorted((j for j in _JOBS.values() if not j.running), key=lambda j: j.finished or 0)
        for old in finished[:-MAX_FINISHED]:
            _JOBS.pop(old.id, None)
    job.thread.start()
    return job


def get_job(job_id: str | None) -> Job | None:
    if not job_id:
        return None
    with _JOBS_LOCK:
        return _JOBS.get(job_id)


def running_jobs(kind: str | None = None) -> list[Job]:
    with _JOBS_LOCK:
        return [j for j in _JOBS.values() if j.running and (kind is None or j.kind == kind)]


# --------------------------------------------------------------------------- search
def search_work(settings: Settings, spec) -> Callable[[Job], dict]:
    """The body of a search job: run, then save to the store (a cancelled run is not saved)."""

    def work(job: Job) -> dict:
        # deferred: pages import this module; torch, pymoo and ONNX Runtime load only when a job runs
        from ofa_dash.search.run import run_search
        from ofa_dash.store import RunStore

        def progress(gen: int, n_evals: int, hv: float) -> None:
            job.update("searching", gen, spec.n_gen)
            job.history.append((gen, n_evals, hv))

        result = run_search(spec, official_dir=settings.official, precomputed_dir=settings.precomputed, progress=progress, cancel=job.cancel)
        if result.cancelled:
            job.update("cancelled", job.done, spec.n_gen)
            return {"cancelled": True, "summary": result.summary()}
        job.update("saving", spec.n_gen, spec.n_gen)
        entry = RunStore(settings.precomputed).save(result)
        job.update("done", spec.n_gen, spec.n_gen)
        return {"cancelled": False, "run_id": entry["run_id"], "summary": result.summary(), "warnings": entry.get("warnings", [])}

    return work


# --------------------------------------------------------------------------- the dataset, once per process
_datasets: dict[tuple, object] = {}
_datasets_lock = threading.Lock()


def shared_dataset(path: str | Path):
    """The decoded dataset at ``path``, loaded once per process and shared read-only by every session.

    Loaded on first use (a validation or an export), not when a page opens: the
    first decode of CIFAR-10 takes minutes, and a page must not wait for it.
    Keyed by the folder's stamp, so a replaced dataset is loaded again.
    """
    # deferred: pages import this module; torch, pymoo and ONNX Runtime load only when a job runs
    from ofa_dash.data import load_dataset

    p = Path(path)
    st = p.stat()
    key = (str(p.resolve()), st.st_mtime_ns)
    with _datasets_lock:
        if key not in _datasets:
            _datasets.clear()  # one dataset in memory at a time (CIFAR-10 is ~180 MB decoded)
            _datasets[key] = load_dataset(p)
        return _datasets[key]


# --------------------------------------------------------------------------- validation
def validation_work(settings: Settings, space: SearchSpace, arch: Arch, data_path: str | Path, limit: int | None, queue=None) -> Callable[[Job], dict]:
    """The body of a live validation job; a second one waits for the queue's turn and says so."""

    def work(job: Job) -> dict:
        # deferred: pages import this module; torch, pymoo and ONNX Runtime load only when a job runs
        from ofa_dash.validation import validate_subnet

        job.update("loading the dataset")
        data = shared_dataset(data_path)

        def on_wait(holder: dict | None) -> None:
            what = (holder or {}).get("what", "another validation")
            job.update("waiting", message=f"waiting for the running validation ({what})")

        result = validate_subnet(
            space,
            arch,
            supernet_path=settings.supernet_path(space),
            data_root=data,
            limit=limit,
            progress=lambda stage, done, total: job.update(stage, done, total),
            cancel=job.cancel.is_set,
            on_wait=on_wait,
            store_root=settings.precomputed,
            queue=queue,
        )
        job.update("done", 1, 1)
        return result.to_dict()

    return work


# --------------------------------------------------------------------------- export
_export_locks: dict[str, threading.Lock] = {}
_export_locks_guard = threading.Lock()
# One export builds at a time per server: each uses every core for seconds and holds a subnet, its
# ONNX graphs and calibration batches in memory; queued ones wait (the browser shows the button busy).
_EXPORT_TURN = threading.Lock()


def export_dir(cache_root: Path, space: str, arch_id: str, supernet_sha: str) -> Path:
    """Exports are cached per (space, subnet, supernet content): new weights give new files."""
    return cache_root / "exports" / f"{space}-{arch_id}-{supernet_sha[:12]}"


def export_path(cache_root: Path, space: str, arch_id: str, supernet_sha: str, fmt: str) -> Path:
    """Where the cache keeps ``fmt``'s file: the registry's file name (``ofa_dash.export.FORMATS``) in :func:`export_dir`."""
    from ofa_dash.export import FORMATS  # deferred: the export package loads torch (see the module docstring)

    return export_dir(cache_root, space, arch_id, supernet_sha) / FORMATS[fmt].file_for(f"{space}-{arch_id}")


def _lock_for(path: Path) -> threading.Lock:
    with _export_locks_guard:
        return _export_locks.setdefault(str(path), threading.Lock())


def export_cached(settings: Settings, space: SearchSpace, arch: Arch, fmt: str, predicted: dict | None = None, measured: dict | None = None) -> Path:
    """The exported file of ``arch`` in ``fmt`` (built and verified by :func:`ofa_dash.export.export` once, then reused).

    BN statistics are re-estimated on the dataset of ``settings.data`` exactly as in live
    validation (same images, same cache), so the file holds the network that was measured.
    """
    # deferred: pages import this module; torch, pymoo and ONNX Runtime load only when a job runs
    from ofa_dash.data import default_cache_dir
    from ofa_dash.export import export
    from ofa_dash.subnets import load_supernet, prepare

    loaded = load_supernet(space, settings.supernet_path(space))
    out = export_path(default_cache_dir(), space.name, arch.id, loaded.sha256, fmt)
    with _lock_for(out):
        if out.is_file():
            return out
        out.parent.mkdir(parents=True, exist_ok=True)
        data = shared_dataset(settings.data)
        with _EXPORT_TURN:
            # the download callback's thread belongs to Streamlit: do the work in one of ours
            run_at_background_priority(lambda: export(prepare(space, arch, loaded, data), fmt, out, data, predicted=predicted, measured=measured))
    return out


def cached_export(settings: Settings, space: SearchSpace, arch: Arch, fmt: str) -> Path | None:
    """The file if an earlier export left it (no work, no supernet hashing beyond the loaded one)."""
    # deferred: pages import this module; torch, pymoo and ONNX Runtime load only when a job runs
    from ofa_dash.data import default_cache_dir
    from ofa_dash.subnets import load_supernet

    try:
        loaded = load_supernet(space, settings.supernet_path(space))
    except (OSError, ValueError):
        return None
    out = export_path(default_cache_dir(), space.name, arch.id, loaded.sha256, fmt)
    return out if out.is_file() else None

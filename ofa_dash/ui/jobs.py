"""Long work started from the browser: searches and live validations in background threads; exports.

A search or a validation outlives a single script run: the user may click
elsewhere, and Streamlit stops a script on every click. So each one runs in a
thread owned by this module, reports progress into a :class:`Job`, and stops
early when its ``cancel`` event is set; pages only poll the job (a fragment
re-run every second) and draw what it says. What the work produces goes to
the store (a saved run, a recorded measurement), so it "joins the catalogue"
for every session through the catalogue's file stamps.

Exports take a minute or two on a busy machine, so the Subnet page runs them
as jobs too (:func:`export_work`), reporting "step i of n" over
:data:`EXPORT_STEPS`; five sessions asking for the same file at once must not
build it five times: a lock per output file makes the later callers wait and
reuse the first one's file. :func:`progress_text` turns what a job reported
into the words a page shows ("decoding 12,000 of 60,000 images").
"""

from __future__ import annotations

import contextlib
import functools
import json
import threading
import time
import traceback
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ofa_dash.files import file_sha256, sha256_bytes
from ofa_dash.progress import Cancelled
from ofa_dash.space import Arch, SearchSpace
from ofa_dash.ui.config import Settings
from ofa_dash.validation_queue import VALIDATION_QUEUE

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
    last_seen: float = field(default_factory=time.time)  # the owning session's last poll (see reap_orphans)

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


@dataclass
class StepJob(Job):
    """One step of a batch job: what it reports also shows on the batch, prefixed with which step it is."""

    parent: Job | None = None
    prefix: str = ""

    def update(self, stage: str, done: int = 0, total: int = 0, message: str = "") -> None:
        super().update(stage, done, total, message)
        if self.parent is not None:
            self.parent.update(f"{self.prefix}: {stage}", done, total, message)


class JobRefused(ValueError):
    """The server's limits do not allow this job now (the message says which limit and how to proceed)."""


@dataclass(frozen=True)
class JobLimits:
    """What one server allows, from its environment, so a shared dashboard cannot be swamped by its visitors.

    ``OFA_DASH_MAX_JOBS`` background jobs at once (searches and validations of
    every session together), ``OFA_DASH_MAX_SEARCH_EVALS`` evaluations
    (population x generations) per search, ``OFA_DASH_MAX_FINETUNE_EPOCHS``
    epochs per fine-tune started from a page (one CPU epoch of a cifar10
    subnet takes minutes to tens of minutes), and ``OFA_DASH_JOB_ORPHAN_S``
    seconds after which a job whose session stopped polling it (the tab was
    closed) is cancelled.
    """

    max_jobs: int = 2
    max_search_evals: int = 200_000
    orphan_seconds: float = 60.0
    max_finetune_epochs: int = 10

    @classmethod
    def from_env(cls, environ: dict | None = None) -> JobLimits:
        import os

        env = os.environ if environ is None else environ
        d = cls()
        try:
            return cls(
                max_jobs=int(env.get("OFA_DASH_MAX_JOBS", d.max_jobs)),
                max_search_evals=int(env.get("OFA_DASH_MAX_SEARCH_EVALS", d.max_search_evals)),
                orphan_seconds=float(env.get("OFA_DASH_JOB_ORPHAN_S", d.orphan_seconds)),
                max_finetune_epochs=int(env.get("OFA_DASH_MAX_FINETUNE_EPOCHS", d.max_finetune_epochs)),
            )
        except ValueError as exc:
            raise ValueError(
                f"OFA_DASH_MAX_JOBS, OFA_DASH_MAX_SEARCH_EVALS, OFA_DASH_MAX_FINETUNE_EPOCHS and OFA_DASH_JOB_ORPHAN_S must be numbers: {exc}"
            ) from None


def check_search_size(pop_size: int, n_gen: int, limits: JobLimits | None = None) -> None:
    """Refuse a dashboard search larger than the server allows (the CLI has only the hard bounds of ``RunSpec``)."""
    limits = limits or JobLimits.from_env()
    evals = int(pop_size) * int(n_gen)
    if evals > limits.max_search_evals:
        raise JobRefused(
            f"a search of {pop_size} x {n_gen} = {evals:,} evaluations is larger than this server allows ({limits.max_search_evals:,}); "
            "use fewer generations or a smaller population, or run it with the command line (`python -m ofa_dash search`)"
        )


def check_finetune_size(epochs: int, limits: JobLimits | None = None) -> None:
    """Refuse a fine-tune from a page longer than the server allows (the CLI takes any number of epochs)."""
    limits = limits or JobLimits.from_env()
    if int(epochs) > limits.max_finetune_epochs:
        raise JobRefused(
            f"{epochs} epochs is more than this server fine-tunes from a page ({limits.max_finetune_epochs}); "
            "use fewer, or run it with the command line (`python -m ofa_dash finetune`)"
        )


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


def reap_orphans(limits: JobLimits | None = None, now: float | None = None) -> list[Job]:
    """Cancel running jobs whose session has not polled them for ``orphan_seconds`` (their tab is gone)."""
    limits = limits or JobLimits.from_env()
    now = time.time() if now is None else now
    with _JOBS_LOCK:
        orphans = [j for j in _JOBS.values() if j.running and not j.cancelled and now - j.last_seen > limits.orphan_seconds]
    for job in orphans:
        job.message = f"cancelled: nobody had looked at it for {limits.orphan_seconds:.0f} s (its browser tab was closed)"
        job.cancel.set()
    return orphans


def _reaper_loop() -> None:
    while True:
        time.sleep(5.0)
        with contextlib.suppress(Exception):  # a bad limit in the environment is reported where jobs start; the reaper keeps going
            reap_orphans()


_reaper: threading.Thread | None = None


def _ensure_reaper() -> None:
    global _reaper
    if _reaper is None or not _reaper.is_alive():
        _reaper = threading.Thread(target=_reaper_loop, name="ofa-dash-job-reaper", daemon=True)
        _reaper.start()


def start_job(kind: str, label: str, work: Callable[[Job], dict | None], limits: JobLimits | None = None) -> Job:
    """Run ``work(job)`` in a daemon thread; its return value becomes ``job.result``, an exception ``job.error``.

    Refused (:class:`JobRefused`) when the server already runs its maximum of
    jobs; a started job is cancelled once its session stops polling it.
    """
    limits = limits or JobLimits.from_env()
    reap_orphans(limits)
    if len(running_jobs()) >= limits.max_jobs:
        raise JobRefused(f"this server is already running {limits.max_jobs} background job(s), its limit; try again when one has finished")
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
    _ensure_reaper()
    return job


def get_job(job_id: str | None) -> Job | None:
    """The job, marked as seen: the owning session's polling keeps it alive (see :func:`reap_orphans`)."""
    if not job_id:
        return None
    with _JOBS_LOCK:
        job = _JOBS.get(job_id)
    if job is not None:
        job.last_seen = time.time()
    return job


def running_jobs(kind: str | None = None) -> list[Job]:
    with _JOBS_LOCK:
        return [j for j in _JOBS.values() if j.running and (kind is None or j.kind == kind)]


# --------------------------------------------------------------------------- what a page says about a job's progress
# Stages whose counts have their own words (the data layer's LOAD_STAGES, an export's steps); others read "stage done/total".
STAGE_TEXT: dict[str, str] = {
    "decoding": "decoding {done:,} of {total:,} images",
    "reading": "reading the dataset's files: {done:,} read",
    "loading cache": "loading the decoded dataset",
    "loading the dataset": "loading the dataset",
    "exporting models": "{done:,} of {total:,} models exported and verified",  # a deployment ladder (ui.ladder_view)
    "fine-tuning": "fine-tuning: step {done:,} of {total:,}",  # ui.finetune_view
}


def stage_text(stage: str, done: int = 0, total: int = 0) -> str:
    """Words for one progress report, e.g. ``("decoding", 500, 60000)`` -> "decoding 500 of 60,000 images"."""
    if stage == "reading" and total:
        return f"reading the dataset's files: {done:,} of {total:,}"
    if stage in STAGE_TEXT:
        return STAGE_TEXT[stage].format(done=done, total=total)
    return f"{stage} {done:,}/{total:,}" if total else stage


def progress_text(job: Job) -> str:
    """What a page shows under a running job's progress bar: its step (export jobs) or its stage, with counts."""
    if job.kind == "export" and job.total:
        head = f"step {job.done + 1 if job.done < job.total else job.total} of {job.total}: {job.stage}"
        return f"{head} ({job.message})" if job.message else head
    return stage_text(job.stage, job.done, job.total)


def validations_ahead(ahead: int) -> str:
    """How long the wait is, never whose: other visitors' subnets are theirs."""
    return f"{ahead} validation{'s' if ahead != 1 else ''} ahead of yours"


def queue_message(ahead: int) -> str:
    return f"{validations_ahead(ahead)}; yours starts when {'it ends' if ahead == 1 else 'they end'}"


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
_datasets: dict[str, object] = {}
_datasets_lock = threading.Lock()


def shared_dataset(path: str | Path, progress: Callable[[str, int, int], None] | None = None, space: SearchSpace | None = None):
    """The dataset at ``path`` (read as ``space``'s kind of data; CIFAR-10 without a space), loaded once per process and shared read-only.

    Loaded on first use (a validation or an export), not when a page opens: the
    first decode of CIFAR-10 takes minutes, and a page must not wait for it;
    ``progress(stage, done, total)`` hears the load's stages and counts
    (``ofa_dash.data.LOAD_STAGES``), so the job that triggered it can show them.
    Keyed by the folder's stamp, so a replaced dataset is loaded again.
    """
    # deferred: pages import this module; torch, pymoo and ONNX Runtime load only when a job runs
    from ofa_dash.datasets import LOADERS

    p = Path(path)
    kind = space.data if space is not None else "cifar10"
    key = f"{kind}-{data_key(p)}"
    with _datasets_lock:
        if key not in _datasets:
            _datasets.clear()  # one dataset in memory at a time (CIFAR-10 is ~180 MB decoded; image folders hold only file lists)
            _datasets[key] = LOADERS[kind](p, progress=progress)
        return _datasets[key]


# --------------------------------------------------------------------------- validation
def validation_work(
    settings: Settings, space: SearchSpace, arch: Arch, data_path: str | Path, limit: int | None, queue=None, int8: bool = False
) -> Callable[[Job], dict]:
    """The body of a live validation job; a second one waits for the queue's turn and says so.

    ``int8``: also score the subnet's int8 model on the same images (a pair for the int8 drop model).
    """

    def work(job: Job) -> dict:
        # deferred: pages import this module; torch, pymoo and ONNX Runtime load only when a job runs
        from ofa_dash.validation import validate_subnet

        job.update("loading the dataset")
        data = shared_dataset(data_path, progress=lambda stage, done, total: job.update(stage, done, total), space=space)

        def on_wait(holder: dict | None) -> None:
            # ahead() counts this job too: it is one of the waiters
            job.update("waiting", message=queue_message(max(1, (queue or VALIDATION_QUEUE).ahead() - 1)))

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
            int8=int8,
        )
        job.update("done", 1, 1)
        return result.to_dict()

    return work


def batch_validation_work(
    settings: Settings, space: SearchSpace, archs: list[Arch], data_path: str | Path, limit: int | None, queue=None, int8: bool = False
) -> Callable[[Job], dict]:
    """Live validation of several subnets in turn (the shortlist a decision comes down to), one queue turn each.

    Progress names the subnet (``subnet 2 of 4: evaluating``); a cancel stops the
    running one and skips the rest; each finished validation is recorded at once,
    so a cancel keeps what was measured.
    """

    def work(job: Job) -> dict:
        results: list[dict] = []
        for i, arch in enumerate(archs):
            if job.cancel.is_set():
                break
            step = StepJob("validation", arch.id, cancel=job.cancel, parent=job, prefix=f"subnet {i + 1} of {len(archs)} ({arch.id})")
            results.append(validation_work(settings, space, arch, data_path, limit, queue, int8)(step))
        job.update("done", 1, 1)
        return {"validated": [r["arch"] for r in results], "results": results, "asked": len(archs)}

    return work


# --------------------------------------------------------------------------- export
_export_locks: dict[str, threading.Lock] = {}
_export_locks_guard = threading.Lock()
# One export builds at a time per server: each uses every core for seconds and holds a subnet, its
# ONNX graphs and calibration batches in memory; queued ones wait (the browser shows the button busy).
_EXPORT_TURN = threading.Lock()


def download_data_work(dest: Path, url: str | None = None, checksum: str | None = None) -> Callable[[Job], dict]:
    """The CIFAR-10 archive fetched into ``dest`` (checksum-verified, atomic), with byte progress and cancel.

    ``url`` and ``checksum`` default to the official archive's.
    """

    def work(job: Job) -> dict:
        from ofa_dash.data import CIFAR10_CHECKSUM, CIFAR10_URL, download_cifar10  # deferred: ofa_dash.data imports torch

        def report(received: int, total: int | None) -> None:
            if job.cancelled:
                raise Cancelled("download cancelled")
            job.update("downloading CIFAR-10 (MB)", received >> 20, (total or 0) >> 20)

        archive = download_cifar10(dest, url=url or CIFAR10_URL, checksum=checksum or CIFAR10_CHECKSUM, progress=report)
        return {"dir": str(dest), "archive": str(archive)}

    return work


def export_dir(cache_root: Path, space: str, arch_id: str, supernet_sha: str, data_key: str = "nodata") -> Path:
    """Exports are cached per (space, subnet, supernet content, calibration data): new weights or other data give new files."""
    return cache_root / "exports" / f"{space}-{arch_id}-{supernet_sha[:12]}-{data_key}"


def data_key(path: str | Path | None) -> str:
    """A short key of the dataset folder an export calibrates on (its resolved path and modification time).

    BN statistics and int8 scales come from that data, so an export made on one
    dataset is never served to a session that uses another.
    """
    if path is None:
        return "nodata"
    p = Path(path).resolve()
    return sha256_bytes(f"{p}:{p.stat().st_mtime_ns}".encode())[:12]


def calibration_key(settings: Settings, space: SearchSpace | str) -> str | None:
    """Which BN calibration images an export of ``space`` uses here, as a short key; None when it cannot calibrate.

    The dataset of ``settings.data`` when one is set (its stamp, :func:`data_key`), else the
    space's shipped calibration sample (its content). Both hold the same 2,000 images for
    CIFAR-10, but the keys stay apart: only a dataset gives test accuracies. ``c2``: int8
    ranges come from the BN calibration images since the sample shipped, so older files are rebuilt.
    """
    data = settings.data_for(space)
    if data is not None:
        return f"c2-{data_key(data)}"
    sample = settings.folder(space).calibration
    return f"c2-sample-{_content_key(sample)}" if sample.is_file() else None


def _content_key(path: Path) -> str:
    st = path.stat()
    return _hash_file(str(path.resolve()), st.st_mtime_ns, st.st_size)


@functools.lru_cache(maxsize=8)
def _hash_file(path: str, mtime_ns: int, size: int) -> str:
    return file_sha256(path)[:12]


def export_path(cache_root: Path, space: str, arch_id: str, supernet_sha: str, fmt: str, data: str = "nodata") -> Path:
    """Where the cache keeps ``fmt``'s file: the registry's file name (``ofa_dash.export.FORMATS``) in :func:`export_dir`."""
    from ofa_dash.export import FORMATS  # deferred: the export package loads torch (see the module docstring)

    return export_dir(cache_root, space, arch_id, supernet_sha, data) / FORMATS[fmt].file_for(f"{space}-{arch_id}")


def weights_key(settings: Settings, space: SearchSpace, arch: Arch, weights: str, data: str) -> str | None:
    """The cache's data key for ``weights``: ``data`` for the supernet's, plus the fine-tuned file's hash for fine-tuned ones (None: there are none)."""
    if weights == "supernet":
        return data
    record = settings.folder(space).read_finetune_record(arch.id) or {}
    sha = record.get("weights_sha256")
    return f"{data}-finetuned-{sha[:12]}" if isinstance(sha, str) and sha else None


def _lock_for(path: Path) -> threading.Lock:
    with _export_locks_guard:
        return _export_locks.setdefault(str(path), threading.Lock())


# The steps an export job reports, in order (the export registry's builders report "export" and "verify").
EXPORT_STEPS = ("prepare subnet", "recalibrate BN", "export", "verify")


def export_cached(
    settings: Settings,
    space: SearchSpace,
    arch: Arch,
    fmt: str,
    predicted: dict | None = None,
    measured: dict | None = None,
    progress: Callable[[str, str], None] | None = None,
    weights: str = "supernet",
) -> Path:
    """The exported file of ``arch`` in ``fmt`` (built and verified by :func:`ofa_dash.export.export` once, then reused).

    ``weights="finetuned"`` exports the subnet's fine-tuned weights (``subnets.prepare``'s choice), cached apart.

    BN statistics are re-estimated exactly as in live validation (same images, same cache):
    on the dataset of ``settings.data``, or without one on the space's shipped calibration
    sample, which holds those very images. So the file holds the network that was measured.
    ``progress(step, detail)`` hears each of :data:`EXPORT_STEPS` as it starts (detail:
    the dataset's decoding counts, or the wait for another export).
    """
    report = progress or (lambda step, detail="": None)
    report("prepare subnet", "loading the supernet")
    # deferred: pages import this module; torch, pymoo and ONNX Runtime load only when a job runs
    from ofa_dash.calibration import resolve
    from ofa_dash.data import default_cache_dir
    from ofa_dash.export import export
    from ofa_dash.subnets import load_supernet, prepare

    key = calibration_key(settings, space)
    loaded = load_supernet(space, settings.supernet_path(space))
    folder = settings.data_for(space)
    data = (
        shared_dataset(folder, progress=lambda stage, done, total: report("prepare subnet", stage_text(stage, done, total)), space=space)
        if folder is not None
        else None
    )
    calibration = resolve(space, data, settings.precomputed)  # refuses (nothing written) when key is None
    cache_key = weights_key(settings, space, arch, weights, key)
    if cache_key is None:
        prepare(space, arch, loaded, calibration=calibration, weights=weights)  # raises the clear "no fine-tuned weights" error
    out = export_path(default_cache_dir(), space.name, arch.id, loaded.sha256, fmt, cache_key)
    with _lock_for(out):
        if out.is_file():
            return out
        out.parent.mkdir(parents=True, exist_ok=True)
        if _EXPORT_TURN.locked():
            report("prepare subnet", "waiting for another export to finish")
        with _EXPORT_TURN:

            def build() -> None:
                report("recalibrate BN", "")
                prepared = prepare(space, arch, loaded, data, calibration=calibration, weights=weights)
                export(prepared, fmt, out, data, predicted=predicted, measured=measured, step=lambda name: report(name, ""))

            # the caller's thread may belong to Streamlit: do the work in one of ours
            run_at_background_priority(build)
    return out


def export_job_key(space: SearchSpace, arch: Arch, fmt: str, weights: str = "supernet") -> str:
    """The session-state key under which a session keeps its export job of one subnet, format and weights."""
    return f"export_job_{space.name}_{arch.id}_{fmt}" + ("" if weights == "supernet" else f"_{weights}")


def export_work(
    settings: Settings,
    space: SearchSpace,
    arch: Arch,
    fmt: str,
    predicted: dict | None = None,
    measured: dict | None = None,
    weights: str = "supernet",
) -> Callable[[Job], dict]:
    """The body of an export job: build (or reuse) the file, reporting "step i of n" over :data:`EXPORT_STEPS`."""

    def work(job: Job) -> dict:
        def progress(step: str, detail: str = "") -> None:
            if job.cancelled:
                raise Cancelled("export cancelled")
            job.update(step, EXPORT_STEPS.index(step), len(EXPORT_STEPS))
            job.message = detail

        path = export_cached(settings, space, arch, fmt, predicted=predicted, measured=measured, progress=progress, weights=weights)
        job.update("done", len(EXPORT_STEPS), len(EXPORT_STEPS))
        job.message = ""
        return {"format": fmt, "path": str(path)}

    return work


def cached_export(settings: Settings, space: SearchSpace, arch: Arch, fmt: str, weights: str = "supernet") -> Path | None:
    """The file if an earlier export left it (no work, no supernet hashing beyond the loaded one)."""
    # deferred: pages import this module; torch, pymoo and ONNX Runtime load only when a job runs
    from ofa_dash.data import default_cache_dir
    from ofa_dash.subnets import load_supernet

    key = calibration_key(settings, space)
    if key is None:
        return None
    try:
        loaded = load_supernet(space, settings.supernet_path(space))
    except (OSError, ValueError):
        return None
    cache_key = weights_key(settings, space, arch, weights, key)
    if cache_key is None:
        return None
    out = export_path(default_cache_dir(), space.name, arch.id, loaded.sha256, fmt, cache_key)
    return out if out.is_file() else None


def int8_against_fp32(path: Path | None) -> dict | None:
    """The measured int8-vs-fp32 comparison an int8 export wrote into its metadata (None before the first int8 export)."""
    if path is None:
        return None
    try:
        st = path.stat()
    except OSError:
        return None
    return _read_int8_verdict(str(path), st.st_mtime_ns, st.st_size)


@functools.lru_cache(maxsize=32)
def _read_int8_verdict(path: str, mtime_ns: int, size: int) -> dict | None:
    from ofa_dash.runtime.onnx import read_metadata  # deferred: onnx loads only once an int8 file exists

    try:
        verdict = json.loads(read_metadata(path).get("int8_vs_fp32") or "null")
    except Exception:  # an unreadable or foreign file (onnx raises its own decode errors): no verdict to show
        return None
    return verdict if isinstance(verdict, dict) else None

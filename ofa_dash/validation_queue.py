"""One live validation at a time, across threads and processes.

A validation uses every core for ~10-20 s; two at once would each take twice
as long and their latency figures would be wrong. The dashboard serves
several browser sessions from threads of one process, and a CLI ``validate``
may run beside it, so the turn is held with a thread lock *and* an advisory
file lock (``flock``). A caller that has to wait is told once through
``on_wait`` (the dashboard shows "waiting for another validation"), can
cancel while waiting, and can ask :meth:`ValidationQueue.busy` /
:meth:`ValidationQueue.holder` beforehand.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from ofa_dash.data import default_cache_dir
from ofa_dash.progress import Cancelled

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: the thread lock alone still serialises one process
    fcntl = None


class ValidationQueue:
    def __init__(self, lock_path: str | os.PathLike | None = None, poll_s: float = 0.2):
        self._lock_path = Path(lock_path) if lock_path is not None else None
        self._thread_lock = threading.Lock()
        self._count_lock = threading.Lock()
        self._local_holder: dict | None = None  # set as soon as a thread of this process takes the turn
        self._waiting = 0  # threads of this process waiting for the turn
        self.poll_s = poll_s

    @property
    def lock_path(self) -> Path:
        if self._lock_path is not None:
            return self._lock_path
        return default_cache_dir() / "validate.lock"

    def holder(self) -> dict | None:
        """What holds the turn now (``{"what", "pid", "since"}``), or None when free."""
        local = self._local_holder
        if local is not None:
            return dict(local)
        if self._thread_lock.locked() or self._file_locked_elsewhere():
            return self._file_note()
        return None

    def _file_note(self) -> dict:
        """The note the process holding the file lock wrote into it."""
        try:
            return json.loads(self.lock_path.read_text() or "null") or {"what": "unknown"}
        except (OSError, json.JSONDecodeError):
            return {"what": "unknown"}

    def ahead(self) -> int:
        """How many validations a new one would wait for: the one holding the turn and the others already waiting."""
        return (1 if self.busy() else 0) + self._waiting

    def busy(self) -> bool:
        return self.holder() is not None

    def _file_locked_elsewhere(self) -> bool:
        if fcntl is None or not self.lock_path.exists():
            return False
        try:
            with open(self.lock_path, "a+") as fh:
                try:
                    fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    return True
                fcntl.flock(fh, fcntl.LOCK_UN)
        except OSError:
            return False
        return False

    @contextmanager
    def turn(
        self,
        what: str = "validation",
        on_wait: Callable[[dict | None], None] | None = None,
        cancel: Callable[[], bool] | None = None,
        timeout_s: float | None = None,
    ) -> Iterator[None]:
        """Hold the turn for the ``with`` body; waits (polling ``cancel``) while another holds it."""
        start = time.monotonic()
        told = False

        def waiting(holder: Callable[[], dict | None] = self.holder) -> None:
            nonlocal told
            if not told and on_wait is not None:
                on_wait(holder())
            told = True
            if cancel is not None and cancel():
                raise Cancelled("cancelled while waiting for another validation to finish")
            if timeout_s is not None and time.monotonic() - start > timeout_s:
                raise TimeoutError(f"another validation has held the turn for over {timeout_s:.0f} s")

        with self._count_lock:
            self._waiting += 1
        try:
            while not self._thread_lock.acquire(timeout=self.poll_s):
                waiting()
        finally:
            with self._count_lock:
                self._waiting -= 1
        self._local_holder = {"what": what, "pid": os.getpid(), "since": time.strftime("%Y-%m-%dT%H:%M:%S")}
        try:
            fh = self._acquire_file(what, waiting)
            try:
                yield
            finally:
                if fh is not None:
                    try:
                        fh.seek(0)
                        fh.truncate()
                        fh.flush()
                        fcntl.flock(fh, fcntl.LOCK_UN)
                    finally:
                        fh.close()
        finally:
            self._local_holder = None
            self._thread_lock.release()

    def _acquire_file(self, what: str, waiting: Callable[..., None]):
        if fcntl is None:
            return None
        try:
            self.lock_path.parent.mkdir(parents=True, exist_ok=True)
            fh = open(self.lock_path, "a+")  # noqa: SIM115 - held open for the turn, closed in turn()
        except OSError:
            return None  # an unwritable cache folder: fall back to the thread lock only
        while True:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                try:
                    waiting(self._file_note)  # another process holds it: report its note, not our own claim
                except BaseException:
                    fh.close()
                    raise
                time.sleep(self.poll_s)
        fh.seek(0)
        fh.truncate()
        fh.write(json.dumps({"what": what, "pid": os.getpid(), "since": time.strftime("%Y-%m-%dT%H:%M:%S")}))
        fh.flush()
        return fh


VALIDATION_QUEUE = ValidationQueue()

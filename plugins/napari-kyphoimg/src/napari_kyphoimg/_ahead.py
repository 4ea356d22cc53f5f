"""Read the next film in another process while the reader works on this one.

A film switch shows a film read ahead while the reader was on the previous one. The read
is done in a separate process, not a thread: the JPEG 2000 decoder (OpenJPEG through
pylibjpeg) holds the GIL for the whole decode (about 130 ms for a 1024 x 800 film on the
benchmark machine), so a reading thread stalled the viewer for that long, in the middle
of the switch it was meant to spare.

The process is this module run as ``python -m napari_kyphoimg._ahead``, started once per
viewer process and kept: each request is a film's path on one line of its standard input,
each answer a pickled ``(ok, value)`` pair on its standard output (the film as
:func:`kyphoimg.read_radiograph` returns it, or the error's text). It is not a
:mod:`multiprocessing` child: those re-run the main script of whoever opened the study
(a reader's own script without a ``__main__`` guard would open a second viewer). The
process ends when its standard input closes, at the latest when the viewer's process
ends.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import pickle
import subprocess
import sys
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

__all__ = ["AheadReader", "shared_reader"]

_READY = b"kyphoimg-ahead ready\n"


class AheadReader:
    """A reading process and the thread that talks to it (one request at a time).

    The process is started by the first request, in the background, and not before
    ``start_after_s`` seconds from now (a viewer starting up needs both processors for its
    first film); until it has answered once (:attr:`ready`), a caller should read the film
    itself rather than wait.

    Parameters
    ----------
    start_after_s : float, optional
        The earliest time to start the process, in seconds from now.
    """

    def __init__(self, start_after_s: float = 0.0) -> None:
        self.ready = threading.Event()
        self._start_after = time.monotonic() + start_after_s
        self._talk = ThreadPoolExecutor(max_workers=1, thread_name_prefix="kyphoimg-ahead")
        self._proc: subprocess.Popen[bytes] | None = None
        self._broken = False

    @property
    def pid(self) -> int | None:
        """The reading process's id (None before the first request or after it ended)."""
        return None if self._proc is None else self._proc.pid

    def submit(self, path: str | Path) -> Future[Any]:
        """Ask for the film at ``path``; the future holds it, or the read's failure.

        Raises
        ------
        RuntimeError
            The reading process could not be started or has died: read the film here.
        """
        if self._broken:
            raise RuntimeError("the read-ahead process is not running")
        return self._talk.submit(self._ask, os.fsencode(str(path)))

    def _start(self) -> subprocess.Popen[bytes]:
        time.sleep(max(0.0, self._start_after - time.monotonic()))
        proc = subprocess.Popen(
            [sys.executable, "-m", __name__],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env={**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)},
        )
        assert proc.stdout is not None
        if proc.stdout.readline() != _READY:
            proc.kill()
            raise RuntimeError("the read-ahead process did not start")
        self.ready.set()
        return proc

    def _ask(self, request: bytes) -> Any:
        try:
            if self._proc is None:
                self._proc = self._start()
            proc = self._proc
            assert proc.stdin is not None
            assert proc.stdout is not None
            proc.stdin.write(request + b"\n")
            proc.stdin.flush()
            ok, value = pickle.load(proc.stdout)  # our own child's answer
        except (OSError, EOFError, pickle.UnpicklingError, RuntimeError) as exc:
            self._broken = True
            self.ready.clear()
            raise RuntimeError(f"the read-ahead process failed: {exc}") from exc
        if not ok:
            raise RuntimeError(value)
        return value

    def close(self) -> None:
        """End the reading process (it finishes the film it is reading) and the thread."""
        self._broken = True
        self._talk.shutdown(wait=True, cancel_futures=True)
        proc, self._proc = self._proc, None
        if proc is None:
            return
        for pipe in (proc.stdin, proc.stdout):  # its input closed: the process ends
            if pipe is not None:
                with contextlib.suppress(OSError):
                    pipe.close()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


#: The reading process starts this long after the first request: the viewer's first film
#: is painted meanwhile (a reader does not switch films within seconds of the launch).
_START_AFTER_S = 0.5
_SHARED: AheadReader | None = None
_SHARED_LOCK = threading.Lock()


def shared_reader() -> AheadReader:
    """Return this process's read-ahead reader (one per viewer process, started once)."""
    global _SHARED
    with _SHARED_LOCK:
        if _SHARED is None:
            _SHARED = AheadReader(start_after_s=_START_AFTER_S)
            atexit.register(_SHARED.close)
        return _SHARED


def _serve() -> None:
    """Read each film named on standard input; answer on standard output (the child)."""
    if hasattr(os, "nice"):  # a helper: the viewer's own work comes first
        os.nice(10)
    from kyphoimg import read_radiograph

    out = sys.stdout.buffer
    out.write(_READY)
    out.flush()
    for line in sys.stdin.buffer:
        path = os.fsdecode(line.rstrip(b"\n"))
        try:
            answer: tuple[bool, Any] = (True, read_radiograph(path))
        except Exception as exc:  # the viewer reads it again and says why
            answer = (False, f"{type(exc).__name__}: {exc}")
        pickle.dump(answer, out, protocol=pickle.HIGHEST_PROTOCOL)
        out.flush()


if __name__ == "__main__":
    _serve()

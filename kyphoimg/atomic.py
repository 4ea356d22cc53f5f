"""Atomic file writes: a temporary file in the destination folder, then a rename.

Every file kyphoimg writes (landmark files, tables, SR objects, run caches) goes through
:func:`atomic_write`, so an interrupted write never leaves a half-written file and the
replaced file keeps its permissions.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path

__all__ = ["atomic_write", "atomic_write_text"]


def _file_mode(path: Path) -> int:
    """Mode for a file about to replace ``path``: its current mode, else 0o666 less the umask."""
    try:
        return path.stat().st_mode & 0o7777
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def atomic_write(path: str | os.PathLike[str], write: Callable[[str], object]) -> Path:
    """Write ``path`` atomically: ``write(tmp)`` fills a temporary file, which then replaces it.

    The temporary file sits in the destination folder (created if needed), so the final
    rename is atomic; it gets the mode a plain write would give (``mkstemp`` makes 0600)
    and is removed if ``write`` fails.

    Returns
    -------
    pathlib.Path
        The path written.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    mode = _file_mode(path)
    # The temporary name ends in the destination's extension: writers such as
    # pandas.ExcelWriter choose their format from it.
    fd, tmp = tempfile.mkstemp(
        prefix=f".{path.name}.", suffix=f".tmp{path.suffix}", dir=path.parent
    )
    os.close(fd)
    try:
        write(tmp)
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def atomic_write_text(path: str | os.PathLike[str], text: str) -> Path:
    """Write UTF-8 text atomically (see :func:`atomic_write`)."""
    return atomic_write(path, lambda tmp: Path(tmp).write_text(text, encoding="utf-8", newline=""))

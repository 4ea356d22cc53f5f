"""Core functions of issue 17 the plugin calls, with stand-ins until the core has them.

Each name is imported from the core when it is there (kyphoimg.landmarks); otherwise a
minimal private stand-in below takes its place. The merge of the core deletes the
stand-ins and this module imports the core's names only.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from kyphoimg.errors import LandmarkError
from kyphoimg.landmarks import LandmarkSet, read_landmarks, write_landmarks

__all__ = [
    "RepairOutcome",
    "SaveOutcome",
    "assign_timepoint",
    "file_sha256",
    "repair_landmark_file",
    "save_reading",
]

try:  # the core's, once integrity-core is merged
    from kyphoimg.landmarks import (  # type: ignore[attr-defined]
        RepairOutcome,
        SaveOutcome,
        file_sha256,
        repair_landmark_file,
        save_reading,
    )
except ImportError:  # pragma: no cover - replaced by the core at merge

    def _stamp() -> str:
        return datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")

    # stand-in until kyphoimg.landmarks.file_sha256 lands
    def file_sha256(path: str | os.PathLike[str]) -> str | None:  # type: ignore[misc]
        """Return the SHA-256 of a file's bytes, or None when there is no file."""
        try:
            return hashlib.sha256(Path(path).read_bytes()).hexdigest()
        except FileNotFoundError:
            return None

    # stand-in until kyphoimg.landmarks.save_reading lands
    @dataclass(frozen=True)
    class SaveOutcome:  # type: ignore[no-redef]
        """Where a reading was written, and why beside the file when it was."""

        path: Path
        conflict: str | None
        sha256: str

    # stand-in until kyphoimg.landmarks.save_reading lands
    def save_reading(  # type: ignore[misc]
        ls: LandmarkSet, path: str | os.PathLike[str], *, loaded_sha256: str | None
    ) -> SaveOutcome:
        """Write ``ls`` to ``path`` unless the file changed since it was loaded."""
        path = Path(path)
        on_disk = file_sha256(path)
        conflict = None
        if on_disk != loaded_sha256:
            conflict = (
                f"{path} was changed on disk since it was loaded"
                if loaded_sha256 is not None
                else f"{path} appeared on disk since the film was opened"
            )
        elif on_disk is not None:
            try:
                other = read_landmarks(path, validate=False)
            except LandmarkError as exc:
                raise LandmarkError(
                    f"{path} cannot be read ({exc}); repair it first (Repair…), nothing was written"
                ) from None
            if other.points and other.rater and other.rater != ls.rater:
                conflict = f"{path} holds the points of another reader ({other.rater})"
        target = path
        if conflict is not None:
            suffix = f".conflict-{_stamp()}" + (f".{ls.rater}" if ls.rater else "")
            target = path.with_name(path.name + suffix)
        written = write_landmarks(ls, target)
        digest = file_sha256(written)
        assert digest is not None
        return SaveOutcome(path=written, conflict=conflict, sha256=digest)

    # stand-in until kyphoimg.landmarks.repair_landmark_file lands
    @dataclass(frozen=True)
    class RepairOutcome:  # type: ignore[no-redef]
        """What a repair kept, dropped and where the original went."""

        landmarks: LandmarkSet | None
        backup: Path
        carried: int
        dropped: tuple[str, ...]
        sha256: str | None

    def _salvage(text: str) -> tuple[dict[str, Any], list[str]]:
        dropped: list[str] = []
        for end in range(len(text), 0, -1):  # the longest prefix that closes as JSON
            head = text[:end].rstrip().rstrip(",")
            for tail in ("", "}", "]}", "}}", "]}}", "}}}", "]}}}"):
                try:
                    data = json.loads(head + tail)
                except json.JSONDecodeError:
                    continue
                if isinstance(data, dict):
                    if end < len(text):
                        dropped.append(f"the end of the file was cut at character {end}")
                    return data, dropped
        return {}, ["nothing in the file could be read"]

    # stand-in until kyphoimg.landmarks.repair_landmark_file lands
    def repair_landmark_file(path: str | os.PathLike[str]) -> RepairOutcome:  # type: ignore[misc]
        """Back up an unreadable landmark file and rewrite what can be read of it."""
        from kyphoimg.landmarks import landmarks_from_dict

        path = Path(path)
        raw = path.read_bytes()
        backup = path.with_name(f"{path.name}.bak-{_stamp()}")
        backup.write_bytes(raw)
        data, dropped = _salvage(raw.decode("utf-8", errors="replace"))
        points = data.get("points") if isinstance(data.get("points"), dict) else {}
        kept: dict[str, dict[str, list[float]]] = {}
        for level, pts in (points or {}).items():
            for name, xy in (pts or {}).items() if isinstance(pts, dict) else ():
                ok = isinstance(xy, list) and len(xy) == 2
                if ok and all(isinstance(v, int | float) for v in xy):
                    kept.setdefault(level, {})[name] = xy
                else:
                    dropped.append(f"{level} {name}: coordinate {xy!r} is not two numbers")
        data["points"] = kept
        try:
            ls = landmarks_from_dict(data, source=str(path))
        except LandmarkError as exc:
            dropped.append(str(exc))
            return RepairOutcome(None, backup, 0, tuple(dropped), None)
        written = write_landmarks(ls, path)
        carried = sum(len(p) for p in ls.points.values())
        return RepairOutcome(ls, backup, carried, tuple(dropped), file_sha256(written))


def assign_timepoint(worklist: Any, entry: Any, timepoint: str) -> Any:
    """Write a film's time point into this reader's file (``Worklist.assign_timepoint``)."""
    if hasattr(worklist, "assign_timepoint"):
        return worklist.assign_timepoint(entry, timepoint)
    # stand-in until kyphoimg.study.Worklist.assign_timepoint lands
    import os as _os

    from kyphoimg.landmarks import ImageRef
    from kyphoimg.timepoints import normalise_timepoint

    timepoint = normalise_timepoint(timepoint, worklist.timepoints)
    path = Path(entry.landmark_path)
    if path.is_file():
        ls = read_landmarks(path, validate=False)  # an unreadable file is refused
    else:
        ls = LandmarkSet(
            points={},
            patient_id=entry.patient_id,
            rater=worklist.rater,
            image=ImageRef(
                path=Path(_os.path.relpath(entry.film_path, path.parent)).as_posix(),
                sop_instance_uid=entry.sop_instance_uid,
                rows=entry.rows,
                columns=entry.columns,
            ),
        )
    loaded = file_sha256(path)
    save_reading(ls.replace(timepoint=timepoint), path, loaded_sha256=loaded)
    return worklist.refresh(entry)

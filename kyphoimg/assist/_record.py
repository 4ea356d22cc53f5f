"""The provenance record of proposed and confirmed points now lives in :mod:`kyphoimg.landmarks`.

Kept so that ``from kyphoimg.assist import mark_proposed, confirm, ...`` works as before.
"""

from __future__ import annotations

from ..landmarks import ASSIST_KEY, confirm, confirmed, mark_proposed, unconfirmed

__all__ = ["ASSIST_KEY", "confirm", "confirmed", "mark_proposed", "unconfirmed"]

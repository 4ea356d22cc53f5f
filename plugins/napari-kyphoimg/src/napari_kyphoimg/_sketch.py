"""A sketch of the landmark scheme on one vertebra, with the point to place next marked.

The reader sees where the named point lies on a schematic lateral vertebral body
(anterior on the side the film faces), not only its name.
"""

from __future__ import annotations

from typing import Any

from qtpy.QtCore import QPointF, QRectF, Qt
from qtpy.QtGui import QColor, QPainter, QPen, QPolygonF
from qtpy.QtWidgets import QWidget

__all__ = ["SchemeSketch", "sketch_positions"]

#: Where each lateral point sits on a unit vertebra: (x from posterior 0 to anterior 1,
#: y from superior 0 to inferior 1); the anterior wall is a little lower (a mild wedge).
_UNIT: dict[str, tuple[float, float]] = {
    "post_sup": (0.0, 0.0),
    "mid_sup": (0.5, 0.06),
    "ant_sup": (1.0, 0.12),
    "post_inf": (0.0, 1.0),
    "mid_inf": (0.5, 0.94),
    "ant_inf": (1.0, 0.88),
}


def sketch_positions(scheme: str, *, anterior_right: bool = True) -> dict[str, tuple[float, float]]:
    """Return where each point of a lateral scheme is drawn, in unit coordinates.

    Parameters
    ----------
    scheme : {"6pt", "4pt"}
        The landmark scheme (``4pt`` has no mid-endplate points).
    anterior_right : bool, optional
        Whether the anterior wall is drawn on the right.

    Returns
    -------
    dict
        ``{point: (x, y)}`` with ``x`` and ``y`` in [0, 1], ``y`` downwards.
    """
    names = [n for n in _UNIT if scheme != "4pt" or not n.startswith("mid")]
    out = {}
    for n in names:
        x, y = _UNIT[n]
        out[n] = (x if anterior_right else 1.0 - x, y)
    return out


class SchemeSketch(QWidget):
    """A small drawing of one vertebra with the scheme's points, the target highlighted.

    Parameters
    ----------
    parent : QWidget, optional
        The Qt parent.
    """

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.scheme = "6pt"
        self.target: str | None = None
        self.placed: set[str] = set()
        self.anterior_right = True
        self.setMinimumSize(150, 90)
        self.setMaximumHeight(110)

    def show_target(
        self, scheme: str, target: str | None, placed: set[str], *, anterior_right: bool = True
    ) -> None:
        """Redraw for a scheme, the point to place next and the points already placed.

        Parameters
        ----------
        scheme : str
            ``6pt`` or ``4pt`` (others draw nothing).
        target : str or None
            The point name placed next.
        placed : set of str
            Point names of the target's vertebra already placed.
        anterior_right : bool, optional
            The film's anterior side.
        """
        self.scheme, self.target, self.placed = scheme, target, set(placed)
        self.anterior_right = anterior_right
        self.update()

    def paintEvent(self, event: Any) -> None:
        """Draw the vertebra and its points."""
        if self.scheme not in ("6pt", "4pt"):
            return
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        w, h = self.width(), self.height()
        box = QRectF(w * 0.25, h * 0.12, w * 0.5, h * 0.7)
        pos = sketch_positions(self.scheme, anterior_right=self.anterior_right)

        def at(name: str) -> QPointF:
            x, y = pos[name]
            return QPointF(box.left() + x * box.width(), box.top() + y * box.height())

        corners = [at("post_sup"), at("ant_sup"), at("ant_inf"), at("post_inf")]
        p.setPen(QPen(QColor("#9aa0a6"), 1.5))
        p.setBrush(QColor(255, 255, 255, 25))
        p.drawPolygon(QPolygonF(corners))
        p.setPen(QColor("#c8c8c8"))
        ant_x = box.right() + 4 if self.anterior_right else box.left() - 44
        p.drawText(QRectF(ant_x, box.center().y() - 8, 40, 16), Qt.AlignmentFlag.AlignLeft, "ant")
        for name in pos:
            centre = at(name)
            if name == self.target:
                p.setPen(QPen(QColor("#ffd400"), 2.5))
                p.setBrush(QColor("#ffd400"))
                radius = 6.0
            elif name in self.placed:
                p.setPen(QPen(QColor("#34a853"), 1.5))
                p.setBrush(QColor("#34a853"))
                radius = 4.0
            else:
                p.setPen(QPen(QColor("#9aa0a6"), 1.5))
                p.setBrush(Qt.BrushStyle.NoBrush)
                radius = 4.0
            p.drawEllipse(centre, radius, radius)
        p.end()

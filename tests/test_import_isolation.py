"""``import kyphoimg`` stays free of napari and Qt (STYLE.md item 1).

Checked in a fresh interpreter, so modules imported by other tests cannot hide a leak.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

GUI_MODULES = ("napari", "qtpy", "PyQt5", "PyQt6", "PySide2", "PySide6", "vispy", "magicgui")

_CHECK = """
import sys
import {module}
bad = sorted(m for m in {gui!r} if m in sys.modules)
print(",".join(bad))
"""


@pytest.mark.parametrize("module", ["kyphoimg", "kyphoimg.cli"])
def test_import_loads_neither_napari_nor_qt(module):
    result = subprocess.run(
        [sys.executable, "-c", _CHECK.format(module=module, gui=GUI_MODULES)],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "", f"import {module} loaded {result.stdout.strip()}"

"""What a command loads before it runs: ``kyphoimg view`` starts without ``run``'s imports.

Startup time is measured in benchmarks/bench_study.py (P7); here only which modules are
imported, in a fresh interpreter, so that an eager import that comes back is caught.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

_PROBE = """
import json, sys
from kyphoimg.cli import main
try:
    main(sys.argv[1:])
except SystemExit:
    pass
print(json.dumps(sorted(sys.modules)))
"""


def _loaded(*argv: str) -> set[str]:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
    }
    out = subprocess.run(
        [sys.executable, "-c", _PROBE, *argv],
        capture_output=True,
        text=True,
        check=True,
        env=env,
        cwd=ROOT,
    )
    return set(json.loads(out.stdout.strip().splitlines()[-1]))


def test_a_command_imports_its_own_module_only():
    loaded = _loaded("view", "--help")
    assert "kyphoimg.cli.view" in loaded
    # the other commands, and OpenCV / SciPy's image code that only assist needs
    assert not {"kyphoimg.cli.run", "kyphoimg.cli.assist", "kyphoimg.cli.report"} & loaded
    assert not {"cv2", "scipy.ndimage"} & loaded


def test_the_whole_help_still_lists_every_command(capsys):
    from kyphoimg.cli import COMMAND_NAMES, COMMANDS, build_parser

    assert [m.__name__.rsplit(".", 1)[1] for m in COMMANDS] == list(COMMAND_NAMES)
    text = build_parser().format_help()
    assert all(name in text for name in COMMAND_NAMES)


def test_the_assist_package_loads_opencv_only_for_the_centres():
    probe = (
        "import json, sys\n"
        "import kyphoimg.assist as a\n"
        "before = 'cv2' in sys.modules\n"
        "a.from_centres\n"
        "print(json.dumps([before, 'cv2' in sys.modules]))\n"
    )
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
    }
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, env=env
    )
    assert json.loads(out.stdout) == [False, True]

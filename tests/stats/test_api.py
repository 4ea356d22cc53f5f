"""The public surface of kyphoimg.stats and its import cost."""

from __future__ import annotations

import inspect
import subprocess
import sys

import kyphoimg.stats as ks
from kyphoimg.errors import StatsInputError


def test_public_names() -> None:
    assert sorted(ks.__all__) == ks.__all__
    for name in [
        "table1",
        "compare_timepoints",
        "correlate",
        "logistic",
        "roc",
        "delong_test",
        "report",
        "plot_roc",
        "plot_forest",
        "plot_timecourse",
        "SeparationWarning",
        "icc",
        "bland_altman",
        "kappa",
        "fleiss_kappa",
        "sem",
        "mdc95",
    ]:
        assert name in ks.__all__
        assert getattr(ks, name) is not None
    assert issubclass(ks.SeparationWarning, UserWarning)
    assert issubclass(StatsInputError, ValueError)


def test_public_functions_have_numpydoc_sections() -> None:
    for name in ks.__all__:
        obj = getattr(ks, name)
        if inspect.isfunction(obj):
            doc = inspect.getdoc(obj) or ""
            assert "Parameters\n----------" in doc, name
            assert "Returns\n-------" in doc, name


def test_report_signature_is_the_contract() -> None:
    sig = inspect.signature(ks.report)
    assert list(sig.parameters) == ["study", "output_dir"]


def test_import_does_not_load_heavy_dependencies() -> None:
    code = (
        "import sys, kyphoimg.stats; "
        "heavy = ('pingouin', 'matplotlib', 'statsmodels', 'sklearn'); "
        "print(sorted(m for m in heavy if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"

"""The block that ends measure and features (issue 19): one helper, cli._common.finish_tables."""

from __future__ import annotations

import pandas as pd

from kyphoimg.cli._common import finish_tables, write_tables
from kyphoimg.errors import ERROR_COLUMNS, WARNING_PREFIX


def _errors(*messages: str) -> pd.DataFrame:
    return pd.DataFrame([("f.json", None, None, m) for m in messages], columns=list(ERROR_COLUMNS))


def test_writes_the_tables_given_a_path_and_says_so(tmp_path, capsys):
    a, b = pd.DataFrame({"x": [1, 2]}), pd.DataFrame({"y": [3]})
    code = finish_tables(
        [(a, tmp_path / "a.csv"), (b, None)],
        _errors(),
        tmp_path / "errors.csv",
        summary=["measured 2"],
    )
    out = capsys.readouterr().out.splitlines()
    assert code == 0
    assert out[0] == f"wrote {tmp_path / 'a.csv'}"
    assert out[-1] == "measured 2"
    assert pd.read_csv(tmp_path / "a.csv")["x"].tolist() == [1, 2]
    assert pd.read_csv(tmp_path / "errors.csv").empty  # written even when empty


def test_exit_code_counts_failures_not_warnings(tmp_path, capsys):
    table = [(pd.DataFrame({"x": [1]}), tmp_path / "t.csv")]
    assert finish_tables(table, _errors(f"{WARNING_PREFIX}a note"), None) == 0
    assert finish_tables(table, _errors("a problem"), None) == 1
    assert finish_tables(table, _errors(), None, nothing=True) == 1
    err = capsys.readouterr().err
    assert "1 warning(s)" in err
    assert "1 problem(s) in the inputs" in err


def test_write_tables_skips_what_was_not_asked_for(tmp_path, capsys):
    write_tables((pd.DataFrame({"x": [1]}), None))
    assert capsys.readouterr().out == ""
    assert list(tmp_path.iterdir()) == []

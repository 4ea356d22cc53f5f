"""The ``kyphoimg`` command line: one module per command.

Every command takes ``-o/--output``; the table format follows the extension (``.csv``,
``.parquet``, ``.xlsx``) and a data dictionary is written beside it. Bad inputs are
reported after everything else has been measured; the exit code is 0 only when nothing
failed (1: some input failed or lacks points, 2: usage error, found before any work or a
missing optional extra, 130: interrupted by Ctrl+C). Warnings (messages starting with
``warning:``) are listed but do not change the exit code. Every command's ``--help`` ends
with examples.

A command is a module with ``add_command(subparsers)`` (its options, its handler as
``func``) and ``EXAMPLES``; adding one is a module and one line in :data:`COMMAND_NAMES`
(a command's module is imported only when that command runs).
Options several commands share are declared once in :mod:`kyphoimg.cli._options`.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Sequence
from types import ModuleType
from typing import Any

from .._version import __version__
from ._common import Parser, run_command, set_examples

__all__ = ["COMMANDS", "build_parser", "main"]

#: The command modules' names (each the command's name), in the order ``kyphoimg --help``
#: lists them. A module is imported only when its command is run or listed: ``kyphoimg
#: view`` starts without loading what ``run`` or ``assist`` need.
COMMAND_NAMES = (
    "measure",
    "features",
    "scan",
    "run",
    "sr",
    "assist",
    "report",
    "reliability",
    "effort",
    "view",
    "pacs",
    "demo",
    "figure",
    "sample",
)

_TOP_EXAMPLES: tuple[str, ...] = (
    "kyphoimg run sample_dicom -o results",
    "kyphoimg measure sample_dicom -o measures.csv --images-output images.csv",
    "kyphoimg COMMAND --help",
)


def _module(name: str) -> ModuleType:
    return importlib.import_module(f"{__name__}.{name}")


def __getattr__(name: str) -> Any:
    """``COMMANDS`` (the command modules) and ``_EXAMPLES``, imported when first asked for."""
    if name == "COMMANDS":
        return tuple(_module(n) for n in COMMAND_NAMES)
    if name == "_EXAMPLES":
        examples: dict[str, tuple[str, ...]] = {"kyphoimg": _TOP_EXAMPLES}
        for n in COMMAND_NAMES:
            examples.update(_module(n).EXAMPLES)
        return examples
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def build_parser(only: str | None = None) -> Parser:
    """Return the argument parser of the ``kyphoimg`` command.

    Parameters
    ----------
    only : str, optional
        Add only this command (its module alone is imported); default every command of
        :data:`COMMAND_NAMES`.

    Returns
    -------
    Parser
        The parser.
    """
    parser = Parser(
        prog="kyphoimg",
        description="Radiograph measurements for kyphoplasty outcome research.",
    )
    parser.add_argument("--version", action="version", version=f"kyphoimg {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMAND_NAMES if only is None else (only,):
        _module(name).add_command(sub)
    set_examples(parser, _TOP_EXAMPLES)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line.

    Parameters
    ----------
    argv : sequence of str, optional
        The arguments (default: ``sys.argv[1:]``).

    Returns
    -------
    int
        The exit code: 0 done, 1 an input failed, 2 usage or configuration error, 130
        interrupted.
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    # ``kyphoimg COMMAND ...``: that command's module alone (the others load what they need)
    only = argv[0] if argv and argv[0] in COMMAND_NAMES else None
    args = build_parser(only).parse_args(argv)
    return run_command(args.func, args)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

"""The ``kyphoimg`` command line: one module per command.

Every command takes ``-o/--output``; the table format follows the extension (``.csv``,
``.parquet``, ``.xlsx``) and a data dictionary is written beside it. Bad inputs are
reported after everything else has been measured; the exit code is 0 only when nothing
failed (1: some input failed or lacks points, 2: usage error, found before any work or a
missing optional extra, 130: interrupted by Ctrl+C). Warnings (messages starting with
``warning:``) are listed but do not change the exit code. Every command's ``--help`` ends
with examples.

A command is a module with ``add_command(subparsers)`` (its options, its handler as
``func``) and ``EXAMPLES``; adding one is a module and one line in :data:`COMMANDS`.
Options several commands share are declared once in :mod:`kyphoimg.cli._options`.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from .._version import __version__
from . import (
    assist,
    demo,
    effort,
    features,
    figure,
    measure,
    pacs,
    reliability,
    report,
    run,
    sample,
    scan,
    sr,
    view,
)
from ._common import Parser, run_command, set_examples

__all__ = ["COMMANDS", "build_parser", "main"]

#: The command modules, in the order ``kyphoimg --help`` lists them.
COMMANDS = (
    measure,
    features,
    scan,
    run,
    sr,
    assist,
    report,
    reliability,
    effort,
    view,
    pacs,
    demo,
    figure,
    sample,
)

_EXAMPLES: dict[str, tuple[str, ...]] = {
    "kyphoimg": (
        "kyphoimg run sample_dicom -o results",
        "kyphoimg measure sample_dicom -o measures.csv --images-output images.csv",
        "kyphoimg COMMAND --help",
    ),
}
for _module in COMMANDS:
    _EXAMPLES.update(_module.EXAMPLES)


def build_parser() -> Parser:
    """Return the argument parser of the ``kyphoimg`` command.

    Returns
    -------
    Parser
        The parser, with every command of :data:`COMMANDS`.
    """
    parser = Parser(
        prog="kyphoimg",
        description="Radiograph measurements for kyphoplasty outcome research.",
    )
    parser.add_argument("--version", action="version", version=f"kyphoimg {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in COMMANDS:
        module.add_command(sub)
    set_examples(parser, _EXAMPLES["kyphoimg"])
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
    args = build_parser().parse_args(argv)
    return run_command(args.func, args)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

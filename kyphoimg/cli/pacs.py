"""`kyphoimg pacs echo|find|get|store`: the argument declarations and short handlers."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import pandas as pd

from ..errors import PacsConfigError
from ..pacs import (
    FIND_COLUMNS,
    PacsServer,
    echo,
    find,
    get,
    read_patient_list,
    server_from_study_file,
    store,
)
from . import _options as opt

__all__ = ["EXAMPLES", "add_command"]

EXAMPLES = {
    "pacs": (
        "kyphoimg pacs find --study study.toml --from 2024-01-01 -o found.csv",
        "kyphoimg pacs get --study study.toml --studies found.csv -o films/",
    ),
    "echo": ("kyphoimg pacs echo --url https://pacs.example.org/dicom-web",
             "kyphoimg pacs echo --ae-title PACS --host pacs.example.org --port 104"),
    "find": ("kyphoimg pacs find --study study.toml --from 2024-01-01 --to 2024-12-31 -o found.csv",
             "kyphoimg pacs find --url https://pacs/dicom-web --patient-list ids.txt"),
    "get": ("kyphoimg pacs get --study study.toml --studies found.csv -o films/",
            "kyphoimg pacs get --ae-title PACS --host pacs --port 104 --patient-list p.txt -o f"),
    "store": ("kyphoimg pacs store --study study.toml sr/",
              "kyphoimg pacs store --url https://pacs/dicom-web sr/ -o stored.csv"),
}  # fmt: skip
_FORMAT = argparse.RawDescriptionHelpFormatter


def _server_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("server (credentials: KYPHOIMG_PACS_USER/_PASSWORD, netrc, keyring)")
    g.add_argument(
        "--study", type=Path, metavar="TOML", help="study file whose [pacs] table names the server"
    )
    g.add_argument("--url", help="DICOMweb root URL (QIDO/WADO/STOW-RS), without credentials")
    g.add_argument(
        "--ca-bundle", type=Path, metavar="PEM", help="CA certificates to trust for https"
    )
    g.add_argument("--ae-title", help="DIMSE: the PACS's AE title")
    g.add_argument("--host", help="DIMSE: the PACS's host name")
    g.add_argument("--port", type=int, help="DIMSE: the PACS's port")
    g.add_argument("--calling-ae-title", metavar="AET", help="our AE title (default KYPHOIMG)")
    g.add_argument("--move-port", type=int, metavar="PORT",
                   help="DIMSE: get by C-MOVE to us on this port (default C-GET)")  # fmt: skip
    g.add_argument("--timeout", type=float, metavar="S", help="seconds to wait for the server (30)")


def _query_options(p: argparse.ArgumentParser, modalities: str) -> None:
    opt.add_patient_list(p, "patient IDs, one a line (or a table's patient_id)")
    p.add_argument("--from", dest="date_from", metavar="DATE", help="first study date, YYYY-MM-DD")
    p.add_argument("--to", dest="date_to", metavar="DATE", help="last study date, YYYY-MM-DD")
    p.add_argument(
        "--modality", default=modalities, help=f"modalities, comma-separated ({modalities})"
    )
    p.add_argument("--description", metavar="TEXT", help="study description, * as wildcard")


def add_command(sub: Any) -> argparse.ArgumentParser:
    """Declare ``kyphoimg pacs`` and its four actions on the command line's subparsers.

    Parameters
    ----------
    sub : argparse._SubParsersAction
        The ``kyphoimg`` command's subparsers.

    Returns
    -------
    argparse.ArgumentParser
        The ``pacs`` parser.
    """
    p = sub.add_parser(
        "pacs",
        help="query, retrieve and store back: a PACS over DICOMweb or DIMSE",
        description="Talk to the PACS: echo, find studies, get them into a study folder "
        "(resumable, with pacs-manifest.csv), store SRs back. Name the server by --url or "
        "--ae-title/--host/--port, or in the study file's [pacs] table. Credentials come from "
        "KYPHOIMG_PACS_USER and KYPHOIMG_PACS_PASSWORD, a netrc file or the keyring.",
    )
    actions = p.add_subparsers(dest="pacs_command", required=True, metavar="ACTION")
    specs = {
        "echo": "check the server answers (C-ECHO or a QIDO-RS query)",
        "find": "list the studies matching a query",
        "get": "retrieve studies into a study folder",
        "store": "send SR (or other DICOM) files to the PACS",
    }
    for name, text in specs.items():
        q = actions.add_parser(name, help=text, description=text[0].upper() + text[1:] + ".",
                               formatter_class=_FORMAT)  # fmt: skip
        q.epilog = "examples:\n" + "\n".join(f"  {line}" for line in EXAMPLES[name]) + "\n"
        _server_options(q)
        q.set_defaults(func=_run)
        if name == "find":
            _query_options(q, "CR,DX")
            opt.add_output(q, "also write the studies (.csv/.parquet/.xlsx)", required=False)
        elif name == "get":
            _query_options(q, "CR,DX")
            q.add_argument(
                "--studies",
                type=Path,
                metavar="TABLE",
                help="studies to get: a table pacs find wrote",
            )
            opt.add_output(q, "the study folder to fill", folder=True)
        elif name == "store":
            q.add_argument(
                "inputs", nargs="+", type=Path, metavar="DICOM", help="SR files or folders to send"
            )
            opt.add_output(q, "also write what was accepted or refused (.csv)", required=False)
            q.add_argument(
                "--renderings",
                type=Path,
                nargs="+",
                metavar="STUDY",
                help="also send a Secondary Capture drawing of each annotated film",
            )
    return p


def _server(args: argparse.Namespace) -> PacsServer:
    values: dict[str, Any] = {}
    if args.study is not None:
        base = server_from_study_file(args.study)
        values = {k: getattr(base, k) for k in PacsServer.__dataclass_fields__}
        if args.url or args.ae_title or args.host or args.port:  # flags name another server
            values.update(url=None, ae_title=None, host=None, port=None, ca_bundle=None)
    flags = {"url": args.url, "ca_bundle": args.ca_bundle, "ae_title": args.ae_title,
             "host": args.host, "port": args.port, "calling_ae_title": args.calling_ae_title,
             "timeout": args.timeout, "move_port": args.move_port}  # fmt: skip
    values.update({k: v for k, v in flags.items() if v is not None})
    return PacsServer(**values)


def _query(args: argparse.Namespace) -> dict[str, Any]:
    return {
        "patients": read_patient_list(args.patient_list) if args.patient_list else None,
        "date_from": args.date_from,
        "date_to": args.date_to,
        "modalities": [m for m in args.modality.split(",") if m.strip()],
        "description": args.description,
    }


def _run(args: argparse.Namespace) -> int:
    try:
        server = _server(args)
        return _ACTIONS[args.pacs_command](server, args)
    except PacsConfigError as exc:
        print(f"kyphoimg: error: {exc}", file=sys.stderr)
        return 2


def _echo(server: PacsServer, args: argparse.Namespace) -> int:
    echo(server)
    print(f"{server.name}: answers ({server.protocol})")
    return 0


def _find(server: PacsServer, args: argparse.Namespace) -> int:
    from ..export import write_table

    table = find(server, **_query(args))
    if args.output is not None:
        write_table(table, args.output, dictionary=False)
        print(f"wrote {args.output}")
    with pd.option_context("display.width", 200, "display.max_rows", 50):
        print(
            table.drop(columns=["study_instance_uid"]).to_string(index=False) if len(table) else ""
        )
    print(f"{len(table)} study(ies) on {server.name}")
    return 0


def _get(server: PacsServer, args: argparse.Namespace) -> int:
    modalities = [m for m in args.modality.split(",") if m.strip()]
    if args.studies is not None:
        from ..export import read_table

        try:
            studies = read_table(args.studies)
        except (OSError, ValueError) as exc:
            raise PacsConfigError(
                f"{args.studies}: cannot read the studies table ({exc})"
            ) from None
        lacking = [
            c for c in ("study_instance_uid", "patient_id", "study_date") if c not in studies
        ]
        if lacking:
            raise PacsConfigError(
                f"{args.studies}: lacks column(s) {', '.join(lacking)}; use a table pacs find wrote"
            )
        studies = studies.astype({c: str for c in FIND_COLUMNS[:3]})
    else:
        studies = find(server, **_query(args))
    try:
        result = get(server, studies, args.output, modalities=modalities)
    except KeyboardInterrupt:
        print(f"kyphoimg: interrupted; the files in {args.output} are whole: run the same "
              "command again to resume", file=sys.stderr)  # fmt: skip
        return 130
    print(f"{result.fetched} instance(s) retrieved, {result.skipped} already there, from "
          f"{len(studies)} study(ies) into {args.output}; manifest {result.manifest}")  # fmt: skip
    return 0


def _store(server: PacsServer, args: argparse.Namespace) -> int:
    report = store(server, args.inputs, renderings=args.renderings)
    for row in report.itertuples(index=False):
        reason = f" ({row.reason!s})" if row.reason else ""
        print(f"{row.status}: {row.file}{reason}")
    if args.output is not None:
        from ..export import write_table

        write_table(report, args.output, dictionary=False)
    n_ok = int((report["status"] == "accepted").sum())
    print(f"{n_ok} of {len(report)} accepted by {server.name}")
    return 0 if n_ok == len(report) else 1


_ACTIONS = {"echo": _echo, "find": _find, "get": _get, "store": _store}

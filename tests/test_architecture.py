"""The package's shape: one-way imports, no private reach-ins, documented public names.

These are the rules of ``docs/architecture.md``, checked on the source tree: no import
cycle (module-level or inside functions), no module importing another's underscore
names outside its own subpackage, ruff's complexity limit, and a numpydoc docstring
(with Parameters and Returns where they apply) for every exported name.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = {
    "kyphoimg": ROOT / "kyphoimg",
    "napari_kyphoimg": ROOT / "plugins" / "napari-kyphoimg" / "src" / "napari_kyphoimg",
}
#: Private modules any module of the package may import from (the version string).
SHARED_PRIVATE = {"kyphoimg._version"}


def _modules(package: str, folder: Path) -> dict[str, Path]:
    out = {}
    for path in sorted(folder.rglob("*.py")):
        parts = list(path.relative_to(folder).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join([package, *parts])] = path
    return out


def _is_package(path: Path) -> bool:
    return path.name == "__init__.py"


def _imports(name: str, path: Path, known: set[str]) -> list[tuple[str, list[str], int]]:
    """Every import of a sibling module (also inside functions): (target, names, line)."""
    base = name if _is_package(path) else name.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                parts = base.split(".")
                parts = parts[: len(parts) - (node.level - 1)]
                module = ".".join([*parts, *([node.module] if node.module else [])])
            else:
                module = node.module or ""
            names = [a.name for a in node.names]
            # ``from . import x`` may import a submodule x
            for n in names:
                if f"{module}.{n}" in known:
                    found.append((f"{module}.{n}", [], node.lineno))
            rest = [n for n in names if f"{module}.{n}" not in known]
            if module in known and rest:
                found.append((module, rest, node.lineno))
        elif isinstance(node, ast.Import):
            for a in node.names:
                if a.name in known:
                    found.append((a.name, [], node.lineno))
    return found


def _subpackage(module: str, modules: dict[str, Path]) -> str:
    """The innermost package holding ``module`` (itself when it is a package)."""
    if _is_package(modules[module]):
        return module
    return module.rpartition(".")[0]


@pytest.fixture(scope="module")
def graph():
    edges: dict[str, list[tuple[str, list[str], int]]] = {}
    modules: dict[str, Path] = {}
    for package, folder in PACKAGES.items():
        modules.update(_modules(package, folder))
    known = set(modules)
    for name, path in modules.items():
        edges[name] = _imports(name, path, known)
    return modules, edges


def test_no_import_cycle(graph):
    _, edges = graph
    adjacency = {m: sorted({t for t, _, _ in e if t != m}) for m, e in edges.items()}
    state: dict[str, int] = {}
    stack: list[str] = []
    cycles = []

    def visit(m: str) -> None:
        state[m] = 1
        stack.append(m)
        for t in adjacency[m]:
            if state.get(t) == 1:
                cycles.append(" -> ".join([*stack[stack.index(t) :], t]))
            elif t not in state:
                visit(t)
        stack.pop()
        state[m] = 2

    for m in sorted(adjacency):
        if m not in state:
            visit(m)
    assert not cycles, "import cycles:\n" + "\n".join(cycles)


def test_no_private_names_imported_from_elsewhere(graph):
    modules, edges = graph
    bad = []
    for importer, found in edges.items():
        home = _subpackage(importer, modules)
        for target, names, line in found:
            if target in SHARED_PRIVATE:
                continue
            target_home = _subpackage(target, modules)
            # A private module may be used only by modules of its own subpackage.
            private_module = any(
                p.startswith("_") for p in target.split(".")[1:] if p != "__init__"
            )
            if private_module and home != target_home:
                where = modules[importer].relative_to(ROOT)
                bad.append(f"{where}:{line}: imports private module {target}")
            # A private name may be imported only within one subpackage, and a top-level
            # module (or the plugin's flat package) keeps its private names to itself.
            private_names = [n for n in names if n.startswith("_") and not n.startswith("__")]
            flat = home in PACKAGES
            if private_names and (home != target_home or flat):
                bad.append(
                    f"{modules[importer].relative_to(ROOT)}:{line}: imports "
                    f"{', '.join(private_names)} from {target}"
                )
    assert not bad, "\n".join(bad)


def test_complexity_is_within_the_limit():
    """ruff's mccabe rule (C901, max-complexity 15 in pyproject.toml) holds everywhere."""
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "ruff",
            "check",
            "--select",
            "C901",
            "--no-cache",
            str(PACKAGES["kyphoimg"]),
            str(PACKAGES["napari_kyphoimg"]),
        ],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_top_level_is_small():
    import kyphoimg

    assert len(kyphoimg.__all__) <= 20, kyphoimg.__all__
    assert all(hasattr(kyphoimg, n) for n in kyphoimg.__all__)


def test_every_exception_and_warning_lives_in_errors():
    from kyphoimg import errors

    for name, path in _modules("kyphoimg", PACKAGES["kyphoimg"]).items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in tree.body:
            if isinstance(node, ast.ClassDef) and not node.name.startswith("_"):
                bases = {ast.unparse(b) for b in node.bases}
                if any(b.endswith(("Error", "Exception", "Warning")) for b in bases):
                    assert name == "kyphoimg.errors", f"{name}.{node.name} belongs in errors.py"
    exported = {getattr(errors, n) for n in errors.__all__}
    defined = {
        obj
        for obj in vars(errors).values()
        if isinstance(obj, type)
        and issubclass(obj, (Exception, Warning))
        and obj.__module__ == "kyphoimg.errors"
    }
    assert defined <= exported, defined - exported


# -- docstrings -------------------------------------------------------------------------
API_MODULES = [
    "kyphoimg",
    "kyphoimg.agreement",
    "kyphoimg.assist",
    "kyphoimg.batch",
    "kyphoimg.calibration",
    "kyphoimg.coronal",
    "kyphoimg.dicom",
    "kyphoimg.dictionary",
    "kyphoimg.effort",
    "kyphoimg.errors",
    "kyphoimg.export",
    "kyphoimg.figure",
    "kyphoimg.geometry",
    "kyphoimg.landmarks",
    "kyphoimg.longitudinal",
    "kyphoimg.measure",
    "kyphoimg.sample",
    "kyphoimg.sr",
    "kyphoimg.stats",
    "kyphoimg.stats.render",
    "kyphoimg.study",
    "kyphoimg.studyfile",
    "kyphoimg.timepoints",
]


def _section(doc: str, *titles: str) -> bool:
    return any(re.search(rf"^\s*{t}\s*\n\s*-{{3,}}", doc, re.M) for t in titles)


def _doc_problems(qualname: str, obj: object) -> list[str]:
    doc = inspect.getdoc(obj) or ""
    if not doc.strip():
        return [f"{qualname}: no docstring"]
    if inspect.isclass(obj):
        if issubclass(obj, BaseException):
            return []
        init = obj.__dict__.get("__init__") or getattr(obj, "__dataclass_fields__", None)
        if init is not None and not _section(doc, "Parameters", "Attributes"):
            try:
                params = [p for p in inspect.signature(obj).parameters if p not in ("self",)]
            except (TypeError, ValueError):
                params = []
            if params:
                return [f"{qualname}: class without a Parameters or Attributes section"]
        return []
    if not callable(obj):
        return []
    try:
        sig = inspect.signature(obj)
    except (TypeError, ValueError):
        return []
    out = []
    params = [p for p in sig.parameters.values() if p.name not in ("self", "cls")]
    if params and not _section(doc, "Parameters"):
        out.append(f"{qualname}: takes {', '.join(p.name for p in params)} but has no Parameters")
    ret = sig.return_annotation
    if ret not in (inspect.Signature.empty, None, "None") and not _section(
        doc, "Returns", "Yields"
    ):
        out.append(f"{qualname}: returns {ret} but has no Returns")
    return out


def test_every_exported_name_has_a_numpydoc_docstring():
    problems = []
    for module_name in API_MODULES:
        module = importlib.import_module(module_name)
        for name in getattr(module, "__all__", []):
            obj = getattr(module, name)
            if inspect.ismodule(obj) or not (inspect.isclass(obj) or inspect.isroutine(obj)):
                continue
            problems += _doc_problems(f"{module_name}.{name}", obj)
    problems = sorted(set(problems))
    assert not problems, f"{len(problems)} docstring gaps:\n" + "\n".join(problems)


# -- one home for each rule ----------------------------------------------------------------
def _all_sources() -> dict[str, Path]:
    out: dict[str, Path] = {}
    for package, folder in PACKAGES.items():
        out.update(_modules(package, folder))
    return out


def test_only_the_study_file_module_parses_toml():
    """One parser for study.toml: kyphoimg/studyfile.py (issue 19)."""
    bad = []
    for name, path in _all_sources().items():
        if name == "kyphoimg.studyfile":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            imported = []
            if isinstance(node, ast.Import):
                imported = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                imported = [node.module or ""]
            if any(m.partition(".")[0] in ("tomllib", "tomli", "toml") for m in imported):
                bad.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert not bad, "TOML parsed outside kyphoimg/studyfile.py: " + ", ".join(bad)


def test_no_command_line_option_is_declared_twice():
    """Each option string is declared by one add_argument call (shared ones in cli/_options)."""
    seen: dict[str, str] = {}
    twice = []
    for path in sorted((PACKAGES["kyphoimg"] / "cli").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not (
                isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "add_argument"
            ):
                continue
            for arg in node.args:
                if isinstance(arg, ast.Constant) and str(arg.value).startswith("-"):
                    where = f"{path.relative_to(ROOT)}:{node.lineno}"
                    if arg.value in seen:
                        twice.append(f"{arg.value} at {seen[arg.value]} and {where}")
                    seen[arg.value] = where
    assert "--rater" in seen  # the check sees the shared options
    assert "--timepoints" in seen
    assert not twice, "\n".join(twice)


def test_no_literal_timepoint_tuple_outside_its_module():
    """("pre", "post", "last") lives in kyphoimg/timepoints.py as TIMEPOINTS."""
    bad = []
    for name, path in _all_sources().items():
        if name == "kyphoimg.timepoints":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Tuple | ast.List):
                values = [getattr(e, "value", None) for e in node.elts]
                if values == ["pre", "post", "last"]:
                    bad.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert not bad, "use kyphoimg.timepoints.TIMEPOINTS at: " + ", ".join(bad)


def test_the_plugin_reader_takes_the_film_names_the_core_reads():
    """One list of film suffixes: kyphoimg.dicom.FILM_SUFFIXES, declared again only in the
    npe2 manifest (YAML cannot import it), which must match it in both cases."""
    import re

    from kyphoimg.dicom import FILM_SUFFIXES

    manifest = ROOT / "plugins" / "napari-kyphoimg" / "src" / "napari_kyphoimg" / "napari.yaml"
    patterns = re.search(r"filename_patterns: \[(.*?)\]", manifest.read_text(encoding="utf-8"))
    assert patterns is not None
    declared = {p.strip().strip('"') for p in patterns.group(1).split(",")}
    expected = {f"*{s}" for s in FILM_SUFFIXES} | {f"*{s.upper()}" for s in FILM_SUFFIXES}
    assert declared == expected
    literal = re.compile(r"""\(\s*["']\.dcm["'],\s*["']\.dicom["']""")
    copies = [
        str(p.relative_to(ROOT))
        for p in (ROOT / "kyphoimg").rglob("*.py")
        if literal.search(p.read_text(encoding="utf-8")) and p.name != "_scan.py"
    ]
    assert not copies, copies


def _functions(tree: ast.AST) -> list[ast.FunctionDef | ast.AsyncFunctionDef]:
    return [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)]


def _called(node: ast.AST) -> set[str]:
    """The names (or attribute names) a piece of code calls."""
    out = set()
    for n in ast.walk(node):
        if isinstance(n, ast.Call):
            f = n.func
            out.add(f.attr if isinstance(f, ast.Attribute) else getattr(f, "id", ""))
    return out


#: pydicom's raw element access: what a function reading a DICOM element's text needs.
_DICOM_ELEMENT_ACCESS = {"get_item", "tag_for_keyword", "RawDataElement"}


def test_dicom_element_text_is_read_only_in_the_dicom_package():
    """One reader of a DICOM element's stored text, kyphoimg/dicom/_scan._raw_text (issue 19):
    nothing outside kyphoimg/dicom/ reaches into elements (get_item, tag_for_keyword,
    RawDataElement); the calibration of a dataset is kyphoimg.dicom.calibration_from_dataset."""
    bad = []
    for name, path in _all_sources().items():
        if name.startswith("kyphoimg.dicom"):
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for fn in _functions(tree):
            used = _called(fn) | {n.id for n in ast.walk(fn) if isinstance(n, ast.Name)}
            if used & _DICOM_ELEMENT_ACCESS:
                bad.append(f"{path.relative_to(ROOT)}:{fn.lineno} {fn.name}")
    assert not bad, "DICOM element text read outside kyphoimg/dicom/: " + ", ".join(bad)
    from kyphoimg.calibration import Calibration

    assert not hasattr(Calibration, "from_dataset")


def test_one_profile_likelihood_search():
    """The bracket + brentq search of a profile-likelihood limit: stats/_profile.py only."""
    sites = []
    for name, path in _all_sources().items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        sites += [
            f"{name}:{n.lineno}"
            for n in ast.walk(tree)
            if isinstance(n, ast.Call)
            and getattr(n.func, "attr", getattr(n.func, "id", "")) == "brentq"
        ]
    assert len(sites) == 1, sites
    assert sites[0].startswith("kyphoimg.stats._profile:"), sites


def test_reading_a_film_and_pairing_its_landmarks_has_one_home():
    """read_radiograph then pair_with_film: kyphoimg.study.read_paired_film, nowhere else."""
    bad = []
    for name, path in _all_sources().items():
        if name == "kyphoimg.study":
            continue
        for fn in _functions(ast.parse(path.read_text(encoding="utf-8"))):
            if {"read_radiograph", "pair_with_film"} <= _called(fn):
                bad.append(f"{path.relative_to(ROOT)}:{fn.lineno} {fn.name}")
    assert not bad, "use kyphoimg.study.read_paired_film at: " + ", ".join(bad)


def test_commands_write_their_tables_through_one_helper():
    """The 'write each table, print wrote PATH' loop lives in cli/_common.write_tables."""
    bad = []
    for path in sorted((PACKAGES["kyphoimg"] / "cli").glob("*.py")):
        if path.name == "_common.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.For) and "write_table" in _called(node.iter):
                bad.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert not bad, "use cli._common.write_tables / finish_tables at: " + ", ".join(bad)


def test_no_benchmark_repeats_another_ones_function():
    """Helpers two benchmarks need live once (benchmarks/_aasce.py for the AASCE ones)."""
    seen: dict[str, str] = {}
    twice = []
    for path in sorted((ROOT / "benchmarks").glob("*.py")):
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if not isinstance(node, ast.FunctionDef) or node.name == "run":
                continue
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                body = body[1:]  # the docstring
            key = ast.dump(ast.Module(body=body, type_ignores=[]))
            where = f"{path.name}:{node.name}"
            if key in seen:
                twice.append(f"{seen[key]} and {where}")
            seen.setdefault(key, where)
    assert not twice, "the same function in two benchmarks: " + ", ".join(twice)

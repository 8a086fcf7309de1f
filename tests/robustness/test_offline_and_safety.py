"""Offline and inert: no network, no AWS credentials or AWS_* variables, nothing executed.

The scans here run in-process over fixtures/ and the shared corpus with the network disabled and
every file open and AWS_* lookup recorded. The source checks read src/ with `ast` rather than grep,
so that a docstring mentioning eval( does not trip them and `from os import system` does.
"""

from __future__ import annotations

import ast
import builtins
import io
import json
import os
import pathlib
import socket
import sys
from collections.abc import Iterator, MutableMapping
from pathlib import Path
from typing import Any

import pytest
import yaml

import eks_sg_policy
from eks_sg_policy import cli
from eks_sg_policy.api import Report, ScanOptions, scan
from eks_sg_policy.config import load_config
from eks_sg_policy.errors import ScanError
from eks_sg_policy.policies import builtin_policy_dir, load_policies
from eks_sg_policy.report import FORMATS

from ._support import CORPUS, FIXTURES, REPO

PACKAGE = Path(eks_sg_policy.__file__).resolve().parent
SOURCES = sorted((REPO / "src" / "eks_sg_policy").rglob("*.py"))


def _scan_roots() -> list[Path]:
    return [FIXTURES, *([CORPUS] if CORPUS.is_dir() else [])]


def _full_scans() -> list[Report]:
    """fixtures/ and the corpus, each one scan, rendered in every format."""
    reports = [scan([str(root)], ScanOptions()) for root in _scan_roots()]
    for report in reports:
        for render in FORMATS.values():
            assert render(report, True)
    return reports


# --- no network ---------------------------------------------------------------------------------


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    attempts: list[str] = []

    def refuse(*args: object, **kwargs: object) -> Any:
        attempts.append(f"{args!r} {kwargs!r}")
        raise OSError("network access is disabled in this test")

    monkeypatch.setattr(socket, "socket", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    return attempts


def test_full_scans_run_with_the_network_disabled(no_network: list[str], tmp_path: Path) -> None:
    reports = _full_scans()
    assert reports[0].findings and reports[0].clusters > 0, "the fixtures were really scanned"
    if CORPUS.is_dir():
        assert len(reports[1].files) > 50, "the corpus was really scanned"
    out = tmp_path / "report.sarif"
    assert cli.main(["check", str(FIXTURES), "--format", "sarif", "--output", str(out)]) == 1
    assert json.loads(out.read_text())["runs"]
    assert no_network == [], "something tried to open a socket or resolve a name"


# --- no AWS environment, no credentials files ---------------------------------------------------


class RecordingEnviron(MutableMapping[str, str]):
    """os.environ that remembers every key looked up."""

    def __init__(self, data: dict[str, str]) -> None:
        self._data = data
        self.read: list[str] = []

    def __getitem__(self, key: str) -> str:
        self.read.append(key)
        return self._data[key]

    def __contains__(self, key: object) -> bool:
        self.read.append(str(key))
        return key in self._data

    def __setitem__(self, key: str, value: str) -> None:
        self._data[key] = value

    def __delitem__(self, key: str) -> None:
        del self._data[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def copy(self) -> dict[str, str]:
        return dict(self._data)


@pytest.fixture
def aws_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A home directory with AWS credentials and config, and the AWS_* variables that point at them."""
    home = tmp_path / "home"
    (home / ".aws").mkdir(parents=True)
    (home / ".aws" / "credentials").write_text("[default]\naws_access_key_id = AKIAEXAMPLEEXAMPLE00\n")
    (home / ".aws" / "config").write_text("[default]\nregion = eu-west-1\n")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("AWS_PROFILE", "default")
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(home / ".aws" / "credentials"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(home / ".aws" / "config"))
    return home


@pytest.fixture
def opened(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """Every path opened through open(), io.open() or Path.open() while the test runs."""
    paths: list[Path] = []
    real_open, real_path_open = builtins.open, pathlib.Path.open

    def recording_open(file: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(file, str | bytes | os.PathLike):
            paths.append(Path(os.fsdecode(file)).absolute())
        return real_open(file, *args, **kwargs)

    def recording_path_open(self: pathlib.Path, *args: Any, **kwargs: Any) -> Any:
        paths.append(self.absolute())
        return real_path_open(self, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", recording_open)
    monkeypatch.setattr(io, "open", recording_open)
    monkeypatch.setattr(pathlib.Path, "open", recording_path_open)
    return paths


def test_no_aws_variable_is_read_and_no_credentials_file_is_opened(
    aws_home: Path, opened: list[Path], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)  # the github format would append to the CI job's summary
    environ = RecordingEnviron(dict(os.environ))
    monkeypatch.setattr(os, "environ", environ)
    monkeypatch.chdir(tmp_path)
    _full_scans()
    assert cli.main(["check", str(FIXTURES), "--format", "github", "--output", str(tmp_path / "out.txt")]) == 1
    aws_reads = sorted({key for key in environ.read if key.upper().startswith("AWS_")})
    assert aws_reads == [], f"AWS_* variables looked up during a scan: {aws_reads}"
    credentials = [p for p in opened if p.is_relative_to(aws_home) or ".aws" in p.parts]
    assert credentials == [], f"AWS files opened: {credentials}"
    allowed = [*(r.resolve() for r in _scan_roots()), PACKAGE, tmp_path, *(Path(p).resolve() for p in _prefixes())]
    foreign = sorted(
        {p for p in opened if not any(p.resolve().is_relative_to(root) for root in allowed) and not _config_lookup(p)}
    )
    assert foreign == [], f"files opened outside the inputs, the package and Python itself: {foreign}"


def _config_lookup(path: Path) -> bool:
    """Configuration discovery reads pyproject.toml / .eks-sg-policy.y(a)ml in the scanned paths' ancestors."""
    ancestors = {a for root in _scan_roots() for a in root.resolve().parents}
    return (
        path.name in ("pyproject.toml", ".eks-sg-policy.yaml", ".eks-sg-policy.yml")
        and path.resolve().parent in ancestors
    )


def _prefixes() -> set[str]:
    return {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix}


# --- the source: no network client, nothing that runs code --------------------------------------

NETWORK_MODULES = (
    "requests", "urllib.request", "urllib3", "http.client", "http.server", "httpx", "aiohttp", "socket",
    "boto3", "botocore", "aiobotocore", "ftplib", "smtplib", "xmlrpc", "websocket", "websockets",
)  # fmt: skip
EXECUTING_MODULES = ("subprocess", "pickle", "cPickle", "_pickle", "marshal", "shelve", "dill", "ctypes", "pty")
EXECUTING_BUILTINS = {"eval", "exec", "compile", "__import__", "breakpoint"}
EXECUTING_OS = {"system", "popen", "fork", "forkpty", "startfile", "posix_spawn", "posix_spawnp"}
EXECUTING_OS_PREFIXES = ("exec", "spawn")
UNSAFE_YAML = {
    "Loader", "FullLoader", "UnsafeLoader", "CLoader", "CFullLoader", "CUnsafeLoader",
    "full_load", "full_load_all", "unsafe_load", "unsafe_load_all",
}  # fmt: skip
SAFE_LOADERS = {"SafeLoader", "CSafeLoader", "BaseLoader", "CBaseLoader"}


def _banned_module(name: str) -> str | None:
    for banned in (*NETWORK_MODULES, *EXECUTING_MODULES):
        if name == banned or name.startswith(banned + "."):
            return banned
    return "urllib (use urllib.parse only)" if name == "urllib" else None


def _problems(path: Path) -> Iterator[str]:
    return _problems_in(path.read_text(encoding="utf-8"), str(path.relative_to(REPO)))


def _problems_in(text: str, name: str) -> Iterator[str]:
    tree = ast.parse(text, filename=name)
    safe_names = _safe_loader_names(tree)
    for node in ast.walk(tree):
        where = f"{name}:{getattr(node, 'lineno', 0)}"
        if isinstance(node, ast.Import):
            for alias in node.names:
                if banned := _banned_module(alias.name):
                    yield f"{where}: import {alias.name} ({banned})"
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module, *(f"{node.module}.{a.name}" for a in node.names)]
            if found := next((b for b in map(_banned_module, names) if b), None):
                yield f"{where}: from {node.module} import ... ({found})"
            if node.module == "os" and any(_launches(a.name) for a in node.names):
                yield f"{where}: from os import a process launcher"
            if node.module == "yaml" and any(a.name in UNSAFE_YAML for a in node.names):
                yield f"{where}: from yaml import an unsafe loader"
        elif isinstance(node, ast.Name) and node.id in EXECUTING_BUILTINS and isinstance(node.ctx, ast.Load):
            yield f"{where}: {node.id}"
        elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            if node.value.id == "os" and _launches(node.attr):
                yield f"{where}: os.{node.attr}"
            if node.value.id == "yaml" and node.attr in UNSAFE_YAML:
                yield f"{where}: yaml.{node.attr}"
        if isinstance(node, ast.Call) and _is_yaml_load(node.func):
            loader = next((k.value for k in node.keywords if k.arg == "Loader"), None)
            if loader is None and len(node.args) > 1:
                loader = node.args[1]
            if not _is_safe_loader(loader, safe_names):
                yield f"{where}: yaml.load without a safe loader"
        if isinstance(node, ast.Call) and _is_import_module(node.func) and not _package_local(node):
            yield f"{where}: import_module of something other than this package's own modules"


def _launches(name: str) -> bool:
    return name in EXECUTING_OS or name.startswith(EXECUTING_OS_PREFIXES)


def _is_safe_loader(node: ast.expr | None, safe_names: set[str]) -> bool:
    if isinstance(node, ast.Attribute):
        return node.attr in SAFE_LOADERS
    return isinstance(node, ast.Name) and node.id in safe_names


def _safe_loader_names(tree: ast.Module) -> set[str]:
    """Module-level names every assignment of which uses safe loaders only (`X = yaml.CSafeLoader if
    yaml.__with_libyaml__ else yaml.SafeLoader`)."""
    values: dict[str, list[ast.expr]] = {}
    for statement in tree.body:
        if isinstance(statement, ast.Assign):
            pairs = [(target, statement.value) for target in statement.targets]
        elif isinstance(statement, ast.AnnAssign) and statement.value is not None:
            pairs = [(statement.target, statement.value)]
        else:
            continue
        for target, value in pairs:
            if isinstance(target, ast.Name):
                values.setdefault(target.id, []).append(value)
    safe = set()
    for name, assigned in values.items():
        loaders = [
            n for value in assigned for n in ast.walk(value) if isinstance(n, ast.Attribute) and "Loader" in n.attr
        ]
        if loaders and all(n.attr in SAFE_LOADERS for n in loaders):
            safe.add(name)
    return safe


def _is_import_module(func: ast.expr) -> bool:
    return (isinstance(func, ast.Name) and func.id == "import_module") or (
        isinstance(func, ast.Attribute) and func.attr == "import_module"
    )


def _package_local(call: ast.Call) -> bool:
    """`import_module(f"{__name__}.x")`, `import_module(".x", __package__)` or a literal eks_sg_policy.x."""
    if not call.args:
        return False
    first = call.args[0]
    if isinstance(first, ast.JoinedStr) and first.values:
        head = first.values[0]
        return isinstance(head, ast.FormattedValue) and isinstance(head.value, ast.Name) and head.value.id == "__name__"
    if isinstance(first, ast.Constant) and isinstance(first.value, str):
        return first.value.startswith((".", "eks_sg_policy."))
    return False


def _is_yaml_load(func: ast.expr) -> bool:
    return (
        isinstance(func, ast.Attribute)
        and func.attr in ("load", "load_all")
        and isinstance(func.value, ast.Name)
        and func.value.id == "yaml"
    )


def test_the_source_tree_is_found() -> None:
    assert len(SOURCES) > 30 and any(p.name == "cfn_yaml.py" for p in SOURCES)


def test_no_module_imports_a_network_client_or_runs_code() -> None:
    problems = [problem for path in SOURCES for problem in _problems(path)]
    assert problems == [], "\n".join(problems)


@pytest.mark.parametrize(
    "snippet",
    [
        "import requests",
        "from urllib.request import urlopen",
        "import http.client as h",
        "from botocore import session",
        "import subprocess",
        "import pickle",
        "x = eval('1')",
        "exec('x = 1')",
        "code = compile('1', 'f', 'eval')",
        "import os\nos.system('true')",
        "from os import popen",
        "import yaml\nyaml.load(text)",
        "import yaml\nyaml.load(text, Loader=yaml.Loader)",
        "import yaml\nyaml.unsafe_load(text)",
        "import yaml\nL = yaml.SafeLoader if x else yaml.FullLoader\nyaml.load(text, Loader=L)",
        "from importlib import import_module\nimport_module('requests')",
        "import importlib\nimportlib.import_module(name)",
    ],
)
def test_the_source_checks_catch_what_they_look_for(snippet: str) -> None:
    assert list(_problems_in(snippet + "\n", "probe.py")), snippet


# --- YAML is data: templates, policy tables, configuration --------------------------------------

STANDARD_TAGS = {f"tag:yaml.org,2002:{t}" for t in ("str", "int", "float", "bool", "null", "map", "seq", "timestamp")}


def _tags(node: yaml.Node) -> Iterator[str]:
    yield node.tag
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            yield from _tags(key)
            yield from _tags(value)
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            yield from _tags(item)


def test_shipped_policy_tables_are_plain_yaml_data() -> None:
    tables = sorted(builtin_policy_dir().glob("*.yaml"))
    assert len(tables) >= 5
    for table in tables:
        text = table.read_text(encoding="utf-8")
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        assert node is not None
        assert set(_tags(node)) <= STANDARD_TAGS, f"{table.name}: tags other than plain data"


PYTHON_TAG = "!!python/object/apply:os.mkdir [{canary}]"


def test_a_policy_table_with_a_python_tag_is_refused_and_never_runs(tmp_path: Path) -> None:
    canary = tmp_path / "created-by-a-policy"
    (tmp_path / "policies").mkdir()
    (tmp_path / "policies" / "evil.yaml").write_text(
        "table: Evil\nedition: current\nurl: https://example.com\nrows: "
        + PYTHON_TAG.format(canary=json.dumps(str(canary)))
        + "\n"
    )
    with pytest.raises(ScanError) as caught:
        load_policies([tmp_path / "policies"])
    assert caught.value.file.endswith("evil.yaml") and caught.value.line == 4
    assert not canary.exists()


def test_a_configuration_with_a_python_tag_is_refused_and_never_runs(tmp_path: Path) -> None:
    canary = tmp_path / "created-by-a-config"
    config = tmp_path / ".eks-sg-policy.yaml"
    config.write_text("strict: " + PYTHON_TAG.format(canary=json.dumps(str(canary))) + "\n")
    with pytest.raises(ScanError) as caught:
        load_config(config)
    assert caught.value.line == 1
    assert not canary.exists()

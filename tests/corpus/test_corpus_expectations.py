"""The shared corpus, reviewed by hand: each unit's scan must give exactly the verdict in expectations.yaml.

A unit is one scan (files and directories given together, with options). The verdict is the multiset of
(policy, blocks, status, file, line) plus the exit code, the files that must be skipped and the files that
must be reported unreadable. Units where the tool is known to be wrong are listed under
`known_disagreements` with the exact difference: they xfail with the explanation while the difference is
the recorded one, and fail once the tool agrees (remove the entry then) or differs in another way.
"""

from __future__ import annotations

import csv
import os
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import yaml

from eks_sg_policy.api import Report, ScanOptions, scan
from eks_sg_policy.findings import Finding
from eks_sg_policy.policies import load_policies

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
CORPUS = REPO.parent / "shared" / "corpus"
EXPECTATIONS_FILE = HERE / "expectations.yaml"
MANIFEST_FILES = 80  # shared/corpus/MANIFEST.md, "Counts": 80 files from 12 repositories
IAC_SUFFIXES = (".yaml", ".yml", ".json", ".template", ".tf", ".tf.json")
STATUSES = {"violated", "unverified"}
VERIFICATION = "EKS900"
UNIT_KEYS = {"name", "paths", "options", "exit_code", "summary", "review_note", "skipped", "errors", "findings"}
FINDING_KEYS = {"policy", "blocks", "status", "file", "line", "reason", "severity"}
OPTION_KEYS = {"params", "variables", "roles", "stack_names"}

needs_corpus = pytest.mark.skipif(
    not CORPUS.is_dir(),
    reason=f"shared corpus not found at <repo root>/../shared/corpus ({CORPUS}); the corpus tests need it",
)

Key = tuple[str, str | None, str, str, int]  # (policy, blocks, status, file, line)


def _load_expectations() -> dict[str, Any]:
    with EXPECTATIONS_FILE.open(encoding="utf-8") as stream:
        document = yaml.safe_load(stream)
    assert isinstance(document, dict), f"{EXPECTATIONS_FILE}: not a mapping"
    return document


EXPECTATIONS = _load_expectations()
UNITS: list[dict[str, Any]] = EXPECTATIONS["units"]
DISAGREEMENTS: dict[str, dict[str, Any]] = {d["unit"]: d for d in EXPECTATIONS.get("known_disagreements") or []}


def key_of(entry: Mapping[str, Any]) -> Key:
    return (entry["policy"], entry.get("blocks"), entry["status"], entry["file"], int(entry["line"]))


def finding_key(finding: Finding) -> Key:
    return (finding.policy, finding.blocks, finding.status, finding.file, finding.line)


def show(keys: Iterable[Key]) -> str:
    lines = []
    for policy, blocks, status, file, line in sorted(keys, key=lambda k: (k[3], k[4], k[0], k[1] or "")):
        what = f"{policy}({blocks})" if blocks else policy
        lines.append(f"    {file}:{line} {what} {status}")
    return "\n".join(lines) or "    (none)"


def scan_options(unit: Mapping[str, Any]) -> ScanOptions:
    options = unit.get("options") or {}
    return ScanOptions(
        params={k: str(v) for k, v in (options.get("params") or {}).items()},
        variables={k: str(v) for k, v in (options.get("variables") or {}).items()},
        roles=dict(options.get("roles") or {}),
        stack_names=dict(options.get("stack_names") or {}),
    )


@contextmanager
def in_corpus() -> Iterator[None]:
    """Scans run from the corpus root, so paths in the report are relative to it."""
    previous = Path.cwd()
    os.chdir(CORPUS)
    try:
        yield
    finally:
        os.chdir(previous)


_REPORTS: dict[str, Report] = {}


def report_of(unit: Mapping[str, Any]) -> Report:
    name = unit["name"]
    if name not in _REPORTS:
        with in_corpus():
            _REPORTS[name] = scan([str(p) for p in unit["paths"]], scan_options(unit))
    return _REPORTS[name]


def corpus_files() -> list[str]:
    """The corpus files named by manifest.tsv (repo, upstream path, commit, corpus path)."""
    with (CORPUS / "manifest.tsv").open(encoding="utf-8", newline="") as stream:
        rows = [row for row in csv.reader(stream, delimiter="\t") if row]
    return [row[3] for row in rows]


def under(path: str, files: Iterable[str]) -> set[str]:
    """The files equal to `path` or inside the directory `path`."""
    prefix = path.rstrip("/") + "/"
    return {f for f in files if f == path or f.startswith(prefix)}


def on_disk(path: str) -> set[str]:
    root = CORPUS / path
    if root.is_file():
        return {path}
    return {p.relative_to(CORPUS).as_posix() for p in root.rglob("*") if p.is_file()}


# -- the expectations file itself (no corpus needed) ------------------------------------------------------


def test_expectations_are_well_formed() -> None:
    policies = {p.id: p.severity for p in load_policies(()).policies}
    names = [u["name"] for u in UNITS]
    assert len(names) == len(set(names)), "unit names must be unique"
    for unit in UNITS:
        where = f"unit {unit['name']}"
        assert set(unit) <= UNIT_KEYS, f"{where}: unknown keys {set(unit) - UNIT_KEYS}"
        assert unit["paths"] and all(isinstance(p, str) and not p.startswith("/") for p in unit["paths"]), where
        assert set(unit.get("options") or {}) <= OPTION_KEYS, f"{where}: unknown options"
        assert unit["exit_code"] in (0, 1, 2), where
        assert isinstance(unit.get("summary"), str) and unit["summary"].strip(), f"{where}: summary missing"
        errors, findings = unit.get("errors") or [], unit["findings"]
        for entry in findings:
            assert set(entry) <= FINDING_KEYS, f"{where}: unknown finding keys {set(entry) - FINDING_KEYS}"
            assert entry["policy"] in policies, f"{where}: unknown policy {entry['policy']}"
            assert entry["status"] in STATUSES, where
            assert (entry["status"] == "unverified") == (entry["policy"] == VERIFICATION), f"{where}: {entry}"
            assert "blocks" not in entry or entry["blocks"] in policies, f"{where}: blocks must name a policy"
            assert isinstance(entry["line"], int) and entry["line"] > 0, f"{where}: {entry}"
            reason = entry.get("reason")
            assert isinstance(reason, str) and reason.strip() and "\n" not in reason, f"{where}: one-line reason"
        # the exit code the verdict implies: 2 when a file cannot be read, else 1 on an error-level violation
        severities = [e.get("severity", policies[e["policy"]]) for e in findings if e["status"] == "violated"]
        implied = 2 if errors else 1 if "error" in severities else 0
        assert unit["exit_code"] == implied, f"{where}: exit_code {unit['exit_code']} but the findings imply {implied}"
    by_name = {u["name"]: u for u in UNITS}
    for name, entry in DISAGREEMENTS.items():
        assert name in by_name, f"known_disagreements names unknown unit {name}"
        assert entry.get("explanation", "").strip() and entry.get("repro", "").strip(), name
        expected = Counter(key_of(f) for f in by_name[name]["findings"])
        missing = Counter(key_of(f) for f in entry.get("missing") or [])
        extra = Counter(key_of(f) for f in entry.get("extra") or [])
        assert missing or extra, f"{name}: a disagreement names what differs"
        assert not missing - expected, f"{name}: 'missing' entries must be part of the unit's verdict"
        assert not extra & expected, f"{name}: 'extra' entries must not be part of the unit's verdict"


# -- each unit -----------------------------------------------------------------------------------------------


@needs_corpus
@pytest.mark.parametrize("unit", UNITS, ids=[u["name"] for u in UNITS])
def test_unit_matches_the_review(unit: dict[str, Any]) -> None:
    report = report_of(unit)
    name = unit["name"]

    error_files = sorted({e.file for e in report.errors})
    assert error_files == sorted(unit.get("errors") or []), f"{name}: unreadable files {error_files}"
    assert report.exit_code() == unit["exit_code"], f"{name}: exit code {report.exit_code()}"

    loaded = set(report.files)
    skipped = set(unit.get("skipped") or [])
    assert not skipped & loaded, f"{name}: loaded files that must be skipped: {sorted(skipped & loaded)}"
    if unit["exit_code"] != 2:
        wanted = {f for p in unit["paths"] for f in on_disk(p) if f.endswith(IAC_SUFFIXES)} - skipped
        assert wanted <= loaded, f"{name}: files not loaded: {sorted(wanted - loaded)}"

    expected = Counter(key_of(f) for f in unit["findings"])
    actual = Counter(finding_key(f) for f in report.findings)
    missing, extra = expected - actual, actual - expected
    disagreement = DISAGREEMENTS.get(name)
    if disagreement is None:
        assert not missing and not extra, (
            f"{name}: the tool and the review disagree\n  expected, not reported:\n{show(missing.elements())}"
            f"\n  reported, not expected:\n{show(extra.elements())}"
        )
        return
    recorded_missing = Counter(key_of(f) for f in disagreement.get("missing") or [])
    recorded_extra = Counter(key_of(f) for f in disagreement.get("extra") or [])
    if not missing and not extra:
        pytest.fail(f"{name}: the tool now agrees with the review; remove the unit from known_disagreements")
    if missing == recorded_missing and extra == recorded_extra:
        pytest.xfail(f"known disagreement: {' '.join(disagreement['explanation'].split())}")
    pytest.fail(
        f"{name}: the disagreement changed\n  expected, not reported:\n{show(missing.elements())}"
        f"\n  reported, not expected:\n{show(extra.elements())}\n  (recorded: missing\n"
        f"{show(recorded_missing.elements())}\n   extra\n{show(recorded_extra.elements())})"
    )


# -- coverage and totals ---------------------------------------------------------------------------------------


@needs_corpus
def test_every_corpus_file_belongs_to_a_unit() -> None:
    files = corpus_files()
    assert len(files) == MANIFEST_FILES == len(set(files)), f"manifest.tsv lists {len(files)} files"
    assert all((CORPUS / f).is_file() for f in files), [f for f in files if not (CORPUS / f).is_file()]
    for unit in UNITS:
        for path in unit["paths"]:
            assert (CORPUS / path).exists(), f"unit {unit['name']}: {path} is not in the corpus"
    covered = {f for unit in UNITS for path in unit["paths"] for f in under(path, files)}
    assert covered == set(files), f"files in no unit: {sorted(set(files) - covered)}"


def totals(units: Iterable[tuple[int, Iterable[Key]]], disagreements: int) -> list[str]:
    """The corpus totals, one line each, as written at the top of expectations.yaml."""
    exits: Counter[int] = Counter()
    by_policy: Counter[tuple[str, str]] = Counter()
    by_requirement: Counter[str] = Counter()
    count = 0
    for exit_code, keys in units:
        count += 1
        exits[exit_code] += 1
        for policy, blocks, status, _file, _line in keys:
            by_policy[(policy, status)] += 1
            if status == "unverified":
                by_requirement[blocks or "(not evaluated)"] += 1
    violated = sum(n for (_, status), n in by_policy.items() if status == "violated")
    unverified = sum(n for (_, status), n in by_policy.items() if status == "unverified")
    lines = [
        f"units: {count}",
        "exit codes: " + " ".join(f"{code}={exits[code]}" for code in sorted(exits)),
        f"findings: {violated + unverified} (violated {violated}, unverified {unverified})",
        *(f"{policy} {status}: {n}" for (policy, status), n in sorted(by_policy.items())),
        "EKS900 unverified by requirement: "
        + " ".join(
            f"{r}={n}" for r, n in sorted(by_requirement.items(), key=lambda kv: (kv[0].startswith("("), kv[0]))
        ),
        f"known disagreements: {disagreements} units",
    ]
    return lines


def header_totals() -> list[str]:
    lines = EXPECTATIONS_FILE.read_text(encoding="utf-8").splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("# TOTALS"))
    block: list[str] = []
    for line in lines[start + 1 :]:
        if not line.startswith("#   "):
            break
        block.append(line[4:])
    return block


def test_corpus_totals() -> None:
    review = totals(((u["exit_code"], [key_of(f) for f in u["findings"]]) for u in UNITS), len(DISAGREEMENTS))
    print("\ncorpus totals, review verdict:\n  " + "\n  ".join(review))
    assert header_totals() == review, (
        "the TOTALS comment at the top of expectations.yaml is stale; it should read:\n"
        + "\n".join(f"#   {line}" for line in review)
    )
    if not CORPUS.is_dir():
        return
    # what the tool reports, and that the known disagreements account for the whole difference
    tool_units = []
    explained = []
    for unit in UNITS:
        report = report_of(unit)
        actual = [finding_key(f) for f in report.findings]
        tool_units.append((report.exit_code(), actual))
        entry = DISAGREEMENTS.get(unit["name"], {})
        adjusted = Counter(actual) + Counter(key_of(f) for f in entry.get("missing") or [])
        adjusted -= Counter(key_of(f) for f in entry.get("extra") or [])
        explained.append((report.exit_code(), list(adjusted.elements())))
    tool = totals(tool_units, 0)
    print("corpus totals, tool:\n  " + "\n  ".join(tool[:-1]))
    assert totals(explained, len(DISAGREEMENTS)) == review, "the known disagreements do not explain the difference"

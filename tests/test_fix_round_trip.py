"""Round trip: paste every suggested fix into a copy of the fixture, scan again, and the
connectivity findings that carried them are gone while nothing new appears."""

from __future__ import annotations

import shutil
from collections import defaultdict
from pathlib import Path

import pytest

from eks_sg_policy.api import ScanOptions, scan
from eks_sg_policy.findings import Finding

ROOT = Path(__file__).resolve().parents[1]
CONNECTIVITY = {"EKS101", "EKS102", "EKS103", "EKS104", "EKS105", "EKS106", "EKS107"}


def _subjects() -> list[Path]:
    found = []
    for expected in sorted((ROOT / "fixtures").rglob("*.expected.yaml")):
        stem = expected.name[: -len(".expected.yaml")]
        for candidate in [expected.parent / stem, *(expected.parent / f"{stem}{s}" for s in (".yaml", ".json"))]:
            if candidate.exists():
                found.append(candidate)
                break
    return found


def _copy(subject: Path, tmp_path: Path) -> Path:
    target = tmp_path / subject.name
    if subject.is_dir():
        shutil.copytree(subject, target)
    else:
        shutil.copy(subject, target)
    return target


def _apply(findings: list[Finding]) -> int:
    """Insert every edit into its file (bottom up, so line numbers stay true); returns how many."""
    by_file: dict[str, dict[int, list[str]]] = defaultdict(lambda: defaultdict(list))
    for finding in findings:
        for edit in finding.edits:
            if edit.text not in by_file[edit.file][edit.line]:
                by_file[edit.file][edit.line].append(edit.text)
    for file, inserts in by_file.items():
        lines = Path(file).read_text("utf-8").splitlines(keepends=True)
        for line in sorted(inserts, reverse=True):
            lines[line - 1 : line - 1] = inserts[line]
        Path(file).write_text("".join(lines), "utf-8")
    return sum(len(v) for inserts in by_file.values() for v in inserts.values())


def _key(finding: Finding) -> tuple[str, str | None, str | None]:
    return (finding.policy, finding.node_group, finding.peer)


@pytest.mark.parametrize("subject", _subjects(), ids=lambda p: str(p.relative_to(ROOT / "fixtures")))
def test_pasting_the_fixes_closes_the_gaps_and_adds_nothing(subject: Path, tmp_path: Path) -> None:
    copy = _copy(subject, tmp_path)
    before = scan([str(copy)], ScanOptions())
    gaps = [f for f in before.findings if f.policy in CONNECTIVITY and f.status == "violated"]
    installed = [f for f in gaps if ".terraform" in Path(f.file).parts]
    assert not any(f.edits for f in installed), "no edit goes into a module `terraform init` installed"
    fixable = [f for f in gaps if f not in installed]
    if not fixable:
        pytest.skip("no connectivity finding to fix in the scanned code")
    assert all(f.edits for f in fixable), [f.message for f in fixable if not f.edits]
    assert _apply(fixable) > 0
    after = scan([str(copy)], ScanOptions())
    assert not after.errors, [str(e) for e in after.errors]
    remaining = {_key(f) for f in after.findings}
    assert not remaining & {_key(f) for f in fixable}, "\n".join(f.message for f in after.findings)
    new = remaining - {_key(f) for f in before.findings}
    assert not new, "\n".join(f.message for f in after.findings if _key(f) in new)

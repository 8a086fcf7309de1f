"""Every fixture under fixtures/ yields exactly the findings written beside it.

A fixture is a template (`NAME.yaml`, `NAME.json`) or a Terraform module directory (`NAME/`),
with `NAME.expected.yaml` next to it:

    about: what the fixture proves, and why (doc row)
    options: {params: {Name: value}, variables: {...}, roles: {...}, strict: false}
    findings:
      - {policy: EKS102, status: violated, line: 12}
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from eks_sg_policy.api import ScanOptions, scan

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "fixtures"


def _cases() -> list[Path]:
    return sorted(FIXTURES.rglob("*.expected.yaml"))


def _subject(expected: Path) -> Path:
    stem = expected.name[: -len(".expected.yaml")]
    for candidate in (
        expected.parent / stem,
        *(expected.parent / f"{stem}{s}" for s in (".yaml", ".yml", ".json", ".template")),
    ):
        if candidate.exists():
            return candidate
    raise AssertionError(f"{expected}: no fixture named {stem} beside it")


def _options(spec: dict[str, Any]) -> ScanOptions:
    opts = spec.get("options") or {}
    return ScanOptions(
        params=opts.get("params", {}),
        variables=opts.get("variables", {}),
        roles=opts.get("roles", {}),
        strict=opts.get("strict", False),
        edition=opts.get("edition", "all"),
    )


@pytest.mark.parametrize("expected", _cases(), ids=lambda p: str(p.relative_to(FIXTURES)))
def test_fixture_yields_exactly_its_expected_findings(expected: Path) -> None:
    spec = yaml.safe_load(expected.read_text("utf-8"))
    subject = _subject(expected)
    report = scan([str(subject)], _options(spec))
    assert not report.errors, [str(e) for e in report.errors]
    got = sorted((f.policy, f.status, f.line) for f in report.findings)
    want = sorted((f["policy"], f["status"], f["line"]) for f in spec.get("findings") or [])
    assert got == want, "\n".join(f"{f.file}:{f.line}: {f.policy} {f.status} {f.message}" for f in report.findings)


def test_every_policy_has_a_triggering_and_a_clean_fixture() -> None:
    from eks_sg_policy.policies import load_policies

    triggered: set[str] = set()
    for expected in _cases():
        spec = yaml.safe_load(expected.read_text("utf-8"))
        triggered.update(f["policy"] for f in spec.get("findings") or [])
    missing = sorted({p.id for p in load_policies().policies} - triggered)
    assert not missing, f"policies without a fixture that triggers them: {missing}"

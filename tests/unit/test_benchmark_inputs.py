"""The benchmark's generated inputs are templates CloudFormation would accept and that meet every
connectivity requirement: a benchmark that timed a refusal (exit 2) or a pile of gaps would measure
the wrong work."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from eks_sg_policy.api import scan

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
import generate

CONNECTIVITY = {f"EKS10{n}" for n in range(1, 8)}


@pytest.mark.parametrize("rules", [10, 250, 1000])
def test_a_generated_rules_template_is_read_and_connected(tmp_path: Path, rules: int) -> None:
    path = generate.write_rules_template(tmp_path, rules)
    report = scan([str(path)])
    assert report.errors == ()
    assert {f.policy for f in report.findings} & CONNECTIVITY == set()
    assert len(report.findings) == generate.node_groups_for(rules)  # each: EKS201, the cluster SG is not attached
    assert {f.policy for f in report.findings} == {"EKS201"}


def test_generated_small_templates_are_read(tmp_path: Path) -> None:
    paths = generate.write_templates(tmp_path, 3)
    report = scan([str(p) for p in paths])
    assert report.errors == ()
    assert {f.policy for f in report.findings} == {"EKS201"}

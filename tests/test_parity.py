"""Parity: one topology written in CloudFormation and in Terraform yields the same findings.

Each scenario under fixtures/parity/ is written twice, `NAME.yaml` (a CloudFormation template) and
`NAME/` (a Terraform module). Lines differ between the two; the multiset of (policy, status) must not.

The two halves describe the same deployed security groups, not the same text. CloudFormation gives a
group without `SecurityGroupEgress` the EC2 default egress (all traffic to 0.0.0.0/0 and ::/0) and
Terraform's `aws_security_group` removes it, so wherever the template relies on that default the
module writes the egress out. Likewise the module takes the VPC and subnets as variables, as the
template takes them as parameters, and keeps inline blocks and rule resources on separate directions
(mixing them is EKS305, a Terraform-only finding).

Equal findings can be equally empty. So every scenario also says which policies it must trigger (or
that it must be clean) and how many clusters and node groups each half must yield: a half that reads
nothing cannot pass for a half that finds nothing.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pytest

from eks_sg_policy.api import Report, ScanOptions, scan

ROOT = Path(__file__).resolve().parents[1]
PARITY = ROOT / "fixtures" / "parity"


@dataclass(frozen=True)
class Scenario:
    must_contain: frozenset[str]  # policy ids both halves must report; empty: both must be clean
    clusters: int
    node_groups: int


def _scenario(ids: str, clusters: int = 1, node_groups: int = 1) -> Scenario:
    return Scenario(frozenset(ids.split()), clusters, node_groups)


SCENARIOS: dict[str, Scenario] = {
    # The node group admits the control plane on TCP 443 only: no kubelet, no 1025-65535.
    "missing-kubelet-rule": _scenario("EKS102 EKS105"),
    # Rules split over rule resources; the node group's only egress is TCP 443 to 0.0.0.0/0.
    "split-rules": _scenario("EKS103 EKS106"),
    # A managed node group without a launch template carries the cluster security group: clean.
    "managed-nodegroup-cluster-sg": _scenario(""),
    # The launch template names a group without ingress rules (egress: the EC2 default, written out).
    "custom-lt-sg-without-rules": _scenario("EKS101 EKS102 EKS103 EKS104 EKS105 EKS106"),
    # Remote access with an SSH key and no source groups opens port 22 to the internet.
    "public-ssh-remote-access": _scenario("EKS301"),
    # The control-plane group admits TCP 443 from 0.0.0.0/0.
    "public-control-plane": _scenario("EKS302"),
    # The node group admits the control plane on every TCP port.
    "privileged-ports": _scenario("EKS303"),
    # Two clusters list one control-plane group.
    "shared-control-plane-sg": _scenario("EKS202", clusters=2, node_groups=0),
    # IPv6 cluster: one node group on the default egress (IPv4 and IPv6), one with IPv4 egress only.
    "ipv6-cluster": _scenario("EKS108", node_groups=2),
    # Hybrid nodes whose node network the control plane does not admit on TCP 443.
    "hybrid-nodes": _scenario("EKS109", node_groups=0),
    # Six groups in the cluster's VPC configuration.
    "too-many-groups": _scenario("EKS203", node_groups=0),
    # Self-managed nodes carry the cluster group and a node group tagged for the cluster.
    "double-tagged-nodes": _scenario("EKS204"),
    # Self-managed nodes without the cluster security group.
    "self-managed-without-cluster-sg": _scenario("EKS201"),
    # A rule resource without CIDR, group, self or prefix list.
    "rule-without-peer": _scenario("EKS306"),
    # A rule resource that names its source but no group to attach to.
    "rule-without-group": _scenario("EKS306"),
    # The upper end of a node port range is a parameter / variable without value.
    "unresolved-port": _scenario("EKS900"),
    # An explicit egress rule (TCP 80) is the node group's only way out besides itself.
    "egress-replaced": _scenario("EKS101 EKS107"),
}


def _halves(name: str) -> tuple[Path, Path]:
    return PARITY / f"{name}.yaml", PARITY / name


def _scan(path: Path) -> Report:
    report = scan([str(path)], ScanOptions())
    assert not report.errors, [str(e) for e in report.errors]
    return report


def _multiset(report: Report) -> Counter[tuple[str, str]]:
    return Counter((f.policy, f.status) for f in report.findings)


def _listing(report: Report) -> str:
    return "\n".join(f"  {f.file}:{f.line}: {f.policy} {f.status} {f.message}" for f in report.findings) or "  -"


def test_every_scenario_on_disk_is_listed_and_has_both_halves() -> None:
    templates = {p.stem for p in PARITY.glob("*.yaml")}
    modules = {p.name for p in PARITY.iterdir() if p.is_dir()}
    assert templates == modules == set(SCENARIOS), {
        "template without module": sorted(templates - modules),
        "module without template": sorted(modules - templates),
        "not listed in SCENARIOS": sorted((templates | modules) - set(SCENARIOS)),
        "listed but missing": sorted(set(SCENARIOS) - (templates & modules)),
    }


def test_there_are_enough_scenarios() -> None:
    assert len(SCENARIOS) >= 8


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_cloudformation_and_terraform_yield_the_same_findings(name: str) -> None:
    template, module = _halves(name)
    cfn, tf = _scan(template), _scan(module)
    assert _multiset(cfn) == _multiset(tf), (
        f"{name}: the halves disagree\nCloudFormation:\n{_listing(cfn)}\nTerraform:\n{_listing(tf)}"
    )


@pytest.mark.parametrize("half", ["cloudformation", "terraform"])
@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_each_half_reads_the_scenario_and_finds_what_it_is_about(name: str, half: str) -> None:
    scenario = SCENARIOS[name]
    template, module = _halves(name)
    report = _scan(template if half == "cloudformation" else module)
    assert (report.clusters, report.node_groups) == (scenario.clusters, scenario.node_groups)
    found = {f.policy for f in report.findings}
    if scenario.must_contain:
        missing = sorted(scenario.must_contain - found)
        assert not missing, f"{name} ({half}) does not report {missing}:\n{_listing(report)}"
    else:
        assert not found, f"{name} ({half}) is clean by design:\n{_listing(report)}"

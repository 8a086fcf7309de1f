"""The real templates of the shared corpus: every one loads, and a few facts come out exactly."""

from __future__ import annotations

from pathlib import Path

import pytest

from eks_sg_policy.loaders.base import LoadedUnit
from eks_sg_policy.loaders.cfn_yaml import decode
from eks_sg_policy.loaders.cloudformation import load_cloudformation
from eks_sg_policy.model import (
    CidrPeer,
    ClusterLink,
    Direction,
    NodeGroupKind,
    NoPeer,
    RuleForm,
    SgOrigin,
    SgPeer,
    Unresolved,
)
from eks_sg_policy.net import ALL_PORTS, INTERNET_V4, INTERNET_V6, PortRange

CORPUS = Path(__file__).resolve().parents[2] / ".." / "shared" / "corpus"
SUFFIXES = {".yaml", ".yml", ".json", ".template"}
FILES = sorted(str(p.relative_to(CORPUS)) for p in CORPUS.rglob("*") if p.suffix in SUFFIXES) if CORPUS.is_dir() else []
NOT_CLOUDFORMATION = {"eks-blueprints/patterns/agones-game-controller/helm_values/agones-values.yaml"}

pytestmark = pytest.mark.skipif(not CORPUS.is_dir(), reason=f"shared corpus not found at {CORPUS}")


def load(relative: str, params: dict[str, str] | None = None) -> LoadedUnit:
    loaded = load_cloudformation(relative, decode(relative, (CORPUS / relative).read_bytes()), params or {})
    assert loaded is not None
    return loaded


def test_the_corpus_has_its_cloudformation_files() -> None:
    assert len(FILES) == 16  # 5 CFN-JSON, 10 CFN-YAML and one helm values file (MANIFEST.md)


@pytest.mark.parametrize("relative", FILES)
def test_every_file_loads_or_is_not_cloudformation(relative: str) -> None:
    text = decode(relative, (CORPUS / relative).read_bytes())
    loaded = load_cloudformation(relative, text, {})
    if relative in NOT_CLOUDFORMATION:
        assert loaded is None
        return
    assert loaded is not None
    m = loaded.model
    named = {k for r in m.rules for k in (r.group, getattr(r.peer, "key", None)) if isinstance(k, str)}
    named |= {k for ng in m.node_groups for k in ng.launch_template_groups or () if isinstance(k, str)}
    named |= {k for c in m.clusters for k in (c.cluster_sg, *c.security_groups) if isinstance(k, str)}
    assert named <= {g.key for g in m.security_groups}, "every key a rule or node group names has an entry"
    assert all(r.provenance.line > 0 and r.provenance.file == relative for r in m.rules)


def test_amazon_eks_nodegroup_2022() -> None:
    path = "amazon-eks-ami@edb1d41/amazon-eks-nodegroup.yaml"
    m = load(path).model
    node_sg, control_plane = f"cfn:{path}:NodeSecurityGroup", f"param:{path}:ClusterControlPlaneSecurityGroup"
    [node_group] = m.node_groups
    assert (node_group.kind, node_group.name) == (NodeGroupKind.SELF_MANAGED, "NodeGroup")
    assert node_group.provenance.line == 267
    assert node_group.launch_template_groups == (node_sg,)
    assert node_group.launch_template is not None and node_group.launch_template.line == 230
    assert node_group.cluster.unresolved is not None
    assert node_group.cluster.unresolved.hint == "--param ClusterName=VALUE"
    groups = {g.key: g for g in m.security_groups}
    assert set(groups) == {node_sg, control_plane}
    assert (groups[control_plane].origin, groups[control_plane].provenance.line) == (SgOrigin.EXTERNAL, 39)
    assert (groups[node_sg].origin, groups[node_sg].provenance.line) == (SgOrigin.DECLARED, 155)
    rules = {(r.provenance.line, r.group, r.direction, r.protocol, r.ports, r.peer, r.form) for r in m.rules}
    tcp = "tcp"
    assert rules == {
        (155, node_sg, Direction.EGRESS, "all", ALL_PORTS, CidrPeer(INTERNET_V4), RuleForm.IMPLICIT),
        (155, node_sg, Direction.EGRESS, "all", ALL_PORTS, CidrPeer(INTERNET_V6), RuleForm.IMPLICIT),
        (164, node_sg, Direction.INGRESS, "all", ALL_PORTS, SgPeer(node_sg), RuleForm.STANDALONE),
        (175, control_plane, Direction.INGRESS, tcp, PortRange(443, 443), SgPeer(node_sg), RuleForm.STANDALONE),
        (186, control_plane, Direction.EGRESS, tcp, PortRange(1025, 65535), SgPeer(node_sg), RuleForm.STANDALONE),
        (197, control_plane, Direction.EGRESS, tcp, PortRange(443, 443), SgPeer(node_sg), RuleForm.STANDALONE),
        (208, node_sg, Direction.INGRESS, tcp, PortRange(1025, 65535), SgPeer(control_plane), RuleForm.STANDALONE),
        (219, node_sg, Direction.INGRESS, tcp, PortRange(443, 443), SgPeer(control_plane), RuleForm.STANDALONE),
    }
    assert len(m.rules) == 8


def test_amazon_eks_nodegroup_with_parameters_given() -> None:
    path = "amazon-eks-ami@edb1d41/amazon-eks-nodegroup.yaml"
    m = load(path, {"ClusterName": "blue", "ClusterControlPlaneSecurityGroup": "sg-cp"}).model
    assert m.node_groups[0].cluster == ClusterLink(cluster_name="blue")
    assert {g.key for g in m.security_groups} == {f"cfn:{path}:NodeSecurityGroup", "sg-cp"}


def test_eksctl_golden_file_with_unresolved_groups() -> None:
    path = "eksctl/pkg/cfn/builder/testdata/nodegroup_access_entry/1.json"
    m = load(path).model
    standalone = [r for r in m.rules if r.form is RuleForm.STANDALONE]
    assert [(r.provenance.resource, r.group) for r in standalone] == [
        ("EgressInterCluster", None), ("EgressInterClusterAPI", None), ("IngressInterClusterCP", None),
    ]  # fmt: skip
    inline = [r for r in m.rules if r.form is RuleForm.INLINE]
    assert [(r.ports, r.peer) for r in inline] == [(PortRange(1025, 65535), NoPeer()), (PortRange(443, 443), NoPeer())]
    [node_group] = m.node_groups
    assert node_group.cluster == ClusterLink(cluster_name="cluster")
    null, sg = node_group.launch_template_groups or ()
    assert isinstance(null, Unresolved) and null.what == "NodeGroupLaunchTemplate lists a null security group"
    assert sg == f"cfn:{path}:SG"


def test_eksctl_managed_node_group_with_imported_cluster_group_and_open_ssh() -> None:
    path = "eksctl/pkg/cfn/builder/testdata/launch_template/ssh_enabled.json"
    m = load(path).model
    [node_group] = m.node_groups
    ssh = f"cfn:{path}:SSH"
    assert node_group.kind is NodeGroupKind.MANAGED
    assert node_group.launch_template_groups == ("import:eksctl-lt::ClusterSecurityGroupId", ssh)
    opened = [r.peer for r in m.rules if r.group == ssh and r.direction is Direction.INGRESS]
    assert opened == [CidrPeer(INTERNET_V4), CidrPeer(INTERNET_V6)]


def test_eksctl_cluster_stack() -> None:
    path = "eksctl/pkg/cfn/template/testdata/cluster-example-1.json"
    m = load(path).model
    [cluster] = m.clusters
    assert (cluster.name, cluster.version) == ("wonderful-party-1565212003", "1.13")
    assert cluster.security_groups == (f"cfn:{path}:ControlPlaneSecurityGroup",)
    [vpc] = m.vpcs
    assert [str(c) for c in vpc.cidrs] == ["192.168.0.0/16"]


def test_quick_start_node_group_managed_branch() -> None:
    path = "quickstart-amazon-eks@2b5c766/templates/amazon-eks-nodegroup.template.yaml"
    unmanaged = load(path).model
    assert [ng.kind for ng in unmanaged.node_groups] == [NodeGroupKind.SELF_MANAGED]
    m = load(path, {"ManagedNodeGroup": "yes"}).model
    [node_group] = m.node_groups
    assert (node_group.kind, node_group.launch_template_groups) == (NodeGroupKind.MANAGED, None)
    assert node_group.remote_access is not None and node_group.remote_access.source_groups == ()
    node_sg = f"ext:{path}:NodeSG"
    assert [(r.group, r.peer) for r in m.rules] == [(node_sg, SgPeer(node_sg))]

"""The Terraform units of the shared corpus: what the loader must conclude from real modules."""

from __future__ import annotations

from pathlib import Path

import pytest

from eks_sg_policy.errors import ScanError
from eks_sg_policy.loaders.base import LoadedUnit
from eks_sg_policy.loaders.terraform import load_terraform_module
from eks_sg_policy.loaders.terraform_config import module_files
from eks_sg_policy.model import Direction, NodeGroupKind, SgOrigin, SgPeer, UnresolvedPeer
from eks_sg_policy.net import ALL

CORPUS = Path(__file__).resolve().parents[2].parent / "shared" / "corpus"
V21 = "terraform-aws-eks@v21.19.0"


@pytest.fixture(autouse=True)
def _in_corpus(monkeypatch: pytest.MonkeyPatch) -> None:
    if not CORPUS.is_dir():
        pytest.skip(f"shared corpus not found at <repo root>/../shared/corpus ({CORPUS})")
    monkeypatch.chdir(CORPUS)


def load(directory: str, variables: dict[str, object] | None = None) -> LoadedUnit:
    return load_terraform_module(directory, module_files(directory), variables or {}, [])


def terraform_units() -> list[str]:
    if not CORPUS.is_dir():
        return []
    found = {p.parent.relative_to(CORPUS).as_posix() for p in CORPUS.rglob("*.tf")}
    return sorted(found - {"terraform-aws-eks@v1.0.0"})


@pytest.mark.parametrize("directory", terraform_units())
def test_every_terraform_unit_loads(directory: str) -> None:
    unit = load(directory)
    assert unit.files and set(module_files(directory)) <= set(unit.files)
    keys = {group.key for group in unit.model.security_groups}
    named: list[object] = []
    for rule in unit.model.rules:
        named += [rule.group, rule.peer.key if isinstance(rule.peer, SgPeer) else None]
    for cluster in unit.model.clusters:
        named += [cluster.cluster_sg, *cluster.security_groups]
    for group in unit.model.node_groups:
        named += list(group.launch_template_groups or ())
    assert {k for k in named if isinstance(k, str)} <= keys  # every group named has an entry


def test_terraform_0_11_syntax_is_a_scan_error_with_position() -> None:
    with pytest.raises(ScanError) as caught:
        load("terraform-aws-eks@v1.0.0")
    error = caught.value
    assert (error.file, error.line, error.column) == ("terraform-aws-eks@v1.0.0/local.tf", 12, 8)
    assert "looks like Terraform 0.11 syntax" in error.message


def test_cloudposse_cluster_0_4_0_is_0_11_style_but_parses() -> None:
    unit = load("cloudposse-eks-cluster@0.4.0")
    (cluster,) = unit.model.clusters
    assert cluster.key == "tf:cloudposse-eks-cluster@0.4.0:aws_eks_cluster.default[0]"
    assert cluster.security_groups == ("tf:cloudposse-eks-cluster@0.4.0:aws_security_group.default[0]",)
    workers = [r for r in unit.model.rules if r.provenance.resource == "aws_security_group_rule.ingress_workers"]
    (rule,) = workers  # count = var.workers_security_group_count has no value: a stand-in under a condition
    assert rule.condition is not None and "var.workers_security_group_count" in rule.condition.what
    assert rule.protocol == ALL and isinstance(rule.peer, UnresolvedPeer)


def test_getting_started_managed_nodes_rely_on_the_implicit_cluster_group() -> None:
    directory = "tf-provider-aws-eks-getting-started/examples/eks-getting-started"
    unit = load(directory)
    (cluster,) = unit.model.clusters
    (group,) = unit.model.node_groups
    assert group.kind is NodeGroupKind.MANAGED
    assert group.cluster.cluster_key == cluster.key == f"tf:{directory}:aws_eks_cluster.demo"
    assert group.launch_template_groups is None and group.launch_template is None
    origins = {g.key: g.origin for g in unit.model.security_groups}
    assert origins[cluster.cluster_sg] is SgOrigin.CLUSTER
    assert cluster.security_groups == (f"tf:{directory}:aws_security_group.demo-cluster",)
    https = next(r for r in unit.model.rules if r.direction is Direction.INGRESS)
    assert str(https.ports) == "443" and isinstance(https.peer, UnresolvedPeer)  # workstation IP: a data source


def test_v21_root_module_security_groups_and_rules() -> None:
    unit = load(V21)
    node, cluster = f"tf:{V21}:aws_security_group.node[0]", f"tf:{V21}:aws_security_group.cluster[0]"
    expected = {
        ("ingress", "tcp", "443", cluster, 77),
        ("ingress", "tcp", "10250", cluster, 85),
        ("ingress", "tcp", "53", node, 93),
        ("ingress", "udp", "53", node, 101),
        ("ingress", "tcp", "1025-65535", node, 112),
        ("ingress", "tcp", "4443", cluster, 121),
        ("ingress", "tcp", "10251", cluster, 130),
        ("ingress", "tcp", "6443", cluster, 139),
        ("ingress", "tcp", "8443", cluster, 148),
        ("ingress", "tcp", "9443", cluster, 157),
        ("egress", ALL, "all ports", "0.0.0.0/0", 165),
    }
    node_rules = {
        (r.direction.value, r.protocol, str(r.ports), str(r.peer), r.provenance.line)
        for r in unit.model.rules
        if r.group == node
    }
    assert node_rules == expected
    (to_cluster,) = [r for r in unit.model.rules if r.group == cluster]
    assert (to_cluster.direction, str(to_cluster.ports), to_cluster.peer) == (Direction.INGRESS, "443", SgPeer(node))
    assert all(r.provenance.file == f"{V21}/node_groups.tf" for r in unit.model.rules if r.group == node)
    (eks,) = unit.model.clusters
    assert eks.security_groups == (cluster,)
    assert unit.model.node_groups == ()  # eks_managed_node_groups defaults to null
    assert "module.kms (source terraform-aws-modules/kms/aws) not evaluated" in unit.notes
    assert any(
        n.startswith("module.self_managed_node_group (source ./modules/self-managed-node-group)") for n in unit.notes
    )


def test_v21_local_node_group_module_gets_the_node_group_security_group() -> None:
    unit = load(V21, {"eks_managed_node_groups": {"default": {}}, "name": "demo"})
    node = f"tf:{V21}:aws_security_group.node[0]"
    (group,) = unit.model.node_groups
    prefix = 'module.eks_managed_node_group["default"].'
    assert group.key == f"tf:{V21}:{prefix}aws_eks_node_group.this[0]"
    assert group.launch_template_groups == (node,)
    assert group.launch_template is not None
    assert group.launch_template.resource == f"{prefix}aws_launch_template.this[0]"
    assert group.launch_template.file == f"{V21}/modules/eks-managed-node-group/main.tf"
    assert group.cluster.cluster_key == f"tf:{V21}:aws_eks_cluster.this[0]"
    assert group.cluster.cluster_name == "demo"
    assert f"{V21}/modules/eks-managed-node-group/main.tf" in unit.files
    assert (
        f"{prefix}module.user_data (source ../_user_data) not evaluated: directory {V21}/modules/_user_data not found"
        in unit.notes
    )


def test_v21_node_group_options_reach_the_launch_template() -> None:
    groups = {
        "custom": {
            "vpc_security_group_ids": ["sg-0123456789abcdef0"],
            "attach_cluster_primary_security_group": True,
            "security_group_ingress_rules": {"ssh": {"cidr_ipv4": "10.0.0.0/8", "from_port": 22}},
        }
    }
    unit = load(V21, {"eks_managed_node_groups": groups})
    (group,) = unit.model.node_groups
    own = f'tf:{V21}:module.eks_managed_node_group["custom"].aws_security_group.this[0]'
    assert group.launch_template_groups == (
        f"cluster-sg:tf:{V21}:aws_eks_cluster.this[0]",
        f"tf:{V21}:aws_security_group.node[0]",
        "sg-0123456789abcdef0",
        own,
    )
    (ssh,) = [r for r in unit.model.rules if r.group == own]
    assert (ssh.direction, ssh.protocol, str(ssh.ports), str(ssh.peer)) == (
        Direction.INGRESS,
        "tcp",
        "22",
        "10.0.0.0/8",
    )


def test_v18_example_evaluates_the_root_module_as_a_local_module() -> None:
    unit = load("terraform-aws-eks@v18.31.2/examples/eks_managed_node_group")
    (cluster,) = unit.model.clusters
    assert cluster.name == "ex-eks-managed-node-group" and cluster.ip_family == "ipv6"
    prefix = "tf:terraform-aws-eks@v18.31.2/examples/eks_managed_node_group:module.eks."
    node = prefix + "aws_security_group.node[0]"
    node_rules = {
        (r.direction.value, r.protocol, str(r.ports), str(r.peer)) for r in unit.model.rules if r.group == node
    }
    assert ("ingress", ALL, "all ports", node) in node_rules  # ingress_self_all from the example
    assert ("egress", ALL, "all ports", "::/0") in node_rules


def test_nodeports_on_the_cluster_security_group() -> None:
    unit = load("msfidelis-eks-strimzi-kafka")
    (cluster,) = unit.model.clusters
    nodeports = next(r for r in unit.model.rules if r.provenance.resource == "aws_security_group_rule.nodeports")
    assert nodeports.group == cluster.cluster_sg
    assert (str(nodeports.ports), str(nodeports.peer)) == ("30000-32768", "0.0.0.0/0")
    (kafka,) = unit.model.node_groups
    assert kafka.cluster.cluster_key == cluster.key and kafka.launch_template_groups is None


def test_groups_from_data_sources_are_external_identities() -> None:
    unit = load("aws-samples-terraform-eks-code/c9net")
    groups = {g.key: g for g in unit.model.security_groups}
    nodes = "data:aws-samples-terraform-eks-code/c9net:data.aws_ssm_parameter.allnodes-sg.value"
    assert groups[nodes].origin is SgOrigin.EXTERNAL
    assert sum(1 for r in unit.model.rules if r.group == nodes) == 4

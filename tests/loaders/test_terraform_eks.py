"""Terraform EKS resources -> model: clusters, node groups, launch templates, Fargate, VPCs."""

from __future__ import annotations

from pathlib import Path
from textwrap import dedent

import pytest

from eks_sg_policy.loaders.base import LoadedUnit
from eks_sg_policy.loaders.terraform import load_terraform_module
from eks_sg_policy.model import ClusterLink, NodeGroupKind, SgOrigin, SgPeer, Unresolved
from eks_sg_policy.net import parse_cidr


def load(tmp_path: Path, text: str, variables: dict[str, object] | None = None) -> LoadedUnit:
    (tmp_path / "mod").mkdir(exist_ok=True)
    (tmp_path / "mod" / "main.tf").write_text(dedent(text).lstrip("\n"))
    return load_terraform_module("mod", ["mod/main.tf"], variables or {}, [])


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)


CLUSTER = """
resource "aws_security_group" "extra" {}
resource "aws_eks_cluster" "main" {
  name    = "demo"
  version = "1.30"
  vpc_config {
    subnet_ids         = ["subnet-1"]
    security_group_ids = [aws_security_group.extra.id]
  }
  kubernetes_network_config {
    ip_family = "ipv6"
  }
  remote_network_config {
    remote_node_networks {
      cidrs = ["172.16.0.0/18"]
    }
    remote_pod_networks {
      cidrs = ["172.16.64.0/18"]
    }
  }
}
"""


def test_cluster_and_the_cluster_security_group_eks_creates(tmp_path: Path) -> None:
    unit = load(tmp_path, CLUSTER)
    (cluster,) = unit.model.clusters
    assert cluster.key == "tf:mod:aws_eks_cluster.main"
    assert cluster.name == "demo" and cluster.version == "1.30" and cluster.ip_family == "ipv6"
    assert cluster.cluster_sg == "cluster-sg:tf:mod:aws_eks_cluster.main"
    assert cluster.security_groups == ("tf:mod:aws_security_group.extra",)
    assert cluster.remote_node_networks == (parse_cidr("172.16.0.0/18"),)
    assert cluster.remote_pod_networks == (parse_cidr("172.16.64.0/18"),)
    assert (cluster.provenance.line, cluster.vpc_config and cluster.vpc_config.line) == (2, 5)
    cluster_group = next(g for g in unit.model.security_groups if g.key == cluster.cluster_sg)
    assert cluster_group.origin is SgOrigin.CLUSTER
    assert cluster_group.name == "aws_eks_cluster.main cluster security group"


@pytest.mark.parametrize(
    "reference",
    [
        "aws_eks_cluster.main.vpc_config[0].cluster_security_group_id",
        "aws_eks_cluster.main.vpc_config.0.cluster_security_group_id",
        "(aws_eks_cluster.main.vpc_config[*].cluster_security_group_id)[0]",
        "one(aws_eks_cluster.main.vpc_config[*].cluster_security_group_id)",
        "tolist(aws_eks_cluster.main[*].vpc_config[0].cluster_security_group_id)[0]",
    ],
)
def test_references_to_the_cluster_security_group(tmp_path: Path, reference: str) -> None:
    unit = load(
        tmp_path,
        CLUSTER
        + f"""
        resource "aws_security_group_rule" "nodeports" {{
          type              = "ingress"
          security_group_id = {reference}
          protocol          = "tcp"
          from_port         = 30000
          to_port           = 32767
          cidr_blocks       = ["0.0.0.0/0"]
        }}
        """,
    )
    (rule,) = unit.model.rules
    assert rule.group == "cluster-sg:tf:mod:aws_eks_cluster.main"


def test_managed_node_group_without_launch_template(tmp_path: Path) -> None:
    unit = load(
        tmp_path,
        CLUSTER
        + """
        resource "aws_eks_node_group" "ng" {
          cluster_name  = aws_eks_cluster.main.name
          node_role_arn = "arn:aws:iam::1:role/n"
          subnet_ids    = ["subnet-1"]
          scaling_config {
            min_size     = 1
            max_size     = 1
            desired_size = 1
          }
        }
        """,
    )
    (group,) = unit.model.node_groups
    assert group.kind is NodeGroupKind.MANAGED
    assert group.cluster == ClusterLink(cluster_key="tf:mod:aws_eks_cluster.main", cluster_name="demo")
    assert group.launch_template_groups is None and group.launch_template is None
    assert group.remote_access is None and group.condition is None


def test_managed_node_group_launch_template_groups_and_remote_access(tmp_path: Path) -> None:
    unit = load(
        tmp_path,
        CLUSTER
        + """
        resource "aws_security_group" "node" {}
        resource "aws_security_group" "ssh" {}
        resource "aws_launch_template" "by_id" {
          name                   = "by-id"
          vpc_security_group_ids = [aws_security_group.node.id]
        }
        resource "aws_launch_template" "by_name" {
          name = "by-name"
          network_interfaces {
            security_groups = [aws_security_group.node.id, aws_eks_cluster.main.vpc_config[0].cluster_security_group_id]
          }
        }
        resource "aws_launch_template" "none" {
          name = "plain"
        }
        resource "aws_eks_node_group" "a" {
          cluster_name = "demo"
          launch_template {
            id      = aws_launch_template.by_id.id
            version = "$Latest"
          }
        }
        resource "aws_eks_node_group" "b" {
          cluster_name = aws_eks_cluster.main.id
          launch_template {
            name    = aws_launch_template.by_name.name
            version = "$Latest"
          }
        }
        resource "aws_eks_node_group" "c" {
          cluster_name = "other"
          ami_type     = "WINDOWS_CORE_2022_x86_64"
          launch_template {
            name    = aws_launch_template.none.name
            version = "1"
          }
          remote_access {
            ec2_ssh_key               = "key"
            source_security_group_ids = [aws_security_group.ssh.id]
          }
        }
        """,
    )
    a, b, c = unit.model.node_groups
    node, cluster_sg = "tf:mod:aws_security_group.node", "cluster-sg:tf:mod:aws_eks_cluster.main"
    assert a.launch_template_groups == (node,)
    assert a.launch_template is not None and a.launch_template.resource == "aws_launch_template.by_id"
    assert a.cluster == ClusterLink(cluster_key="tf:mod:aws_eks_cluster.main", cluster_name="demo")
    assert b.launch_template_groups == (node, cluster_sg)
    assert b.cluster.cluster_key == "tf:mod:aws_eks_cluster.main"
    assert c.launch_template_groups is None
    assert c.cluster == ClusterLink(cluster_name="other")
    assert c.remote_access is not None and c.remote_access.windows
    assert c.remote_access.source_groups == ("tf:mod:aws_security_group.ssh",)


def test_external_launch_template_groups_are_unresolved(tmp_path: Path) -> None:
    unit = load(
        tmp_path,
        """
        variable "launch_template_id" {}
        resource "aws_eks_node_group" "ng" {
          cluster_name = "demo"
          launch_template {
            id      = var.launch_template_id
            version = "1"
          }
        }
        """,
    )
    (group,) = unit.model.node_groups
    assert group.launch_template_groups is not None
    (why,) = group.launch_template_groups
    assert isinstance(why, Unresolved) and "var.launch_template_id" in why.what
    assert why.provenance.line == 5


def test_self_managed_node_groups(tmp_path: Path) -> None:
    unit = load(
        tmp_path,
        CLUSTER
        + """
        resource "aws_security_group" "node" {}
        resource "aws_launch_template" "lt" {
          vpc_security_group_ids = [aws_security_group.node.id]
        }
        resource "aws_launch_configuration" "lc" {
          name            = "workers"
          security_groups = [aws_security_group.node.id]
        }
        resource "aws_autoscaling_group" "lt" {
          launch_template {
            id = aws_launch_template.lt.id
          }
          tag {
            key                 = "kubernetes.io/cluster/${aws_eks_cluster.main.name}"
            value               = "owned"
            propagate_at_launch = true
          }
        }
        resource "aws_autoscaling_group" "mixed" {
          mixed_instances_policy {
            launch_template {
              launch_template_specification {
                launch_template_id = aws_launch_template.lt.id
              }
            }
          }
        }
        resource "aws_autoscaling_group" "lc" {
          launch_configuration = aws_launch_configuration.lc.name
          tags = [{ key = "kubernetes.io/cluster/elsewhere", value = "owned", propagate_at_launch = true }]
        }
        """,
    )
    by_lt, mixed, by_lc = unit.model.node_groups
    node = ("tf:mod:aws_security_group.node",)
    assert all(g.kind is NodeGroupKind.SELF_MANAGED for g in (by_lt, mixed, by_lc))
    assert by_lt.launch_template_groups == node and by_lt.cluster.cluster_key == "tf:mod:aws_eks_cluster.main"
    assert mixed.launch_template_groups == node and mixed.cluster == ClusterLink()
    assert by_lc.launch_template_groups == node and by_lc.cluster == ClusterLink(cluster_name="elsewhere")
    assert by_lc.launch_template is not None and by_lc.launch_template.resource == "aws_launch_configuration.lc"


def test_fargate_profile_vpc_and_other_attachments(tmp_path: Path) -> None:
    unit = load(
        tmp_path,
        CLUSTER
        + """
        resource "aws_vpc" "main" {
          cidr_block = "10.0.0.0/16"
        }
        resource "aws_eks_fargate_profile" "fp" {
          cluster_name = aws_eks_cluster.main.name
        }
        resource "aws_instance" "bastion" {
          vpc_security_group_ids = [aws_security_group.extra.id]
        }
        """,
    )
    (profile,) = unit.model.fargate_profiles
    assert profile.cluster.cluster_key == "tf:mod:aws_eks_cluster.main"
    (vpc,) = unit.model.vpcs
    assert vpc.cidrs == (parse_cidr("10.0.0.0/16"),) and vpc.key == "tf:mod:aws_vpc.main"
    ((attached, where),) = unit.model.other_attachments
    assert attached == "tf:mod:aws_security_group.extra" and where.resource == "aws_instance.bastion"


def test_node_group_under_unknown_count_carries_the_condition(tmp_path: Path) -> None:
    unit = load(
        tmp_path,
        """
        variable "enabled" {
          type = bool
        }
        resource "aws_eks_node_group" "ng" {
          count        = var.enabled ? 1 : 0
          cluster_name = "demo"
        }
        """,
    )
    (group,) = unit.model.node_groups
    assert group.condition is not None and "var.enabled" in group.condition.what
    assert "--var enabled=" in group.condition.hint
    assert load(tmp_path, (tmp_path / "mod" / "main.tf").read_text(), {"enabled": "false"}).model.node_groups == ()


def test_inline_self_and_security_groups_peers(tmp_path: Path) -> None:
    unit = load(
        tmp_path,
        """
        resource "aws_security_group" "cp" {}
        resource "aws_security_group" "node" {
          ingress {
            from_port       = 0
            to_port         = 65535
            protocol        = "tcp"
            self            = true
            security_groups = [aws_security_group.cp.id]
          }
        }
        """,
    )
    peers = [r.peer for r in unit.model.rules]
    assert peers == [SgPeer("tf:mod:aws_security_group.cp"), SgPeer("tf:mod:aws_security_group.node")]

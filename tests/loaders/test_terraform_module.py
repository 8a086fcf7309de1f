"""Terraform modules written into a temporary directory: evaluation and resources -> model."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from textwrap import dedent

import pytest

from eks_sg_policy.errors import ScanError
from eks_sg_policy.loaders.base import LoadedUnit
from eks_sg_policy.loaders.terraform import load_terraform_module
from eks_sg_policy.model import (
    CidrPeer,
    Direction,
    Rule,
    RuleForm,
    SgOrigin,
    SgPeer,
    Unresolved,
    UnresolvedPeer,
)
from eks_sg_policy.net import ALL_PORTS, PortRange, parse_cidr

Load = Callable[..., LoadedUnit]


@pytest.fixture
def module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Load:
    """Write files under `mod/` and load the module with paths relative to the temporary dir."""
    monkeypatch.chdir(tmp_path)

    def load(
        files: dict[str, str], variables: dict[str, object] | None = None, var_files: tuple[str, ...] = ()
    ) -> LoadedUnit:
        for name, text in files.items():
            path = tmp_path / "mod" / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(dedent(text).lstrip("\n"))
        sources = sorted(f"mod/{n}" for n in files if "/" not in n and n.endswith((".tf", ".tf.json")))
        return load_terraform_module("mod", sources, variables or {}, list(var_files))

    return load


def key(address: str) -> str:
    return f"tf:mod:{address}"


def summary(rule: Rule) -> tuple[object, ...]:
    return (rule.group, rule.direction.value, rule.protocol, str(rule.ports), str(rule.peer), rule.provenance.line)


def test_variable_default_carries_kubelet_port_into_rule(module: Load) -> None:
    unit = module(
        {
            "main.tf": """
            variable "kubelet_port" {
              default = 10250
            }
            resource "aws_security_group" "node" {
              vpc_id = "vpc-1"
            }
            resource "aws_security_group" "control_plane" {}
            resource "aws_security_group_rule" "kubelet" {
              type                     = "ingress"
              security_group_id        = aws_security_group.node.id
              source_security_group_id = aws_security_group.control_plane.id
              protocol                 = "tcp"
              from_port                = var.kubelet_port
              to_port                  = var.kubelet_port
            }
            """
        }
    )
    (rule,) = unit.model.rules
    assert rule.group == key("aws_security_group.node")
    assert rule.direction is Direction.INGRESS
    assert rule.protocol == "tcp"
    assert rule.ports == PortRange.single(10250)
    assert rule.peer == SgPeer(key("aws_security_group.control_plane"))
    assert rule.form is RuleForm.STANDALONE
    assert (rule.provenance.file, rule.provenance.line) == ("mod/main.tf", 8)
    assert rule.provenance.resource == "aws_security_group_rule.kubelet"
    node = next(g for g in unit.model.security_groups if g.key == key("aws_security_group.node"))
    assert node.origin is SgOrigin.DECLARED and node.vpc == "vpc-1" and node.has_inline == frozenset()


def test_variable_precedence_tfvars_var_files_and_given_values(module: Load) -> None:
    files = {
        "main.tf": """
        variable "port" {
          type    = number
          default = 1
        }
        resource "aws_security_group" "node" {}
        resource "aws_vpc_security_group_ingress_rule" "port" {
          security_group_id = aws_security_group.node.id
          ip_protocol       = "tcp"
          from_port         = var.port
          to_port           = var.port
          cidr_ipv4         = "10.0.0.0/8"
        }
        """,
        "terraform.tfvars": "port = 2\n",
        "x.auto.tfvars.json": '{"port": 3}\n',
        "extra.tfvars": "port = 4\n",
    }
    assert module(files).model.rules[0].ports == PortRange.single(3)
    assert module(files, var_files=("mod/extra.tfvars",)).model.rules[0].ports == PortRange.single(4)
    unit = module(files, {"port": "5"}, ("mod/extra.tfvars",))
    assert unit.model.rules[0].ports == PortRange.single(5)
    assert "mod/extra.tfvars" in unit.files and "mod/terraform.tfvars" in unit.files


def test_external_group_identities_each_get_one_entry(module: Load) -> None:
    unit = module(
        {
            "main.tf": """
            variable "cluster_sg" {
              type = string
            }
            data "aws_security_group" "shared" {
              name = "shared"
            }
            resource "aws_security_group_rule" "a" {
              type                     = "ingress"
              security_group_id        = var.cluster_sg
              source_security_group_id = data.aws_security_group.shared.id
              protocol                 = "tcp"
              from_port                = 443
              to_port                  = 443
            }
            resource "aws_security_group_rule" "b" {
              type                     = "egress"
              security_group_id        = "sg-0123456789abcdef0"
              source_security_group_id = var.cluster_sg
              protocol                 = "tcp"
              from_port                = 443
              to_port                  = 443
            }
            """
        }
    )
    groups = {g.key: g for g in unit.model.security_groups}
    assert set(groups) == {"var:mod:cluster_sg", "data:mod:data.aws_security_group.shared", "sg-0123456789abcdef0"}
    assert all(g.origin is SgOrigin.EXTERNAL for g in groups.values())
    assert groups["var:mod:cluster_sg"].name == "var.cluster_sg"
    assert unit.model.rules[0].peer == SgPeer("data:mod:data.aws_security_group.shared")


def test_unknown_values_are_unresolved_never_guessed(module: Load) -> None:
    unit = module(
        {
            "main.tf": """
            data "http" "ip" {
              url = "https://ipv4.icanhazip.com"
            }
            resource "aws_security_group" "node" {}
            resource "aws_security_group_rule" "workstation" {
              type              = "ingress"
              security_group_id = aws_security_group.node.id
              protocol          = "tcp"
              from_port         = 443
              to_port           = 443
              cidr_blocks       = ["${chomp(data.http.ip.response_body)}/32"]
            }
            resource "aws_security_group_rule" "peer" {
              type                     = "ingress"
              security_group_id        = aws_security_group.node.id
              protocol                 = "tcp"
              from_port                = templatefile("x.tpl", {})
              to_port                  = 443
              source_security_group_id = aws_instance.bastion.security_groups[0]
            }
            """
        }
    )
    first, second = unit.model.rules
    assert isinstance(first.peer, UnresolvedPeer)
    assert "data.http.ip.response_body" in first.peer.value.what
    assert first.peer.value.provenance.line == 11
    assert isinstance(second.ports, Unresolved) and "templatefile" in second.ports.what
    assert isinstance(second.peer, UnresolvedPeer) and "aws_instance.bastion" in second.peer.value.what


def test_unknown_count_gives_a_stand_in_under_a_condition(module: Load) -> None:
    unit = module(
        {
            "main.tf": """
            module "label" {
              source = "cloudposse/label/null"
            }
            resource "aws_security_group" "node" {
              count = module.label.enabled ? 1 : 0
            }
            resource "aws_security_group_rule" "egress" {
              count             = module.label.enabled ? 1 : 0
              type              = "egress"
              security_group_id = join("", aws_security_group.node[*].id)
              protocol          = "-1"
              from_port         = 0
              to_port           = 0
              cidr_blocks       = ["0.0.0.0/0"]
            }
            """
        }
    )
    (rule,) = unit.model.rules
    assert rule.group == key("aws_security_group.node")
    assert rule.peer == CidrPeer(parse_cidr("0.0.0.0/0")) and rule.ports == ALL_PORTS
    assert rule.condition is not None and "module.label.enabled" in rule.condition.what
    assert rule.condition.provenance.line == 8
    assert any("module.label (source cloudposse/label/null) not evaluated" in n for n in unit.notes)


def test_local_module_inputs_outputs_and_for_each(module: Load) -> None:
    unit = module(
        {
            "main.tf": """
            module "ng" {
              source     = "./ng"
              for_each   = { a = "10.0.0.0/16", b = "10.1.0.0/16" }
              cidr       = each.value
              cluster_sg = aws_eks_cluster.c.vpc_config[0].cluster_security_group_id
            }
            resource "aws_eks_cluster" "c" {
              name = "demo"
              vpc_config {
                subnet_ids = ["subnet-1"]
              }
            }
            resource "aws_security_group_rule" "from_a" {
              type                     = "ingress"
              security_group_id        = module.ng["b"].sg_id
              source_security_group_id = module.ng["a"].sg_id
              protocol                 = "tcp"
              from_port                = 8080
              to_port                  = 8080
            }
            """,
            "ng/main.tf": """
            variable "cidr" {}
            variable "cluster_sg" {}
            resource "aws_security_group" "this" {
              ingress {
                from_port   = 443
                to_port     = 443
                protocol    = "tcp"
                cidr_blocks = [var.cidr]
              }
              ingress {
                from_port       = 10250
                to_port         = 10250
                protocol        = "tcp"
                security_groups = [var.cluster_sg]
              }
            }
            output "sg_id" {
              value = aws_security_group.this.id
            }
            """,
        }
    )
    a, b = key('module.ng["a"].aws_security_group.this'), key('module.ng["b"].aws_security_group.this')
    cluster_sg = "cluster-sg:" + key("aws_eks_cluster.c")
    assert [summary(r) for r in unit.model.rules] == [
        (a, "ingress", "tcp", "443", "10.0.0.0/16", 4),
        (a, "ingress", "tcp", "10250", cluster_sg, 10),
        (b, "ingress", "tcp", "443", "10.1.0.0/16", 4),
        (b, "ingress", "tcp", "10250", cluster_sg, 10),
        (b, "ingress", "tcp", "8080", a, 13),
    ]
    assert unit.model.rules[0].provenance.file == "mod/ng/main.tf"
    assert "mod/ng/main.tf" in unit.files
    origins = {g.key: g.origin for g in unit.model.security_groups}
    assert origins == {a: SgOrigin.DECLARED, b: SgOrigin.DECLARED, cluster_sg: SgOrigin.CLUSTER}


def test_registry_and_missing_modules_are_notes_and_their_outputs_unresolved(module: Load) -> None:
    unit = module(
        {
            "main.tf": """
            module "eks" {
              source  = "terraform-aws-modules/eks/aws"
              version = "~> 20.0"
            }
            module "gone" {
              source = "./not-copied"
            }
            resource "aws_security_group_rule" "extra" {
              type              = "ingress"
              security_group_id = module.eks.node_security_group_id
              protocol          = "tcp"
              from_port         = 8443
              to_port           = 8443
              self              = true
            }
            """
        }
    )
    (rule,) = unit.model.rules
    assert isinstance(rule.group, Unresolved)
    assert "module.eks.node_security_group_id" in rule.group.what
    assert "terraform-aws-modules/eks/aws" in rule.group.hint
    assert isinstance(rule.peer, UnresolvedPeer)
    assert "module.eks (source terraform-aws-modules/eks/aws) not evaluated" in unit.notes
    assert any(n.startswith("module.gone (source ./not-copied) not evaluated") for n in unit.notes)


def test_tf_json_module(module: Load) -> None:
    unit = module(
        {
            "main.tf.json": """
            {
              "variable": {"port": {"type": "number", "default": 443}},
              "resource": {
                "aws_security_group": {
                  "node": {
                    "ingress": [
                      {"from_port": "${var.port}", "to_port": "${var.port}", "protocol": "tcp",
                       "cidr_blocks": ["10.0.0.0/8"]}
                    ],
                    "dynamic": {"egress": {"for_each": "${[53]}", "content": {
                      "from_port": "${egress.value}", "to_port": "${egress.value}", "protocol": "udp", "self": true}}}
                  }
                }
              }
            }
            """
        }
    )
    node = key("aws_security_group.node")
    assert [summary(r) for r in unit.model.rules] == [
        (node, "ingress", "tcp", "443", "10.0.0.0/8", 7),
        (node, "egress", "udp", "53", node, 10),
    ]


def test_values_given_as_text_are_parsed_for_collection_types(module: Load) -> None:
    files = {
        "main.tf": """
        variable "cidrs" {
          type    = list(string)
          default = []
        }
        resource "aws_security_group" "node" {
          egress {
            from_port   = 443
            to_port     = 443
            protocol    = "tcp"
            cidr_blocks = var.cidrs
          }
        }
        """
    }
    unit = module(files, {"cidrs": '["10.0.0.0/8", "192.168.0.0/16"]'})
    assert [str(r.peer) for r in unit.model.rules] == ["10.0.0.0/8", "192.168.0.0/16"]
    with pytest.raises(ScanError) as caught:
        module(files, {"cidrs": "[unterminated"})
    assert (caught.value.file, caught.value.line) == ("mod/main.tf", 1)


def test_module_call_with_unknown_count_is_a_stand_in_under_a_condition(module: Load) -> None:
    unit = module(
        {
            "main.tf": """
            variable "enabled" {}
            module "ng" {
              source = "./ng"
              count  = var.enabled ? 1 : 0
            }
            """,
            "ng/main.tf": """
            resource "aws_eks_node_group" "this" {
              cluster_name = "demo"
            }
            """,
        }
    )
    (group,) = unit.model.node_groups
    assert group.key == key("module.ng.aws_eks_node_group.this")
    assert group.condition is not None and "var.enabled" in group.condition.what


# --- modules installed by `terraform init` ----------------------------------------------------------

_CALLER = """
    module "nodes" {
      source  = "example-org/nodes/aws"
      version = "1.0.0"
    }
"""
_NODES = """
    module "inner" {
      source = "example-org/inner/aws"
    }
    resource "aws_security_group" "node" {
      name = "node"
    }
"""
_INNER = """
    resource "aws_security_group" "inner" {
      name = "inner"
    }
"""


def _manifest(*entries: tuple[str, str]) -> str:
    modules = [{"Key": "", "Source": "", "Dir": "."}] + [{"Key": k, "Source": "x", "Dir": d} for k, d in entries]
    return json.dumps({"Modules": modules})


def test_registry_modules_installed_by_terraform_init_are_evaluated(module: Load) -> None:
    unit = module(
        {
            "main.tf": _CALLER,
            ".terraform/modules/modules.json": _manifest(
                ("nodes", ".terraform/modules/nodes"), ("nodes.inner", ".terraform/modules/nodes.inner")
            ),
            ".terraform/modules/nodes/main.tf": _NODES,
            ".terraform/modules/nodes.inner/main.tf": _INNER,
        }
    )
    keys = sorted(g.key for g in unit.model.security_groups)
    assert keys == [
        key("module.nodes.aws_security_group.node"),
        key("module.nodes.module.inner.aws_security_group.inner"),
    ]
    assert unit.model.unevaluated == ()


def test_without_the_manifest_a_registry_module_is_not_evaluated(module: Load) -> None:
    unit = module({"main.tf": _CALLER.replace('"nodes"', '"eks_nodes"', 1)})
    (what,) = unit.model.unevaluated
    assert "not evaluated" in what.what and "terraform init" in (what.hint or "")


def test_a_manifest_pointing_outside_the_install_directory_is_not_followed(module: Load, tmp_path: Path) -> None:
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "main.tf").write_text('resource "aws_security_group" "x" {\n  name = "x"\n}\n')
    unit = module({"main.tf": _CALLER, ".terraform/modules/modules.json": _manifest(("nodes", "../elsewhere"))})
    assert unit.model.security_groups == ()


def test_a_broken_manifest_is_an_error_with_its_line(module: Load) -> None:
    with pytest.raises(ScanError) as caught:
        module({"main.tf": _CALLER, ".terraform/modules/modules.json": '{\n  "Modules": [\n    {"Key": }\n]}\n'})
    assert caught.value.file.endswith(".terraform/modules/modules.json") and caught.value.line == 3

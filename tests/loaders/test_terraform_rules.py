"""Security-group rules from Terraform: for_each, count, dynamic blocks, the attribute-list form."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from textwrap import dedent

import pytest

from eks_sg_policy.loaders.base import LoadedUnit
from eks_sg_policy.loaders.terraform import load_terraform_module
from eks_sg_policy.model import (
    Direction,
    NoPeer,
    PrefixListPeer,
    Rule,
    RuleForm,
    SgPeer,
)
from eks_sg_policy.net import ALL

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


def test_for_each_over_a_local_map_gives_one_rule_per_entry_at_the_entry_line(module: Load) -> None:
    unit = module(
        {
            "main.tf": """
            locals {
              rules = {
                https = {
                  port = 443
                  cidr = "10.0.0.0/16"
                }
                kubelet = {
                  port = 10250
                  cidr = "10.1.0.0/16"
                }
              }
            }
            resource "aws_security_group" "node" {}
            resource "aws_security_group_rule" "node" {
              for_each          = local.rules
              type              = "ingress"
              security_group_id = aws_security_group.node.id
              protocol          = "tcp"
              from_port         = each.value.port
              to_port           = each.value.port
              cidr_blocks       = [each.value.cidr]
            }
            """
        }
    )
    node = key("aws_security_group.node")
    assert [summary(r) for r in unit.model.rules] == [
        (node, "ingress", "tcp", "443", "10.0.0.0/16", 3),
        (node, "ingress", "tcp", "10250", "10.1.0.0/16", 7),
    ]
    assert [r.provenance.resource for r in unit.model.rules] == [
        'aws_security_group_rule.node["https"]',
        'aws_security_group_rule.node["kubelet"]',
    ]


def test_count_and_count_index(module: Load) -> None:
    unit = module(
        {
            "main.tf": """
            variable "ports" {
              default = [22, 443]
            }
            resource "aws_security_group" "node" {}
            resource "aws_security_group_rule" "out" {
              count             = length(var.ports)
              type              = "egress"
              security_group_id = aws_security_group.node.id
              protocol          = "tcp"
              from_port         = var.ports[count.index]
              to_port           = var.ports[count.index]
              cidr_blocks       = [cidrsubnet("10.0.0.0/16", 8, count.index)]
            }
            """
        }
    )
    node = key("aws_security_group.node")
    assert [summary(r) for r in unit.model.rules] == [
        (node, "egress", "tcp", "22", "10.0.0.0/24", 5),
        (node, "egress", "tcp", "443", "10.0.1.0/24", 5),
    ]
    assert [r.provenance.resource for r in unit.model.rules] == [
        "aws_security_group_rule.out[0]",
        "aws_security_group_rule.out[1]",
    ]


def test_dynamic_ingress_with_iterator_and_inline_egress(module: Load) -> None:
    unit = module(
        {
            "main.tf": """
            variable "ingress" {
              default = { https = 443, kubelet = 10250 }
            }
            resource "aws_security_group" "node" {
              dynamic "ingress" {
                for_each = var.ingress
                iterator = rule
                content {
                  description = rule.key
                  from_port   = rule.value
                  to_port     = rule.value
                  protocol    = "tcp"
                  self        = true
                }
              }
              egress {
                from_port        = 0
                to_port          = 0
                protocol         = "-1"
                cidr_blocks      = ["0.0.0.0/0"]
                ipv6_cidr_blocks = ["::/0"]
              }
            }
            """
        }
    )
    node = key("aws_security_group.node")
    assert [summary(r) for r in unit.model.rules] == [
        (node, "ingress", "tcp", "443", node, 8),
        (node, "ingress", "tcp", "10250", node, 8),
        (node, "egress", ALL, "all ports", "0.0.0.0/0", 16),
        (node, "egress", ALL, "all ports", "::/0", 16),
    ]
    assert [r.description for r in unit.model.rules[:2]] == ["https", "kubelet"]
    assert all(r.form is RuleForm.INLINE for r in unit.model.rules)
    (group,) = unit.model.security_groups
    assert group.has_inline == frozenset({Direction.INGRESS, Direction.EGRESS})


def test_attribute_list_ingress_one_rule_per_peer_at_the_item_line(module: Load) -> None:
    unit = module(
        {
            "main.tf": """
            resource "aws_security_group" "cp" {}
            resource "aws_security_group" "node" {
              ingress = [
                {
                  from_port        = 443
                  to_port          = 443
                  protocol         = "tcp"
                  cidr_blocks      = ["10.0.0.0/8"]
                  ipv6_cidr_blocks = []
                  security_groups  = [aws_security_group.cp.id]
                  prefix_list_ids  = ["pl-123"]
                  self             = false
                  description      = "api"
                },
                { from_port = 22, to_port = 22, protocol = "tcp", cidr_blocks = [] },
              ]
              egress = []
            }
            """
        }
    )
    node = key("aws_security_group.node")
    rules = unit.model.rules
    assert [summary(r) for r in rules] == [
        (node, "ingress", "tcp", "443", "10.0.0.0/8", 4),
        (node, "ingress", "tcp", "443", key("aws_security_group.cp"), 4),
        (node, "ingress", "tcp", "443", "prefix list pl-123", 4),
        (node, "ingress", "tcp", "22", "no peer", 15),
    ]
    assert isinstance(rules[2].peer, PrefixListPeer) and isinstance(rules[3].peer, NoPeer)
    group = next(g for g in unit.model.security_groups if g.key == node)
    assert group.has_inline == frozenset({Direction.INGRESS, Direction.EGRESS})


def test_no_default_egress_for_a_terraform_security_group(module: Load) -> None:
    unit = module({"main.tf": 'resource "aws_security_group" "node" {\n  name = "n"\n}\n'})
    assert unit.model.rules == ()
    assert unit.model.security_groups[0].has_inline == frozenset()


def test_vpc_security_group_rule_resources(module: Load) -> None:
    unit = module(
        {
            "main.tf": """
            resource "aws_security_group" "node" {}
            resource "aws_vpc_security_group_ingress_rule" "self" {
              security_group_id            = aws_security_group.node.id
              referenced_security_group_id = aws_security_group.node.id
              ip_protocol                  = "-1"
            }
            resource "aws_vpc_security_group_egress_rule" "dns" {
              security_group_id = aws_security_group.node.id
              ip_protocol       = "udp"
              from_port         = 53
              to_port           = 53
              cidr_ipv6         = "::/0"
            }
            resource "aws_vpc_security_group_egress_rule" "s3" {
              security_group_id = aws_security_group.node.id
              ip_protocol       = "tcp"
              from_port         = 443
              to_port           = 443
              prefix_list_id    = "pl-63a5400a"
            }
            """
        }
    )
    node = key("aws_security_group.node")
    assert [summary(r) for r in unit.model.rules] == [
        (node, "ingress", ALL, "all ports", node, 2),
        (node, "egress", "udp", "53", "::/0", 7),
        (node, "egress", "tcp", "443", "prefix list pl-63a5400a", 14),
    ]


def test_dynamic_blocks_over_a_set_use_the_element_as_key(module: Load) -> None:
    unit = module(
        {
            "main.tf": """
            resource "aws_security_group" "node" {
              dynamic "egress" {
                for_each = toset(["10.1.0.0/16", "10.0.0.0/16"])
                content {
                  description = egress.key
                  from_port   = 443
                  to_port     = 443
                  protocol    = "tcp"
                  cidr_blocks = [egress.value]
                }
              }
            }
            """
        }
    )
    assert [(r.description, str(r.peer)) for r in unit.model.rules] == [
        ("10.0.0.0/16", "10.0.0.0/16"),
        ("10.1.0.0/16", "10.1.0.0/16"),
    ]


def test_legacy_attribute_splat_and_join_of_one_id(module: Load) -> None:
    unit = module(
        {
            "main.tf": """
            resource "aws_security_group" "node" {
              count = 1
            }
            resource "aws_security_group_rule" "self" {
              type                     = "ingress"
              security_group_id        = join("", aws_security_group.node.*.id)
              source_security_group_id = element(aws_security_group.node[*].id, 0)
              protocol                 = "all"
              from_port                = 0
              to_port                  = 65535
            }
            """
        }
    )
    (rule,) = unit.model.rules
    node = key("aws_security_group.node[0]")
    assert (rule.group, rule.peer, rule.protocol) == (node, SgPeer(node), ALL)

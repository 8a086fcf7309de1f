"""Small EKS security-group topologies, written both as a CloudFormation template and a Terraform module.

A topology is one cluster with a control-plane group (in its VPC config), the cluster security group
EKS creates, 1-3 node groups (self-managed: an auto scaling group with a launch template that names
the group `node<i>`; managed without a launch template: the nodes carry the cluster security group),
and rules between those groups and CIDRs. Both renderings describe the same effective rules:

- A group's rules are all inline or all rule resources (`standalone`), so Terraform never mixes the
  two forms on one group (EKS305, which CloudFormation has no counterpart for).
- Inline rules name only groups earlier in `ORDER`, so that no template has a dependency cycle
  (CloudFormation and Terraform both reject one); rule resources may name any group.
- `default_egress` is EC2's allow-all egress: CloudFormation's implicit default when a group lists
  no egress, written out as explicit allow-all rules in Terraform (which has no default) and in
  CloudFormation whenever other egress rules are listed too.
- A group with no egress at all gets one inert rule (ICMP to 127.0.0.1/32), the usual CloudFormation
  way to drop the default; Terraform gets the same rule so that both sides stay identical.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from random import Random
from typing import TypeVar

T = TypeVar("T")

ORDER = ("cp", "cluster", "node0", "node1", "node2")  # inline rules name only earlier groups
PROTOCOLS = ("tcp", "udp", "-1", "icmp")
PORTS = (0, 22, 53, 442, 443, 444, 1024, 1025, 10250, 30000, 65535)
CIDRS = (
    "0.0.0.0/0",
    "::/0",
    "0.0.0.0/1",
    "128.0.0.0/1",
    "10.0.0.0/8",
    "10.0.0.0/16",
    "172.16.0.0/12",
    "192.168.0.0/16",
    "52.94.0.0/16",
    "2600:1f00::/24",
)
CLUSTER_ROLE = "arn:aws:iam::123456789012:role/eks-cluster"
NODE_ROLE = "arn:aws:iam::123456789012:role/eks-node"
VPC = "vpc-0123456789abcdef0"


@dataclass(frozen=True)
class RuleSpec:
    rid: int  # stable identity: names the rule resource, survives reordering
    direction: str  # "ingress" or "egress"
    group: str  # a name of ORDER
    protocol: str  # one of PROTOCOLS
    low: int
    high: int
    peer: str  # a name of ORDER, or a CIDR
    classic: bool = False  # Terraform rule resource: aws_security_group_rule, else aws_vpc_security_group_*_rule


@dataclass(frozen=True)
class GroupSpec:
    name: str  # "cp" or "node<i>"
    standalone: bool  # rules as rule resources, else inline
    default_egress: bool


@dataclass(frozen=True)
class Topology:
    cluster: str
    managed: tuple[bool, ...]  # per node group: managed without launch template, else self-managed
    groups: tuple[GroupSpec, ...]  # declared groups: "cp" and the group of each self-managed node group
    rules: tuple[RuleSpec, ...]

    def group(self, name: str) -> GroupSpec | None:
        return next((g for g in self.groups if g.name == name), None)

    def names(self) -> list[str]:
        return [n for n in ORDER if n == "cluster" or self.group(n) is not None]

    def inline(self, rule: RuleSpec) -> bool:
        group = self.group(rule.group)
        return group is not None and not group.standalone

    def allows(self, rule: RuleSpec) -> bool:
        """Whether `rule` can be written into this topology without a dependency cycle."""
        names = self.names()
        if rule.group not in names:
            return False
        if "/" in rule.peer:
            return True
        if rule.peer not in names:
            return False
        return not self.inline(rule) or ORDER.index(rule.peer) < ORDER.index(rule.group)

    def with_rule(self, rule: RuleSpec) -> Topology:
        return replace(self, rules=(*self.rules, rule))

    def without_rule(self, rid: int) -> Topology:
        return replace(self, rules=tuple(r for r in self.rules if r.rid != rid))

    def next_rid(self) -> int:
        return max((r.rid for r in self.rules), default=-1) + 1


# --- CloudFormation ---------------------------------------------------------------------------


class _Tag:
    """A short-form intrinsic (`!Ref X`, `!GetAtt X.Y`)."""

    def __init__(self, text: str) -> None:
        self.text = text


_CFN_GROUP_IDS = {"cp": "ControlPlaneSg", "node0": "Node0Sg", "node1": "Node1Sg", "node2": "Node2Sg"}


def _cfn_group(name: str) -> _Tag:
    if name == "cluster":
        return _Tag("!GetAtt Cluster.ClusterSecurityGroupId")
    return _Tag(f"!Ref {_CFN_GROUP_IDS[name]}")


def _cfn_rule_body(rule: RuleSpec) -> dict[str, object]:
    body: dict[str, object] = {"IpProtocol": rule.protocol}
    if rule.protocol in ("tcp", "udp"):
        body |= {"FromPort": rule.low, "ToPort": rule.high}
    elif rule.protocol == "icmp":
        body |= {"FromPort": -1, "ToPort": -1}
    if "/" in rule.peer:
        body["CidrIpv6" if ":" in rule.peer else "CidrIp"] = rule.peer
    else:
        key = "SourceSecurityGroupId" if rule.direction == "ingress" else "DestinationSecurityGroupId"
        body[key] = _cfn_group(rule.peer)
    return body


def _allow_all(group: str, rid: int) -> list[RuleSpec]:
    return [RuleSpec(rid, "egress", group, "-1", 0, 65535, cidr) for cidr in ("0.0.0.0/0", "::/0")]


def _inert(group: str, rid: int) -> RuleSpec:
    return RuleSpec(rid, "egress", group, "icmp", 0, 65535, "127.0.0.1/32")


def cloudformation(topology: Topology, rng: Random | None = None) -> str:
    """The topology as a CloudFormation YAML template; `rng` shuffles resources and rule lists."""
    resources: list[tuple[str, dict[str, object]]] = []
    cluster_props = {
        "Name": topology.cluster,
        "RoleArn": CLUSTER_ROLE,
        "ResourcesVpcConfig": {"SubnetIds": ["subnet-1", "subnet-2"], "SecurityGroupIds": [_cfn_group("cp")]},
    }
    resources.append(("Cluster", {"Type": "AWS::EKS::Cluster", "Properties": cluster_props}))
    for group in topology.groups:
        props: dict[str, object] = {"GroupDescription": group.name, "VpcId": VPC}
        inline = [] if group.standalone else [r for r in topology.rules if r.group == group.name]
        ingress = [_cfn_rule_body(r) for r in _shuffled([r for r in inline if r.direction == "ingress"], rng)]
        egress_rules = [r for r in inline if r.direction == "egress"]
        if ingress:
            props["SecurityGroupIngress"] = ingress
        if not (group.default_egress and (group.standalone or not egress_rules)):
            listed = (_allow_all(group.name, -1) if group.default_egress else []) + egress_rules
            props["SecurityGroupEgress"] = [
                _cfn_rule_body(r) for r in _shuffled(listed or [_inert(group.name, -1)], rng)
            ]
        resources.append((_CFN_GROUP_IDS[group.name], {"Type": "AWS::EC2::SecurityGroup", "Properties": props}))
    for index, managed in enumerate(topology.managed):
        resources.extend(_cfn_node_group(topology.cluster, index, managed))
    for rule in topology.rules:
        if topology.inline(rule):
            continue
        kind = "AWS::EC2::SecurityGroupIngress" if rule.direction == "ingress" else "AWS::EC2::SecurityGroupEgress"
        props = {"GroupId": _cfn_group(rule.group), **_cfn_rule_body(rule)}
        resources.append((f"Rule{rule.rid}", {"Type": kind, "Properties": props}))
    lines = ['AWSTemplateFormatVersion: "2010-09-09"', "Description: generated by tests/robustness", "Resources:"]
    for logical_id, resource in _shuffled(resources, rng):
        lines.append(f"  {logical_id}:")
        lines.extend(_yaml(resource, 4))
    return "\n".join(lines) + "\n"


def _cfn_node_group(cluster: str, index: int, managed: bool) -> list[tuple[str, dict[str, object]]]:
    if managed:
        props = {"ClusterName": _Tag("!Ref Cluster"), "NodeRole": NODE_ROLE, "Subnets": ["subnet-1"]}
        return [(f"Node{index}Group", {"Type": "AWS::EKS::Nodegroup", "Properties": props})]
    template = {"LaunchTemplateData": {"SecurityGroupIds": [_cfn_group(f"node{index}")]}}
    group = {
        "MinSize": "1",
        "MaxSize": "1",
        "VPCZoneIdentifier": ["subnet-1"],
        "LaunchTemplate": {
            "LaunchTemplateId": _Tag(f"!Ref Node{index}Template"),
            "Version": _Tag(f"!GetAtt Node{index}Template.LatestVersionNumber"),
        },
        "Tags": [{"Key": f"kubernetes.io/cluster/{cluster}", "Value": "owned", "PropagateAtLaunch": True}],
    }
    return [
        (f"Node{index}Template", {"Type": "AWS::EC2::LaunchTemplate", "Properties": template}),
        (f"Node{index}Group", {"Type": "AWS::AutoScaling::AutoScalingGroup", "Properties": group}),
    ]


def _yaml(value: object, indent: int) -> list[str]:
    """Block YAML for mappings of mappings/lists/scalars (lists of scalars inline)."""
    pad = " " * indent
    lines: list[str] = []
    assert isinstance(value, dict)
    for key, item in value.items():
        if isinstance(item, dict):
            lines.append(f"{pad}{key}:")
            lines.extend(_yaml(item, indent + 2))
        elif isinstance(item, list) and any(isinstance(i, dict) for i in item):
            lines.append(f"{pad}{key}:")
            for entry in item:
                body = _yaml(entry, indent + 4)
                lines.append(f"{pad}  - {body[0].lstrip()}")
                lines.extend(body[1:])
        elif isinstance(item, list):
            lines.append(f"{pad}{key}: [{', '.join(_scalar(i) for i in item)}]")
        else:
            lines.append(f"{pad}{key}: {_scalar(item)}")
    return lines


def _scalar(value: object) -> str:
    if isinstance(value, _Tag):
        return value.text
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    return json.dumps(str(value))  # a double-quoted YAML scalar


# --- Terraform --------------------------------------------------------------------------------

_TF_GROUP_NAMES = {"cp": "control_plane", "node0": "node0", "node1": "node1", "node2": "node2"}


def _tf_group(name: str) -> str:
    if name == "cluster":
        return "aws_eks_cluster.this.vpc_config[0].cluster_security_group_id"
    return f"aws_security_group.{_TF_GROUP_NAMES[name]}.id"


def _tf_ports(rule: RuleSpec, all_ports: tuple[int, int]) -> tuple[int, int] | None:
    if rule.protocol in ("tcp", "udp"):
        return rule.low, rule.high
    if rule.protocol == "icmp":
        return -1, -1
    return all_ports if all_ports != (-2, -2) else None


def _tf_inline(rule: RuleSpec) -> list[str]:
    ports = _tf_ports(rule, (0, 0))
    assert ports is not None
    lines = [
        f"  {rule.direction} {{",
        f"    from_port = {ports[0]}",
        f"    to_port   = {ports[1]}",
        f"    protocol  = {json.dumps(rule.protocol)}",
    ]
    if "/" in rule.peer:
        lines.append(f"    {'ipv6_cidr_blocks' if ':' in rule.peer else 'cidr_blocks'} = [{json.dumps(rule.peer)}]")
    else:
        lines.append(f"    security_groups = [{_tf_group(rule.peer)}]")
    return [*lines, "  }"]


def _tf_rule_resource(rule: RuleSpec) -> list[str]:
    if rule.classic:
        ports = _tf_ports(rule, (0, 0))
        assert ports is not None
        body = [
            f"  type              = {json.dumps(rule.direction)}",
            f"  security_group_id = {_tf_group(rule.group)}",
            f"  protocol          = {json.dumps(rule.protocol)}",
            f"  from_port         = {ports[0]}",
            f"  to_port           = {ports[1]}",
        ]
        if "/" in rule.peer:
            key = "ipv6_cidr_blocks" if ":" in rule.peer else "cidr_blocks"
            body.append(f"  {key} = [{json.dumps(rule.peer)}]")
        else:
            body.append(f"  source_security_group_id = {_tf_group(rule.peer)}")
        return [f'resource "aws_security_group_rule" "r{rule.rid}" {{', *body, "}"]
    body = [f"  security_group_id = {_tf_group(rule.group)}", f"  ip_protocol       = {json.dumps(rule.protocol)}"]
    ports = _tf_ports(rule, (-2, -2))
    if ports is not None:
        body += [f"  from_port = {ports[0]}", f"  to_port   = {ports[1]}"]
    if "/" in rule.peer:
        body.append(f"  {'cidr_ipv6' if ':' in rule.peer else 'cidr_ipv4'} = {json.dumps(rule.peer)}")
    else:
        body.append(f"  referenced_security_group_id = {_tf_group(rule.peer)}")
    kind = f"aws_vpc_security_group_{rule.direction}_rule"
    return [f'resource "{kind}" "r{rule.rid}" {{', *body, "}"]


def terraform(topology: Topology, rng: Random | None = None) -> dict[str, str]:
    """The topology as a Terraform module: file name -> text; `rng` shuffles blocks and rules."""
    main: list[list[str]] = [
        [
            'resource "aws_eks_cluster" "this" {',
            f"  name     = {json.dumps(topology.cluster)}",
            f"  role_arn = {json.dumps(CLUSTER_ROLE)}",
            "  vpc_config {",
            '    subnet_ids         = ["subnet-1", "subnet-2"]',
            f"    security_group_ids = [{_tf_group('cp')}]",
            "  }",
            "}",
        ]
    ]
    nodes: list[list[str]] = []
    rules: list[list[str]] = []
    for group in topology.groups:
        name = _TF_GROUP_NAMES[group.name]
        block = [
            f'resource "aws_security_group" "{name}" {{',
            f"  name   = {json.dumps(name)}",
            f"  vpc_id = {json.dumps(VPC)}",
        ]
        if group.standalone:
            extra = _allow_all(group.name, 0) if group.default_egress else [_inert(group.name, 0)]
            for offset, rule in enumerate(extra):
                rules.append(_tf_rule_resource(replace(rule, rid=1000 + 10 * ORDER.index(group.name) + offset)))
        else:
            own = [r for r in topology.rules if r.group == group.name]
            egress = [r for r in own if r.direction == "egress"]
            listed = [r for r in own if r.direction == "ingress"]
            listed += (_allow_all(group.name, -1) if group.default_egress else []) + egress
            if not egress and not group.default_egress:
                listed.append(_inert(group.name, -1))
            for rule in _shuffled(listed, rng):
                block.extend(_tf_inline(rule))
        (main if group.name == "cp" else nodes).append([*block, "}"])
    for index, managed in enumerate(topology.managed):
        nodes.extend(_tf_node_group(topology.cluster, index, managed))
    rules.extend(_tf_rule_resource(rule) for rule in topology.rules if not topology.inline(rule))
    files = {"main.tf": main, "nodes.tf": nodes, "rules.tf": rules}
    return {name: "\n".join("\n".join(b) + "\n" for b in _shuffled(blocks, rng)) for name, blocks in files.items()}


def _tf_node_group(cluster: str, index: int, managed: bool) -> list[list[str]]:
    if managed:
        return [
            [
                f'resource "aws_eks_node_group" "node{index}" {{',
                "  cluster_name    = aws_eks_cluster.this.name",
                f'  node_group_name = "node{index}"',
                f"  node_role_arn   = {json.dumps(NODE_ROLE)}",
                '  subnet_ids      = ["subnet-1"]',
                "  scaling_config {",
                "    desired_size = 1",
                "    max_size     = 1",
                "    min_size     = 1",
                "  }",
                "}",
            ]
        ]
    return [
        [
            f'resource "aws_launch_template" "node{index}" {{',
            f'  name_prefix            = "node{index}-"',
            f"  vpc_security_group_ids = [{_tf_group(f'node{index}')}]",
            "}",
        ],
        [
            f'resource "aws_autoscaling_group" "node{index}" {{',
            "  min_size            = 1",
            "  max_size            = 1",
            '  vpc_zone_identifier = ["subnet-1"]',
            "  launch_template {",
            f"    id      = aws_launch_template.node{index}.id",
            '    version = "$Latest"',
            "  }",
            "  tag {",
            f'    key                 = "kubernetes.io/cluster/{cluster}"',
            '    value               = "owned"',
            "    propagate_at_launch = true",
            "  }",
            "}",
        ],
    ]


def _shuffled(items: Sequence[T], rng: Random | None) -> list[T]:
    out = list(items)
    if rng is not None:
        rng.shuffle(out)
    return out


def write_terraform(directory: Path, topology: Topology, rng: Random | None = None) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, text in terraform(topology, rng).items():
        (directory / name).write_text(text, encoding="utf-8")
        paths.append(directory / name)
    return paths

"""Generate realistic EKS CloudFormation templates of a chosen size, for the benchmark.

One template is one cluster: a control-plane security group, an `AWS::EKS::Cluster`, a node security group
shared by all node groups (eksctl's `ClusterSharedNodeSecurityGroup` pattern: all traffic between nodes), and
N self-managed node groups, each with its own node security group, launch template and Auto Scaling group. The rules are
split the way real templates split them: a few inline on the groups, most as standalone
`AWS::EC2::SecurityGroupIngress` / `AWS::EC2::SecurityGroupEgress` resources. Every node group gets the
rules the AWS tables require (443 node -> control plane, 1025-65535 and 443 control plane -> node, node to
node; plus the shared group's one rule), then filler rules (application ports from VPC CIDRs, traffic
between node groups, DNS, egress to databases) until the requested count is reached.

Usage as a script (writes into a directory, prints the paths):

    python benchmarks/generate.py --rules 10000 OUTDIR
    python benchmarks/generate.py --templates 100 OUTDIR
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

RULES_PER_NODE_GROUP = 100
"""Node groups in a generated rules template: one per this many rules (at least one)."""
SMALL_TEMPLATE_RULES = 12
"""Rules in each template of the "N templates" inputs: about what a hand-written node-group stack has."""
REQUIRED_RULES_PER_NODE_GROUP = 6
SHARED_RULES = 1
SHARED_SG = "SharedNodeSecurityGroup"

_APP_PORTS = (80, 443, 8080, 8443, 9090, 9100, 3000, 5000, 6379, 9200, 15017, 15012)
_DB_PORTS = (5432, 3306, 6379, 27017, 9092)


@dataclass(frozen=True)
class _Rule:
    """One security-group rule: on `group` (a logical id), ingress or egress, to/from a CIDR or a group."""

    group: str
    egress: bool
    protocol: str
    from_port: int
    to_port: int
    description: str
    cidr: str = ""
    peer: str = ""

    def properties(self, indent: str, with_group: bool) -> Iterator[str]:
        if with_group:
            yield f"{indent}GroupId: !Ref {self.group}"
        yield f"{indent}Description: {self.description}"
        yield f'{indent}IpProtocol: "{self.protocol}"'
        if self.protocol != "-1":
            yield f"{indent}FromPort: {self.from_port}"
            yield f"{indent}ToPort: {self.to_port}"
        if self.cidr:
            yield f"{indent}CidrIp: {self.cidr}"
        elif self.egress:
            yield f"{indent}DestinationSecurityGroupId: !GetAtt {self.peer}.GroupId"
        else:
            yield f"{indent}SourceSecurityGroupId: !Ref {self.peer}"


def node_groups_for(rules: int) -> int:
    """How many node groups a template with `rules` rules gets (the rules are spread across them)."""
    return max(1, rules // RULES_PER_NODE_GROUP)


def _node_sg(index: int) -> str:
    return f"NodeSecurityGroup{index:04d}"


def _required_rules(index: int) -> tuple[list[_Rule], list[_Rule]]:
    """(inline, standalone) rules every node group needs, per the AWS security-group requirements.
    A rule that names a group is a resource of its own: written inline, a group naming itself (or two
    naming each other) is a circular dependency, which CloudFormation refuses."""
    node, cp = _node_sg(index), "ControlPlaneSecurityGroup"
    inline = [_Rule(node, True, "-1", 0, 0, "Nodes reach anything", cidr="0.0.0.0/0")]
    standalone = [
        _Rule(node, False, "-1", 0, 0, "Node to node, all traffic", peer=node),
        _Rule(cp, False, "tcp", 443, 443, "Nodes call the API server", peer=node),
        _Rule(cp, True, "tcp", 1025, 65535, "Control plane reaches node ports", peer=node),
        _Rule(node, False, "tcp", 1025, 65535, "Control plane to kubelet and pods", peer=cp),
        _Rule(node, False, "tcp", 443, 443, "Control plane to extension API servers", peer=cp),
    ]
    return inline, standalone


def _filler_rule(serial: int, index: int, groups: int) -> _Rule:
    """The `serial`-th extra rule, on node group `index`: a mix of the kinds real templates carry."""
    node = _node_sg(index)
    other = _node_sg((index + 1 + serial) % groups)
    kind = serial % 5
    port = _APP_PORTS[serial % len(_APP_PORTS)]
    if kind == 0:
        cidr = f"10.{(serial // 250) % 250}.{serial % 250}.0/24"
        return _Rule(node, False, "tcp", port, port, f"App port {port} from a VPC subnet", cidr=cidr)
    if kind == 1:
        low = 30000 + (serial % 2000)
        return _Rule(node, False, "tcp", low, low + 10, "Node ports from a sibling node group", peer=other)
    if kind == 2:
        return _Rule(node, False, "udp", 53, 53, "DNS from a sibling node group", peer=other)
    if kind == 3:
        db = _DB_PORTS[serial % len(_DB_PORTS)]
        cidr = f"10.200.{serial % 250}.0/24"
        return _Rule(node, True, "tcp", db, db, f"Database port {db} in a data subnet", cidr=cidr)
    return _Rule(node, True, "tcp", port, port, f"Port {port} to a sibling node group", peer=other)


def cluster_template(rules: int, node_groups: int | None = None, name: str = "bench") -> str:
    """A CloudFormation YAML template: one cluster `name`, `node_groups` node groups, exactly `rules` rules."""
    groups = node_groups_for(rules) if node_groups is None else node_groups
    required = SHARED_RULES + REQUIRED_RULES_PER_NODE_GROUP * groups
    if groups < 1 or rules < required:
        raise ValueError(f"{rules} rules cannot cover the {required} required rules of {groups} node group(s)")
    inline: dict[str, list[_Rule]] = {_node_sg(i): [] for i in range(groups)}
    inline[SHARED_SG] = []
    standalone = [_Rule(SHARED_SG, False, "-1", 0, 0, "All traffic between all nodes", peer=SHARED_SG)]
    for i in range(groups):
        required_inline, required_standalone = _required_rules(i)
        inline[_node_sg(i)].extend(required_inline)
        standalone.extend(required_standalone)
    for serial in range(rules - required):
        rule = _filler_rule(serial, serial % groups, groups)
        if serial % 7 == 6 and rule.cidr:  # some extra rules to subnets are written inline on their group
            inline[rule.group].append(rule)
        else:
            standalone.append(rule)

    out = [
        'AWSTemplateFormatVersion: "2010-09-09"',
        f"Description: Generated by benchmarks/generate.py - cluster {name}, {groups} node group(s), {rules} rules",
        "Parameters:",
        "  VpcId:",
        "    Type: AWS::EC2::VPC::Id",
        "  SubnetIds:",
        "    Type: List<AWS::EC2::Subnet::Id>",
        "  ClusterRoleArn:",
        "    Type: String",
        "  NodeImageId:",
        "    Type: AWS::EC2::Image::Id",
        "Resources:",
        "  ControlPlaneSecurityGroup:",
        "    Type: AWS::EC2::SecurityGroup",
        "    Properties:",
        "      GroupDescription: Cluster communication with worker nodes",
        "      VpcId: !Ref VpcId",
        "  Cluster:",
        "    Type: AWS::EKS::Cluster",
        "    Properties:",
        f"      Name: {name}",
        '      Version: "1.31"',
        "      RoleArn: !Ref ClusterRoleArn",
        "      ResourcesVpcConfig:",
        "        SecurityGroupIds:",
        "          - !Ref ControlPlaneSecurityGroup",
        "        SubnetIds: !Ref SubnetIds",
    ]
    for i in range(-1, groups):
        node = SHARED_SG if i < 0 else _node_sg(i)
        out += [
            f"  {node}:",
            "    Type: AWS::EC2::SecurityGroup",
            "    Properties:",
            "      GroupDescription: " + ("Communication between all nodes" if i < 0 else f"Nodes of node group {i}"),
            "      VpcId: !Ref VpcId",
        ]
        if i >= 0:
            out += ["      Tags:", f"        - Key: kubernetes.io/cluster/{name}", "          Value: owned"]
        for key, egress in (("SecurityGroupIngress", False), ("SecurityGroupEgress", True)):
            rows = [r for r in inline[node] if r.egress is egress]
            if rows:
                out.append(f"      {key}:")
                for rule in rows:
                    lines = list(rule.properties("          ", with_group=False))
                    out.append("        - " + lines[0].lstrip())
                    out.extend(lines[1:])
        if i < 0:
            continue
        out += [
            f"  NodeLaunchTemplate{i:04d}:",
            "    Type: AWS::EC2::LaunchTemplate",
            "    Properties:",
            "      LaunchTemplateData:",
            "        ImageId: !Ref NodeImageId",
            "        InstanceType: m5.large",
            "        SecurityGroupIds:",
            f"          - !Ref {node}",
            f"          - !Ref {SHARED_SG}",
            "        UserData:",
            "          Fn::Base64: !Sub |",
            "            #!/bin/bash",
            f"            /etc/eks/bootstrap.sh {name}",
            f"  NodeGroup{i:04d}:",
            "    Type: AWS::AutoScaling::AutoScalingGroup",
            "    Properties:",
            '      MinSize: "2"',
            '      MaxSize: "4"',
            "      VPCZoneIdentifier: !Ref SubnetIds",
            "      LaunchTemplate:",
            f"        LaunchTemplateId: !Ref NodeLaunchTemplate{i:04d}",
            f"        Version: !GetAtt NodeLaunchTemplate{i:04d}.LatestVersionNumber",
            "      Tags:",
            f"        - Key: kubernetes.io/cluster/{name}",
            "          Value: owned",
            "          PropagateAtLaunch: true",
        ]
    for serial, rule in enumerate(standalone):
        kind = "Egress" if rule.egress else "Ingress"
        out += [f"  Rule{serial:05d}{kind}:", f"    Type: AWS::EC2::SecurityGroup{kind}", "    Properties:"]
        out.extend(rule.properties("      ", with_group=True))
    return "\n".join(out) + "\n"


def write_rules_template(directory: Path, rules: int) -> Path:
    """One template with `rules` rules across `node_groups_for(rules)` node groups, in `directory`."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"cluster-{rules}-rules.yaml"
    path.write_text(cluster_template(rules, name=f"bench-{rules}"), encoding="utf-8")
    return path


def write_templates(directory: Path, count: int) -> list[Path]:
    """`count` small templates (one cluster, one node group, SMALL_TEMPLATE_RULES rules each) in `directory`."""
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for k in range(count):
        path = directory / f"cluster-{k:04d}.yaml"
        path.write_text(cluster_template(SMALL_TEMPLATE_RULES, 1, name=f"bench-{k:04d}"), encoding="utf-8")
        paths.append(path)
    return paths


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Generate EKS CloudFormation templates for the benchmark.")
    size = parser.add_mutually_exclusive_group(required=True)
    size.add_argument("--rules", type=int, help="one template with this many security-group rules")
    size.add_argument("--templates", type=int, help="this many small templates")
    parser.add_argument("outdir", type=Path)
    args = parser.parse_args(argv)
    if args.rules is not None:
        print(write_rules_template(args.outdir, args.rules))
    else:
        for path in write_templates(args.outdir, args.templates):
            print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""CloudFormation template -> model, one construct at a time, with exact keys, values and lines."""

from __future__ import annotations

import ipaddress
from datetime import date
from textwrap import dedent

import pytest

from eks_sg_policy.errors import ScanError
from eks_sg_policy.loaders.base import LoadedUnit, Suppression
from eks_sg_policy.loaders.cfn_yaml import load
from eks_sg_policy.loaders.cloudformation import load_cloudformation, load_cloudformation_document
from eks_sg_policy.model import (
    CidrPeer,
    ClusterLink,
    Direction,
    GroupRef,
    Guard,
    Model,
    NodeGroupKind,
    NoPeer,
    PrefixListPeer,
    Provenance,
    Rule,
    RuleForm,
    SecurityGroup,
    SgOrigin,
    SgPeer,
    Unresolved,
    UnresolvedPeer,
)
from eks_sg_policy.net import ALL_PORTS, INTERNET_V4, INTERNET_V6, PortRange

PATH = "stacks/eks.yaml"
INGRESS, EGRESS = Direction.INGRESS, Direction.EGRESS


def unit(text: str, params: dict[str, str] | None = None) -> LoadedUnit:
    loaded = load_cloudformation(PATH, dedent(text), params or {})
    assert loaded is not None
    assert loaded.files == (PATH,)
    return loaded


def model(text: str, params: dict[str, str] | None = None) -> Model:
    return unit(text, params).model


def scan_error(text: str, params: dict[str, str] | None = None) -> ScanError:
    with pytest.raises(ScanError) as info:
        load_cloudformation(PATH, dedent(text), params or {})
    assert info.value.file == PATH
    return info.value


def key(logical_id: str) -> str:
    return f"cfn:{PATH}:{logical_id}"


def at(line: int, resource: str) -> Provenance:
    return Provenance(PATH, line, resource)


def groups_by_key(m: Model) -> dict[str, SecurityGroup]:
    assert len({g.key for g in m.security_groups}) == len(m.security_groups), "one entry per key"
    return {g.key: g for g in m.security_groups}


def rules_of(m: Model, group: str | None, direction: Direction) -> list[Rule]:
    return [r for r in m.rules if r.group == group and r.direction is direction]


def default_egress(group: str, line: int, resource: str) -> list[Rule]:
    why = "default egress (no SecurityGroupEgress)"
    return [
        Rule(group, EGRESS, "all", ALL_PORTS, CidrPeer(net), at(line, resource), RuleForm.IMPLICIT, why)
        for net in (INTERNET_V4, INTERNET_V6)
    ]


# --- what is and is not CloudFormation ----------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    ["apiVersion: v1\nkind: ConfigMap\n", "- a\n- b\n", "Resources:\n  a: 1\n", "", '{"x": {"Type": "Thing"}}'],
)
def test_yaml_and_json_that_are_not_cloudformation_give_none(text: str) -> None:
    assert load_cloudformation(PATH, text, {}) is None


def test_a_resources_only_fragment_is_cloudformation() -> None:
    fragment = '{\n  "SG": {\n    "Type": "AWS::EC2::SecurityGroup",\n    "Properties": {}\n  }\n}\n'
    m = model(fragment)
    assert [(g.key, g.provenance.line) for g in m.security_groups] == [(key("SG"), 2)]


def test_an_already_parsed_document_loads_the_same() -> None:
    text = dedent(GROUP)
    assert load_cloudformation_document(PATH, load(PATH, text), {}) == load_cloudformation(PATH, text, {})
    assert load_cloudformation_document(PATH, load(PATH, "a: 1\n"), {}) is None


def test_a_template_with_a_version_and_broken_resources_is_an_error() -> None:
    assert scan_error('AWSTemplateFormatVersion: "2010-09-09"\nResources: [a]\n').line == 2
    assert scan_error('AWSTemplateFormatVersion: "2010-09-09"\n').message == "the template has no Resources"
    err = scan_error("Resources:\n  A:\n    Type: AWS::SNS::Topic\n  B:\n    Properties: {}\n")
    assert (err.message, err.line) == ("B: a resource must be a mapping with a Type", 4)


# --- security groups and inline rules -----------------------------------------------------------

GROUP = """\
Parameters:
  ClusterName:
    Type: String
Resources:
  VPC:
    Type: AWS::EC2::VPC
    Properties:
      CidrBlock: 10.1.0.0/16
  NodeSG:
    Type: AWS::EC2::SecurityGroup
    Properties:
      GroupDescription: nodes
      VpcId: !Ref VPC
      Tags:
        - Key: !Sub kubernetes.io/cluster/${ClusterName}
          Value: owned
        - Key: Name
          Value: !Sub ${ClusterName}-nodes
      SecurityGroupIngress:
        - IpProtocol: tcp
          FromPort: 443
          ToPort: "443"
          CidrIp: 10.1.0.0/16
          Description: api
        - IpProtocol: "-1"
          FromPort: 5
          ToPort: 1
          SourceSecurityGroupId: !GetAtt PeerSG.GroupId
        - IpProtocol: udp
          FromPort: 53
          ToPort: 53
          CidrIpv6: "2001:db8::1/32"
        - IpProtocol: icmp
          FromPort: -1
          ToPort: -1
          SourcePrefixListId: pl-123
        - IpProtocol: 6
          FromPort: 22
          ToPort: 22
  PeerSG:  # not NodeSG itself: CloudFormation rejects a group whose inline rules name it
    Type: AWS::EC2::SecurityGroup
    Properties:
      GroupDescription: peers
"""


def test_a_declared_group_with_its_tags_vpc_and_lines() -> None:
    m = model(GROUP)
    group = groups_by_key(m)[key("NodeSG")]
    assert group.name == "NodeSG"
    assert group.origin is SgOrigin.DECLARED
    assert group.provenance == at(9, "NodeSG")
    assert group.vpc == key("VPC")
    assert group.has_inline == frozenset()  # CloudFormation: inline rules are not exclusive
    assert group.tags == (
        ("kubernetes.io/cluster/${ClusterName}", "owned"),
        ("Name", Unresolved('parameter ClusterName has no value (in "${ClusterName}-nodes")', at(18, "NodeSG"),
                            "--param ClusterName=VALUE")),
    )  # fmt: skip


def test_inline_rules_with_their_lines_protocols_ports_and_peers() -> None:
    m = model(GROUP)
    sg = key("NodeSG")
    assert rules_of(m, sg, INGRESS) == [
        Rule(sg, INGRESS, "tcp", PortRange(443, 443), CidrPeer(ipaddress.ip_network("10.1.0.0/16")),
             at(20, "NodeSG"), RuleForm.INLINE, "api"),
        Rule(sg, INGRESS, "all", ALL_PORTS, SgPeer(key("PeerSG")), at(25, "NodeSG"), RuleForm.INLINE),
        Rule(sg, INGRESS, "udp", PortRange(53, 53), CidrPeer(ipaddress.ip_network("2001:db8::/32")),
             at(29, "NodeSG"), RuleForm.INLINE),
        Rule(sg, INGRESS, "icmp", ALL_PORTS, PrefixListPeer("pl-123"), at(33, "NodeSG"), RuleForm.INLINE),
        Rule(sg, INGRESS, "tcp", PortRange(22, 22), NoPeer(), at(37, "NodeSG"), RuleForm.INLINE),
    ]  # fmt: skip


def test_no_security_group_egress_means_the_ec2_default_allow_all() -> None:
    m = model(GROUP)
    assert rules_of(m, key("NodeSG"), EGRESS) == default_egress(key("NodeSG"), 9, "NodeSG")


EGRESS_FORMS = """\
Parameters:
  Open:
    Type: String
Conditions:
  IsOpen: !Equals [!Ref Open, "yes"]
Resources:
  Empty:
    Type: AWS::EC2::SecurityGroup
    Properties:
      SecurityGroupEgress: []
  NoValue:
    Type: AWS::EC2::SecurityGroup
    Properties:
      SecurityGroupEgress: !Ref AWS::NoValue
  Undecided:
    Type: AWS::EC2::SecurityGroup
    Properties:
      SecurityGroupEgress: !If
        - IsOpen
        - [{IpProtocol: "-1", CidrIp: 0.0.0.0/0}]
        - []
"""


def test_egress_present_absent_and_undecidable() -> None:
    m = model(EGRESS_FORMS)
    assert rules_of(m, key("Empty"), EGRESS) == []
    assert groups_by_key(m)[key("Empty")].has_inline == frozenset()
    assert rules_of(m, key("NoValue"), EGRESS) == default_egress(key("NoValue"), 11, "NoValue")
    assert groups_by_key(m)[key("NoValue")].has_inline == frozenset()
    # Undecidable: the group is read once per case; each case's rules carry a guard naming it.
    undecided = rules_of(m, key("Undecided"), EGRESS)
    cases = {r.condition.terms for r in undecided if isinstance(r.condition, Guard)}
    assert cases == {(("stacks/eks.yaml:IsOpen", True),)}  # the false case is an empty list: no egress at all
    opened = [r for r in undecided if isinstance(r.condition, Guard) and r.condition.terms[0][1]]
    assert [(r.protocol, r.peer, r.provenance.line) for r in opened] == [("all", CidrPeer(INTERNET_V4), 20)]
    assert all(isinstance(r.condition, Guard) and r.condition.why.provenance.line == 18 for r in undecided)
    decided = model(EGRESS_FORMS, {"Open": "yes"})
    [rule] = rules_of(decided, key("Undecided"), EGRESS)
    assert (rule.protocol, rule.peer, rule.provenance.line) == ("all", CidrPeer(INTERNET_V4), 20)


def test_an_undecidable_rule_item_is_read_in_each_case() -> None:
    m = model(
        """\
        Parameters: {P: {Type: String}}
        Conditions: {C: !Equals [!Ref P, x]}
        Resources:
          SG:
            Type: AWS::EC2::SecurityGroup
            Properties:
              SecurityGroupIngress:
                - !If [C, {IpProtocol: tcp, FromPort: 1, ToPort: 2, CidrIp: 1.2.3.4/32}, !Ref AWS::NoValue]
        """
    )
    [rule] = rules_of(m, key("SG"), INGRESS)  # the false branch (AWS::NoValue) creates no rule
    assert (rule.protocol, rule.ports, rule.peer, rule.provenance.line) == (
        "tcp",
        PortRange(1, 2),
        CidrPeer(ipaddress.ip_network("1.2.3.4/32")),
        8,
    )
    assert isinstance(rule.condition, Guard) and rule.condition.terms == (("stacks/eks.yaml:C", True),)
    assert rule.condition.why.what == "SG depends on condition(s) C, which cannot be decided"


# --- keys: one group, one key -------------------------------------------------------------------

KEYS = """\
Parameters:
  ControlPlaneSG:
    Type: AWS::EC2::SecurityGroup::Id
  ClusterStackName:
    Type: String
  ExtraGroups:
    Type: List<AWS::EC2::SecurityGroup::Id>
Resources:
  NodeSG:
    Type: AWS::EC2::SecurityGroup
    Properties:
      GroupDescription: nodes
  ByRef:
    Type: AWS::EC2::SecurityGroupIngress
    Properties: {GroupId: !Ref NodeSG, IpProtocol: tcp, FromPort: 1, ToPort: 1,
                 SourceSecurityGroupId: !Ref ControlPlaneSG}
  ByGetAtt:
    Type: AWS::EC2::SecurityGroupIngress
    Properties:
      GroupId: !GetAtt NodeSG.GroupId
      IpProtocol: tcp
      FromPort: 2
      ToPort: 2
      SourceSecurityGroupId: !ImportValue shared-SG
  Imported:
    Type: AWS::EC2::SecurityGroupEgress
    Properties:
      GroupId: !ImportValue shared-SG
      IpProtocol: tcp
      FromPort: 3
      ToPort: 3
      DestinationSecurityGroupId: !ImportValue {"Fn::Sub": "${ClusterStackName}-SG"}
  Literal:
    Type: AWS::EC2::SecurityGroupEgress
    Properties:
      GroupId: sg-0123
      IpProtocol: tcp
      FromPort: 4
      ToPort: 4
      DestinationSecurityGroupId: !Ref ControlPlaneSG
  Custom:
    Type: Custom::NodeSG
  Stack:
    Type: AWS::CloudFormation::Stack
  ToCustom:
    Type: AWS::EC2::SecurityGroupIngress
    Properties:
      GroupId: !GetAtt Stack.Outputs.NodeSecurityGroup
      IpProtocol: tcp
      FromPort: 5
      ToPort: 5
      SourceSecurityGroupId: !Ref Custom
  Instance:
    Type: AWS::EC2::Instance
    Properties:
      SecurityGroupIds: !Ref ExtraGroups
      SecurityGroups: ["{{resolve:ssm:/sg/id}}", !Ref NodeSG]
"""


def test_ref_and_get_att_group_id_give_one_key() -> None:
    m = model(KEYS)
    assert [r.group for r in m.rules if r.provenance.resource in ("ByRef", "ByGetAtt")] == [key("NodeSG")] * 2


def test_external_groups_have_stable_identities() -> None:
    m = model(KEYS)
    groups = groups_by_key(m)
    param = f"param:{PATH}:ControlPlaneSG"
    assert groups[param] == SecurityGroup(param, "ControlPlaneSG", SgOrigin.EXTERNAL, at(2, "ControlPlaneSG"),
                                          ref=GroupRef("parameter", "ControlPlaneSG"))  # fmt: skip
    assert groups["import:shared-SG"].origin is SgOrigin.EXTERNAL
    assert groups["import:shared-SG"].name == "shared-SG"
    unresolved_import = f"import:{PATH}:${{ClusterStackName}}-SG"
    assert groups[unresolved_import].name == "${ClusterStackName}-SG"
    assert groups["sg-0123"].origin is SgOrigin.EXTERNAL
    assert groups[f"ext:{PATH}:Stack.Outputs.NodeSecurityGroup"].origin is SgOrigin.EXTERNAL
    assert groups[f"ext:{PATH}:Custom"].origin is SgOrigin.EXTERNAL
    by_resource = {r.provenance.resource: r for r in m.rules}
    assert by_resource["ByRef"].peer == SgPeer(param)
    assert by_resource["Literal"].peer == SgPeer(param)
    assert by_resource["ByGetAtt"].peer == SgPeer("import:shared-SG")
    assert by_resource["Imported"].group == "import:shared-SG"
    assert by_resource["Imported"].peer == SgPeer(unresolved_import)
    assert by_resource["ToCustom"].group == f"ext:{PATH}:Stack.Outputs.NodeSecurityGroup"
    assert by_resource["ToCustom"].peer == SgPeer(f"ext:{PATH}:Custom")
    assert set(groups) == {key("NodeSG"), param, "import:shared-SG", unresolved_import, "sg-0123",
                           f"ext:{PATH}:Stack.Outputs.NodeSecurityGroup", f"ext:{PATH}:Custom"}  # fmt: skip


def test_a_parameter_value_is_the_group_id() -> None:
    m = model(KEYS, {"ControlPlaneSG": "sg-cp", "ClusterStackName": "blue"})
    by_resource = {r.provenance.resource: r for r in m.rules}
    assert by_resource["ByRef"].peer == SgPeer("sg-cp")
    assert by_resource["Imported"].peer == SgPeer("import:blue-SG")
    assert groups_by_key(m)["sg-cp"] == SecurityGroup("sg-cp", "sg-cp", SgOrigin.EXTERNAL, at(16, "ByRef"),
                                                      ref=GroupRef("literal", "sg-cp"))  # fmt: skip
    assert f"param:{PATH}:ControlPlaneSG" not in groups_by_key(m)


def test_other_attachments_and_groups_known_only_at_deploy_time() -> None:
    m = model(KEYS)
    assert m.other_attachments == ((key("NodeSG"), at(53, "Instance")),)
    with_list = model(KEYS, {"ExtraGroups": "sg-1,sg-2"})
    assert [g for g, _ in with_list.other_attachments] == ["sg-1", "sg-2", key("NodeSG")]


# --- standalone rules ---------------------------------------------------------------------------


def test_a_standalone_rule_without_a_group_has_group_none() -> None:
    m = model(
        """\
        Resources:
          SG:
            Type: AWS::EC2::SecurityGroup
          Orphan:
            Type: AWS::EC2::SecurityGroupEgress
            Properties:
              IpProtocol: tcp
              FromPort: 1025
              ToPort: 65535
              DestinationSecurityGroupId: !Ref SG
          ByName:
            Type: AWS::EC2::SecurityGroupIngress
            Properties: {GroupName: !Ref SG, IpProtocol: "-1", SourceSecurityGroupName: !Ref SG}
        """
    )
    orphan = Rule(None, EGRESS, "tcp", PortRange(1025, 65535), SgPeer(key("SG")), at(4, "Orphan"))
    by_name = Rule(key("SG"), INGRESS, "all", ALL_PORTS, SgPeer(key("SG")), at(11, "ByName"))
    assert [r for r in m.rules if r.form is RuleForm.STANDALONE] == [orphan, by_name]


def test_values_computed_by_functions_in_rules() -> None:
    m = model(
        """\
        Parameters:
          Env: {Type: String, Default: prod}
          Ports: {Type: CommaDelimitedList, Default: "80,8443"}
          Port: {Type: Number}
        Mappings:
          Nets: {prod: {Cidr: 10.0.0.0/8}}
        Resources:
          SG:
            Type: AWS::EC2::SecurityGroup
          Rule:
            Type: AWS::EC2::SecurityGroupIngress
            Properties:
              GroupId: !Ref SG
              IpProtocol: !Join ["", [t, c, p]]
              FromPort: !Select [1, !Ref Ports]
              ToPort: !Select [1, !Ref Ports]
              CidrIp: !FindInMap [Nets, !Ref Env, Cidr]
              Description: !Sub "${Env} api"
          Unknown:
            Type: AWS::EC2::SecurityGroupIngress
            Properties: {GroupId: !Ref SG, IpProtocol: tcp, FromPort: !Ref Port, ToPort: 1, CidrIp: !Ref Port}
        """
    )
    rule, unknown = rules_of(m, key("SG"), INGRESS)
    peer = CidrPeer(ipaddress.ip_network("10.0.0.0/8"))
    assert rule == Rule(key("SG"), INGRESS, "tcp", PortRange(8443, 8443), peer, at(10, "Rule"), description="prod api")
    why = Unresolved("parameter Port has no value", at(21, "Unknown"), "--param Port=VALUE")
    assert (unknown.protocol, unknown.ports, unknown.peer) == ("tcp", why, UnresolvedPeer(why))


# --- errors in rules ----------------------------------------------------------------------------

RULE = """\
Resources:
  SG:
    Type: AWS::EC2::SecurityGroup
  R:
    Type: AWS::EC2::SecurityGroupIngress
    Properties:
      GroupId: !Ref SG
      IpProtocol: {protocol}
      FromPort: {low}
      ToPort: {high}
      CidrIp: {cidr}
"""


@pytest.mark.parametrize(
    ("fields", "message", "line"),
    [
        ({"low": "abc"}, "R: FromPort: port must be a number, not 'abc'", 9),
        ({"high": "[1]"}, "R: ToPort: port must be a number, not [1]", 10),
        ({"low": "444"}, "R: FromPort 444 is greater than ToPort 443", 9),
        ({"high": "70000"}, "R: port out of range: 443-70000 (ports are 0-65535)", 9),
        ({"protocol": "gre"}, "R: IpProtocol: unknown IP protocol 'gre'", 8),
        ({"cidr": "10.0.0.300/8"}, "R: CidrIp: invalid CIDR '10.0.0.300/8': "
                                   "'10.0.0.300/8' does not appear to be an IPv4 or IPv6 network", 11),
        ({"cidr": "10.0.0.0"}, "R: CidrIp: CIDR '10.0.0.0' has no prefix length", 11),
        ({"cidr": "!Ref Nope"}, "Ref to undefined parameter or resource 'Nope'", 11),
    ],
)  # fmt: skip
def test_broken_rules_are_scan_errors_at_the_offending_line(fields: dict[str, str], message: str, line: int) -> None:
    values = {"protocol": "tcp", "low": "443", "high": "443", "cidr": "10.0.0.0/8", **fields}
    error = scan_error(RULE.format(**values))
    assert (error.message, error.line) == (message, line)


def test_structural_errors_in_groups_and_rules() -> None:
    base = "Resources:\n  SG:\n    Type: AWS::EC2::SecurityGroup\n    Properties:\n"
    err = scan_error(base + "      SecurityGroupIngress: {IpProtocol: tcp}\n")
    assert (err.message, err.line) == ("SG: SecurityGroupIngress must be a list of rules", 5)
    err = scan_error(base + "      SecurityGroupIngress:\n        - tcp\n")
    assert (err.message, err.line) == ("SG: a security group rule must be a mapping", 6)
    err = scan_error(base + "      SecurityGroupIngress:\n        - {CidrIp: 1.1.1.1/32}\n")
    assert (err.message, err.line) == ("SG: a rule needs IpProtocol", 6)
    err = scan_error(base + "      SecurityGroupIngress:\n        - {IpProtocol: tcp, CidrIp: 1.1.1.1/32}\n")
    assert (err.message, err.line) == ("SG: FromPort is required for protocol tcp", 6)
    two = "        - {IpProtocol: '-1', CidrIp: 1.1.1.1/32, SourcePrefixListId: pl-1}\n"
    err = scan_error(base + "      SecurityGroupIngress:\n" + two)
    assert (err.message, err.line) == ("SG: a rule takes one peer, not CidrIp and SourcePrefixListId", 6)
    err = scan_error("Resources:\n  SG:\n    Type: AWS::EC2::SecurityGroup\n    Properties: [a]\n")
    assert (err.message, err.line) == ("SG: Properties must be a mapping", 4)
    err = scan_error("Resources:\n  SG:\n    Type: AWS::EC2::SecurityGroup\n    Condition: Nope\n")
    assert (err.message, err.line) == ("unknown condition 'Nope'", 4)


# --- conditions ---------------------------------------------------------------------------------

CONDITIONAL = """\
Parameters:
  Bastion: {Type: String, Default: "no"}
  Ssh: {Type: String}
Conditions:
  HasBastion: !Equals [!Ref Bastion, "yes"]
  HasSsh: !Equals [!Ref Ssh, "yes"]
Resources:
  SG:
    Type: AWS::EC2::SecurityGroup
    Properties: {SecurityGroupEgress: []}
  FromBastion:
    Type: AWS::EC2::SecurityGroupIngress
    Condition: HasBastion
    Properties: {GroupId: !Ref SG, IpProtocol: tcp, FromPort: 22, ToPort: 22, CidrIp: 10.0.0.0/8}
  Ssh:
    Type: AWS::EC2::SecurityGroupIngress
    Condition: HasSsh
    Properties: {GroupId: !Ref SG, IpProtocol: tcp, FromPort: 22, ToPort: 22, CidrIp: 0.0.0.0/0}
"""


def test_a_resource_whose_condition_is_false_does_not_exist() -> None:
    assert [r.provenance.resource for r in model(CONDITIONAL).rules] == ["Ssh"]
    both = model(CONDITIONAL, {"Bastion": "yes", "Ssh": "no"}).rules
    assert [(r.provenance.resource, r.condition) for r in both] == [("FromBastion", None)]


def test_resources_left_out_and_transforms_are_noted() -> None:
    assert unit(CONDITIONAL).notes == (f"{PATH}:11: FromBastion is not created (condition HasBastion is false)",)
    loaded = unit("Transform: AWS::Serverless-2016-10-31\nResources:\n  SG:\n    Type: AWS::EC2::SecurityGroup\n")
    assert loaded.notes == (f"{PATH}:1: Transform is not expanded; resources it adds are not checked",)


def test_a_rule_under_an_undecidable_condition_is_not_certain() -> None:
    [rule] = model(CONDITIONAL).rules
    assert (rule.protocol, rule.ports, rule.peer) == ("tcp", PortRange(22, 22), CidrPeer(INTERNET_V4))
    why = Unresolved("Ssh depends on condition(s) HasSsh, which cannot be decided", at(15, "Ssh"), "--param Ssh=VALUE")
    assert rule.condition == Guard((("stacks/eks.yaml:HasSsh", True),), why)


# --- clusters -----------------------------------------------------------------------------------

CLUSTER = """\
Parameters:
  ClusterName: {Type: String}
  HybridCidr: {Type: String}
Resources:
  ControlPlaneSG:
    Type: AWS::EC2::SecurityGroup
  Cluster:
    Type: AWS::EKS::Cluster
    Properties:
      Name: !Ref ClusterName
      Version: 1.30
      ResourcesVpcConfig:
        SecurityGroupIds: [!Ref ControlPlaneSG, sg-extra]
        SubnetIds: [subnet-1]
      KubernetesNetworkConfig: {IpFamily: IPv6}
      RemoteNetworkConfig:
        RemoteNodeNetworks: [{Cidrs: [10.80.0.0/16, !Ref HybridCidr]}]
        RemotePodNetworks: [{Cidrs: [10.90.0.0/16]}]
  Unnamed:
    Type: AWS::EKS::Cluster
    Properties:
      ResourcesVpcConfig: {SubnetIds: [subnet-1]}
  ToClusterSG:
    Type: AWS::EC2::SecurityGroupIngress
    Properties:
      GroupId: !GetAtt Cluster.ClusterSecurityGroupId
      IpProtocol: tcp
      FromPort: 443
      ToPort: 443
      SourceSecurityGroupId: !Ref ControlPlaneSG
"""


def test_a_cluster_and_its_cluster_security_group() -> None:
    m = model(CLUSTER, {"ClusterName": "blue"})
    cluster, unnamed = m.clusters
    assert cluster.key == key("Cluster")
    assert (cluster.name, cluster.version, cluster.ip_family) == ("blue", "1.30", "ipv6")
    assert cluster.provenance == at(7, "Cluster")
    assert cluster.vpc_config == at(12, "Cluster")
    assert cluster.cluster_sg == f"cluster-sg:{key('Cluster')}"
    assert cluster.security_groups == (key("ControlPlaneSG"), "sg-extra")
    assert cluster.remote_pod_networks == (ipaddress.ip_network("10.90.0.0/16"),)
    assert cluster.remote_node_networks[0] == ipaddress.ip_network("10.80.0.0/16")
    cluster_sg = groups_by_key(m)[cluster.cluster_sg]
    assert cluster_sg == SecurityGroup(cluster.cluster_sg, "Cluster cluster security group", SgOrigin.CLUSTER,
                                       at(7, "Cluster"), ref=GroupRef("cluster", "Cluster"))  # fmt: skip
    assert rules_of(m, cluster.cluster_sg, INGRESS)[0].peer == SgPeer(key("ControlPlaneSG"))
    assert rules_of(m, cluster.cluster_sg, EGRESS) == []  # the EKS defaults are added by topology
    assert unnamed.name == Unresolved("the name of Unnamed is generated at deploy time", at(19, "Unnamed"))
    assert (unnamed.ip_family, unnamed.security_groups, unnamed.version) == ("ipv4", (), None)


def test_unresolved_cluster_values() -> None:
    cluster = model(CLUSTER).clusters[0]
    why = Unresolved("parameter ClusterName has no value", at(10, "Cluster"), "--param ClusterName=VALUE")
    assert cluster.name == why
    assert isinstance(cluster.remote_node_networks[1], Unresolved)


# --- managed node groups and launch templates ---------------------------------------------------

MANAGED = """\
Parameters:
  ClusterName: {Type: String}
Resources:
  Cluster:
    Type: AWS::EKS::Cluster
    Properties: {Name: blue, ResourcesVpcConfig: {SubnetIds: [s]}}
  NodeSG:
    Type: AWS::EC2::SecurityGroup
  ById:
    Type: AWS::EKS::Nodegroup
    Properties:
      ClusterName: !Ref Cluster
      LaunchTemplate: {Id: !Ref LT, Version: !GetAtt LT.LatestVersionNumber}
      Tags: {team: a, owner: !Ref ClusterName}
  ByName:
    Type: AWS::EKS::Nodegroup
    Properties:
      ClusterName: blue
      LaunchTemplate: {Name: !Sub "${AWS::StackName}"}
  Plain:
    Type: AWS::EKS::Nodegroup
    Properties:
      ClusterName: !Ref ClusterName
      LaunchTemplate: {Id: lt-0123}
      AmiType: WINDOWS_CORE_2022_x86_64
      RemoteAccess: {Ec2SshKey: key}
  Remote:
    Type: AWS::EKS::Nodegroup
    Properties:
      ClusterName: other
      RemoteAccess:
        Ec2SshKey: key
        SourceSecurityGroups: [!Ref NodeSG]
  LT:
    Type: AWS::EC2::LaunchTemplate
    Properties:
      LaunchTemplateData:
        SecurityGroupIds: [!Ref NodeSG, !GetAtt Cluster.ClusterSecurityGroupId]
  LTByName:
    Type: AWS::EC2::LaunchTemplate
    Properties:
      LaunchTemplateName: !Sub "${AWS::StackName}"
      LaunchTemplateData:
        NetworkInterfaces:
          - DeviceIndex: 0
            Groups: [null, !Ref NodeSG]
        UserData: x
"""


def test_managed_node_groups_with_and_without_launch_template_groups() -> None:
    m = model(MANAGED)
    by_id, by_name, plain, remote = m.node_groups
    assert (by_id.key, by_id.name, by_id.kind) == (key("ById"), "ById", NodeGroupKind.MANAGED)
    assert by_id.provenance == at(9, "ById")
    assert by_id.cluster == ClusterLink(cluster_key=key("Cluster"))
    assert by_id.launch_template_groups == (key("NodeSG"), f"cluster-sg:{key('Cluster')}")
    assert by_id.launch_template == at(34, "LT")
    assert by_id.tags[0] == ("team", "a")
    assert isinstance(by_id.tags[1][1], Unresolved)
    assert by_name.cluster == ClusterLink(cluster_key=key("Cluster"), cluster_name="blue")
    assert by_name.launch_template == at(39, "LTByName")
    null = Unresolved("LTByName lists a null security group", at(46, "LTByName"))
    assert by_name.launch_template_groups == (null, key("NodeSG"))
    assert plain.cluster.unresolved == Unresolved(
        "parameter ClusterName has no value", at(23, "Plain"), "--param ClusterName=VALUE"
    )
    assert plain.launch_template_groups == (
        Unresolved("LaunchTemplate lt-0123 of Plain is not defined in this template", at(24, "Plain"),
                   "scan the template that defines it too"),
    )  # fmt: skip
    assert (plain.launch_template, remote.launch_template_groups, remote.launch_template) == (None, None, None)
    assert plain.remote_access is not None
    assert (plain.remote_access.source_groups, plain.remote_access.windows) == ((), True)
    assert plain.remote_access.provenance == at(26, "Plain")
    assert remote.remote_access is not None
    assert (remote.remote_access.source_groups, remote.remote_access.windows) == ((key("NodeSG"),), False)
    assert remote.cluster == ClusterLink(cluster_name="other")


def test_a_launch_template_that_names_no_group() -> None:
    m = model(
        """\
        Resources:
          NG:
            Type: AWS::EKS::Nodegroup
            Properties: {ClusterName: c, LaunchTemplate: {Id: !Ref LT}}
          LT:
            Type: AWS::EC2::LaunchTemplate
            Properties: {LaunchTemplateData: {InstanceType: t3.large}}
        """
    )
    assert (m.node_groups[0].launch_template_groups, m.node_groups[0].launch_template) == (None, at(5, "LT"))


# --- self-managed node groups -------------------------------------------------------------------

SELF_MANAGED = """\
Parameters:
  ClusterName: {Type: String}
Resources:
  Cluster:
    Type: AWS::EKS::Cluster
    Properties: {Name: !Ref ClusterName, ResourcesVpcConfig: {SubnetIds: [s]}}
  NodeSG:
    Type: AWS::EC2::SecurityGroup
  LC:
    Type: AWS::AutoScaling::LaunchConfiguration
    Properties:
      SecurityGroups: [!Ref NodeSG, sg-shared]
  WithLC:
    Type: AWS::AutoScaling::AutoScalingGroup
    Properties:
      LaunchConfigurationName: !Ref LC
      Tags:
        - {Key: !Sub "kubernetes.io/cluster/${ClusterName}", Value: owned, PropagateAtLaunch: true}
  Mixed:
    Type: AWS::AutoScaling::AutoScalingGroup
    Properties:
      MixedInstancesPolicy:
        LaunchTemplate:
          LaunchTemplateSpecification: {LaunchTemplateId: !Ref LT, Version: "1"}
      Tags: [{Key: kubernetes.io/cluster/green, Value: owned}]
  LT:
    Type: AWS::EC2::LaunchTemplate
    Properties:
      LaunchTemplateData: {SecurityGroupIds: [!Ref NodeSG]}
"""


def test_auto_scaling_groups_with_a_launch_configuration_or_a_mixed_instances_policy() -> None:
    m = model(SELF_MANAGED)
    with_lc, mixed = m.node_groups
    assert (with_lc.kind, with_lc.provenance) == (NodeGroupKind.SELF_MANAGED, at(13, "WithLC"))
    assert with_lc.launch_template_groups == (key("NodeSG"), "sg-shared")
    assert with_lc.launch_template == at(9, "LC")
    # The tag names the cluster by the same expression as the cluster's Name.
    assert with_lc.cluster == ClusterLink(cluster_key=key("Cluster"))
    assert with_lc.tags == (("kubernetes.io/cluster/${ClusterName}", "owned"),)
    assert mixed.launch_template_groups == (key("NodeSG"),)
    assert mixed.cluster == ClusterLink(cluster_name="green")


def test_an_auto_scaling_group_tag_with_an_unknown_cluster_name() -> None:
    text = SELF_MANAGED.replace("Name: !Ref ClusterName,", "Name: fixed,")
    with_lc = model(text).node_groups[0]
    assert with_lc.cluster == ClusterLink(
        unresolved=Unresolved('parameter ClusterName has no value (in "kubernetes.io/cluster/${ClusterName}")',
                              at(18, "WithLC"), "--param ClusterName=VALUE")
    )  # fmt: skip
    named = ClusterLink(cluster_key=key("Cluster"), cluster_name="fixed")  # the same name as the local cluster
    assert model(text, {"ClusterName": "fixed"}).node_groups[0].cluster == named


def test_an_auto_scaling_group_that_is_not_eks_attaches_its_groups_elsewhere() -> None:
    m = model(
        """\
        Resources:
          SG:
            Type: AWS::EC2::SecurityGroup
          LT:
            Type: AWS::EC2::LaunchTemplate
            Properties:
              LaunchTemplateName: web
              LaunchTemplateData: {SecurityGroupIds: [!Ref SG], UserData: !Base64 "#!/bin/bash\\nnginx"}
          Web:
            Type: AWS::AutoScaling::AutoScalingGroup
            Properties: {LaunchTemplate: {LaunchTemplateName: web, Version: "1"}}
        """
    )
    assert (m.node_groups, m.other_attachments) == ((), ((key("SG"), at(9, "Web")),))


def test_user_data_that_bootstraps_eks_makes_a_node_group() -> None:
    m = model(
        """\
        Resources:
          LT:
            Type: AWS::EC2::LaunchTemplate
            Properties:
              LaunchTemplateData:
                UserData: !Base64 {"Fn::Sub": "#!/bin/bash\\n/etc/eks/bootstrap.sh ${AWS::StackName}"}
          Nodes:
            Type: AWS::AutoScaling::AutoScalingGroup
            Properties: {LaunchTemplate: {LaunchTemplateId: !Ref LT, Version: "1"}}
        """
    )
    [nodes] = m.node_groups
    assert (nodes.kind, nodes.launch_template_groups) == (NodeGroupKind.SELF_MANAGED, None)
    assert nodes.cluster.unresolved == Unresolved("no kubernetes.io/cluster/<name> tag on Nodes", at(7, "Nodes"))


# --- Fargate, VPCs ------------------------------------------------------------------------------


def test_fargate_profiles_and_vpcs() -> None:
    m = model(
        """\
        Parameters:
          Block: {Type: String}
        Resources:
          Cluster:
            Type: AWS::EKS::Cluster
            Properties: {Name: blue, ResourcesVpcConfig: {SubnetIds: [s]}}
          Profile:
            Type: AWS::EKS::FargateProfile
            Properties: {ClusterName: !Ref Cluster, Selectors: [{Namespace: default}]}
          VPC:
            Type: AWS::EC2::VPC
            Properties: {CidrBlock: 10.0.0.0/16}
          Extra:
            Type: AWS::EC2::VPCCidrBlock
            Properties: {VpcId: !Ref VPC, CidrBlock: 100.64.0.0/16}
          Unknown:
            Type: AWS::EC2::VPC
            Properties: {CidrBlock: !Ref Block}
        """
    )
    [profile] = m.fargate_profiles
    assert (profile.key, profile.cluster, profile.provenance) == (
        key("Profile"), ClusterLink(cluster_key=key("Cluster")), at(7, "Profile"),
    )  # fmt: skip
    [vpc] = m.vpcs  # a VPC whose CIDR is unknown is left out rather than half known
    nets = (ipaddress.ip_network("10.0.0.0/16"), ipaddress.ip_network("100.64.0.0/16"))
    assert (vpc.key, vpc.cidrs, vpc.provenance) == (key("VPC"), nets, at(10, "VPC"))


# --- suppressions -------------------------------------------------------------------------------

SKIP = """\
Resources:
  SG:
    Type: AWS::EC2::SecurityGroup
    Metadata:
      eks-sg-policy:
        skip:
          - id: EKS301
            reason: public game servers
            expires: 2030-01-31
          - {{id: EKS306, reason: "{reason}"{extra}}}
"""


def test_suppressions_are_read_from_resource_metadata() -> None:
    loaded = unit(SKIP.format(reason="intended", extra=""))
    assert loaded.suppressions == (
        Suppression("EKS301", "public game servers", "SG", at(7, "SG"), date(2030, 1, 31)),
        Suppression("EKS306", "intended", "SG", at(10, "SG")),
    )


@pytest.mark.parametrize(
    ("reason", "extra", "message"),
    [
        ("  ", "", "SG: the skip of EKS306 needs a reason"),
        ("x", ", expires: 31/01/2030", "SG: the skip of EKS306: expires must be a date YYYY-MM-DD, not '31/01/2030'"),
        ("x", ", expires: 2030-02-30", "SG: the skip of EKS306: expires must be a date YYYY-MM-DD, not '2030-02-30'"),
        ("x", ", until: 2030-01-01", "SG: unknown key 'until' in skip (expected id, reason, expires)"),
    ],
)
def test_a_bad_skip_is_a_scan_error_at_its_line(reason: str, extra: str, message: str) -> None:
    error = scan_error(SKIP.format(reason=reason, extra=extra))
    assert (error.message, error.line) == (message, 10)


def test_a_skip_without_the_list_shape_is_an_error() -> None:
    error = scan_error("Resources:\n  SG:\n    Type: AWS::EC2::SecurityGroup\n    Metadata:\n      eks-sg-policy: x\n")
    assert (error.message, error.line) == ("SG: Metadata eks-sg-policy must be {skip: [{id, reason, expires}]}", 5)


def test_a_group_under_an_undecidable_condition_carries_it_on_its_rules() -> None:
    text = CONDITIONAL.replace("    Properties: {SecurityGroupEgress: []}\n", "    Condition: HasSsh\n")
    m = model(text)
    why = Unresolved("SG depends on condition(s) HasSsh, which cannot be decided", at(8, "SG"), "--param Ssh=VALUE")
    guard = Guard((("stacks/eks.yaml:HasSsh", True),), why)
    assert [(r.form, r.condition) for r in rules_of(m, key("SG"), EGRESS)] == [(RuleForm.IMPLICIT, guard)] * 2


def test_a_launch_template_chosen_by_an_undecidable_condition() -> None:
    m = model(
        """\
        Parameters: {Lt: {Type: String, Default: ""}, Own: {Type: String}}
        Conditions: {OwnLt: !Equals [!Ref Own, "yes"]}
        Resources:
          NG:
            Type: AWS::EKS::Nodegroup
            Properties:
              ClusterName: c
              LaunchTemplate: {Id: !If [OwnLt, !Ref LT, !Ref Lt]}
          Whole:
            Type: AWS::EKS::Nodegroup
            Properties:
              ClusterName: c
              LaunchTemplate: !If [OwnLt, {Id: !Ref LT}, !Ref AWS::NoValue]
          LT:
            Type: AWS::EC2::LaunchTemplate
            Properties: {LaunchTemplateData: {SecurityGroupIds: [sg-1]}}
        """
    )
    why = Unresolved("Fn::If on condition OwnLt cannot be decided", at(8, "NG"), "--param Own=VALUE")
    assert m.node_groups[0].launch_template_groups == (why,)
    assert m.node_groups[1].launch_template_groups == (
        Unresolved("Fn::If on condition OwnLt cannot be decided", at(13, "Whole"), "--param Own=VALUE"),
    )
    decided = model(
        dedent(
            """\
            Resources:
              NG:
                Type: AWS::EKS::Nodegroup
                Properties: {ClusterName: c, LaunchTemplate: !If [Always, {Id: !Ref LT}, !Ref AWS::NoValue]}
              LT:
                Type: AWS::EC2::LaunchTemplate
                Properties: {LaunchTemplateData: {SecurityGroupIds: [sg-1]}}
            Conditions: {Always: !Equals [a, a]}
            """
        )
    )
    assert decided.node_groups[0].launch_template_groups == ("sg-1",)


def test_the_model_holds_plain_strings() -> None:
    m = model(KEYS)
    values = [g.name for g in m.security_groups] + [g.key for g in m.security_groups]
    values += [r.provenance.resource for r in m.rules]
    assert {type(v) for v in values} == {str}

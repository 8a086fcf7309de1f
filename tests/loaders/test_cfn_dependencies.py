"""Circular dependencies between resources: what counts as a dependency, and how a cycle is reported."""

from __future__ import annotations

from textwrap import dedent

import pytest

from eks_sg_policy.errors import ScanError
from eks_sg_policy.loaders.cfn_dependencies import dependencies, find_cycle
from eks_sg_policy.loaders.cfn_yaml import LineDict, load
from eks_sg_policy.loaders.cloudformation import load_cloudformation

HEADER = 'AWSTemplateFormatVersion: "2010-09-09"\n'


def resources(text: str) -> LineDict:
    document = load("t.yaml", dedent(text))
    assert isinstance(document, LineDict)
    found = document["Resources"]
    assert isinstance(found, LineDict)
    return found


def graph(text: str) -> dict[str, list[str]]:
    return dependencies(resources(text))


def test_ref_getatt_sub_and_depends_on_are_dependencies() -> None:
    text = """\
    Parameters:
      Vpc: {Type: String}
    Resources:
      A:
        Type: AWS::EC2::SecurityGroup
        DependsOn: [B, Missing]
        Properties:
          VpcId: !Ref Vpc
          GroupDescription: !Sub "${C.GroupId} in ${AWS::Region} ${!D} ${Local}"
          Tags: [{Key: k, Value: !Sub ["${Local}", {Local: !Ref E}]}]
      B: {Type: AWS::EC2::SecurityGroup, DependsOn: E}
      C: {Type: AWS::EC2::SecurityGroup, Metadata: {x: !GetAtt [B, GroupId]}}
      D: {Type: AWS::EC2::SecurityGroup, Properties: {GroupName: !GetAtt E.GroupId}}
      E: {Type: AWS::EC2::SecurityGroup, Properties: {GroupName: !Ref AWS::StackName}}
    """
    assert graph(text) == {"A": ["B", "C", "E"], "B": ["E"], "C": ["B"], "D": ["E"], "E": []}


def test_both_branches_of_an_if_count() -> None:
    text = """\
    Resources:
      A: {Type: AWS::EC2::SecurityGroup, Properties: {GroupName: !If [Cond, !Ref B, !GetAtt C.GroupId]}}
      B: {Type: AWS::EC2::SecurityGroup}
      C: {Type: AWS::EC2::SecurityGroup}
    """
    assert graph(text)["A"] == ["B", "C"]


def test_serverless_resources_are_left_out() -> None:
    text = """\
    Resources:
      F: {Type: AWS::Serverless::Function, Properties: {Role: !GetAtt R.Arn}}
      R: {Type: AWS::IAM::Role, Properties: {Description: !Ref F}}
    """
    assert graph(text) == {"R": []}


@pytest.mark.parametrize(
    ("edges", "cycle"),
    [
        ({"A": ["B"], "B": []}, None),
        ({"A": ["A"]}, ["A"]),
        ({"A": ["B", "C"], "B": ["C"], "C": []}, None),  # a diamond is no cycle
        ({"A": ["B"], "B": ["C"], "C": ["B"]}, ["B", "C"]),
        ({"A": [], "B": ["C"], "C": ["D"], "D": ["B"]}, ["B", "C", "D"]),
    ],
)
def test_find_cycle(edges: dict[str, list[str]], cycle: list[str] | None) -> None:
    assert find_cycle(edges) == cycle


def test_thousands_of_resources_need_no_recursion() -> None:
    size = 20_000
    chain = {f"R{i}": [f"R{i + 1}"] for i in range(size)} | {f"R{size}": []}
    assert find_cycle(chain) is None
    chain[f"R{size}"] = ["R0"]
    found = find_cycle(chain)
    assert found is not None and len(found) == size + 1 and found[0] == "R0"


def error(text: str) -> ScanError:
    with pytest.raises(ScanError) as info:
        load_cloudformation("t.yaml", HEADER + dedent(text), {})
    return info.value


def test_a_cycle_is_reported_from_the_first_resource_written_with_its_line() -> None:
    found = error(
        """\
        Resources:
          Unrelated: {Type: AWS::EC2::VPC, Properties: {CidrBlock: 10.0.0.0/16}}
          Node:
            Type: AWS::EC2::SecurityGroup
            Properties:
              GroupDescription: !Sub "peer of ${Control.GroupId}"
          Control:
            Type: AWS::EC2::SecurityGroup
            DependsOn: Node
        """
    )
    assert (found.file, found.line) == ("t.yaml", 4)
    assert found.message == "circular dependency between resources: Node -> Control -> Node"


def test_a_resource_that_refers_to_itself_is_a_cycle() -> None:
    found = error(
        """\
        Resources:
          Group:
            Type: AWS::EC2::SecurityGroup
            Properties:
              GroupDescription: g
              SecurityGroupIngress: [{IpProtocol: tcp, FromPort: 1, ToPort: 1, SourceSecurityGroupId: !Ref Group}]
        """
    )
    assert (found.line, found.message) == (3, "circular dependency between resources: Group -> Group")


def test_references_to_parameters_and_outputs_are_no_cycle() -> None:
    loaded = load_cloudformation(
        "t.yaml",
        HEADER
        + dedent(
            """\
            Parameters:
              Group: {Type: String}
            Resources:
              Sg: {Type: AWS::EC2::SecurityGroup, Properties: {GroupDescription: !Ref Group}}
            Outputs:
              Id: {Value: !Ref Sg}
            """
        ),
        {},
    )
    assert loaded is not None


def test_a_long_cycle_is_reported_on_one_short_line() -> None:
    body = "".join(f"  R{i}: {{Type: AWS::SNS::Topic, DependsOn: R{(i + 1) % 500}}}\n" for i in range(500))
    found = error("Resources:\n" + body)
    assert found.line == 3
    assert found.message == (
        "circular dependency between resources: R0 -> R1 -> R2 -> R3 -> R4 -> R5 -> R6 -> R7 -> "
        "... 491 more ... -> R499 -> R0"
    )

"""Intrinsic-function resolution: values, tokens, and the Unresolved that explains each unknown."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from eks_sg_policy.errors import ScanError
from eks_sg_policy.loaders.cfn_intrinsics import (
    NO_VALUE,
    AttRef,
    ImportRef,
    ParamRef,
    Resolver,
    ResourceRef,
)
from eks_sg_policy.loaders.cfn_yaml import load
from eks_sg_policy.model import Provenance, Unresolved

TEMPLATE = """\
Parameters:
  ClusterName:
    Type: String
  Env:
    Type: String
    Default: prod
  Subnets:
    Type: List<AWS::EC2::Subnet::Id>
    Default: "subnet-1, subnet-2"
  Names:
    Type: CommaDelimitedList
  Ami:
    Type: AWS::SSM::Parameter::Value<AWS::EC2::Image::Id>
    Default: /aws/service/eks/ami
  Port:
    Type: Number
    Default: 443
Mappings:
  Ports:
    prod: {Api: "443", Ids: [a, b]}
    dev: {Api: "8443"}
Conditions:
  IsProd: !Equals [!Ref Env, prod]
  IsDev: !Equals [dev, !Ref Env]
  HasCluster: !Not [!Equals [!Ref ClusterName, ""]]
  ProdAndCluster: !And [!Condition IsProd, !Condition HasCluster]
  ProdOrCluster: !Or [!Condition IsProd, !Condition HasCluster]
  DevOrCluster: !Or [!Condition IsDev, !Condition HasCluster]
  DevAndCluster: !And [!Condition IsDev, !Condition HasCluster]
  PortIs443: !Equals [!Ref Port, 443]
Resources:
  NodeSG:
    Type: AWS::EC2::SecurityGroup
  DevOnly:
    Type: AWS::SNS::Topic
    Condition: IsDev
  Stack:
    Type: AWS::CloudFormation::Stack
"""


def resolver(params: Mapping[str, str] | None = None, text: str = TEMPLATE) -> Resolver:
    template = load("tpl.yaml", text)
    return Resolver("tpl.yaml", template, params or {}, template.get("Resources") or {})


def value(expression: str, params: Mapping[str, str] | None = None, text: str = TEMPLATE) -> Any:
    """Resolve `v:` of a one-line YAML snippet written at line 1 of its own document."""
    return resolver(params, text).resolve(load("expr.yaml", f"v: {expression}\n")["v"], "Res")


def error(expression: str, text: str = TEMPLATE) -> ScanError:
    with pytest.raises(ScanError) as info:
        value(expression, text=text)
    return info.value


def where(line: int = 1) -> Provenance:
    return Provenance("tpl.yaml", line, "Res")


def test_ref_of_a_parameter_uses_param_then_default_then_a_token() -> None:
    assert value("!Ref Env") == "prod"
    assert value("!Ref Env", {"Env": "dev"}) == "dev"
    assert value("!Ref ClusterName") == ParamRef("ClusterName")
    assert value("!Ref ClusterName", {"ClusterName": "blue"}) == "blue"
    assert value("!Ref Port") == "443"


def test_list_parameters_split_on_commas() -> None:
    assert value("!Ref Subnets") == ["subnet-1", "subnet-2"]
    assert value("!Ref Names", {"Names": "a,b ,c"}) == ["a", "b", "c"]
    assert value("!Ref Names") == ParamRef("Names")


def test_an_ssm_parameter_default_is_a_path_not_a_value() -> None:
    assert value("!Ref Ami") == ParamRef("Ami")
    assert value("!Ref Ami", {"Ami": "ami-1"}) == "ami-1"


def test_ref_of_a_resource_and_pseudo_parameters() -> None:
    assert value("!Ref NodeSG") == ResourceRef("NodeSG")
    assert value("!Ref AWS::StackName") == Unresolved(
        "AWS::StackName is only known at deploy time", where(), "--param AWS::StackName=VALUE"
    )
    assert value("!Ref AWS::Region", {"AWS::Region": "eu-west-1"}) == "eu-west-1"
    assert value("!Ref AWS::NoValue") is NO_VALUE


def test_ref_of_a_resource_whose_condition_is_false_is_unresolved() -> None:
    got = value("!Ref DevOnly")
    assert got == Unresolved("DevOnly is not created (condition IsDev is false)", where(), "")


def test_ref_to_nothing_is_a_scan_error_at_its_line() -> None:
    err = error("!Ref Nope")
    assert (err.message, err.line) == ("Ref to undefined parameter or resource 'Nope'", 1)


def test_get_att_forms() -> None:
    assert value("!GetAtt NodeSG.GroupId") == AttRef("NodeSG", "GroupId")
    assert value("!GetAtt [NodeSG, GroupId]") == AttRef("NodeSG", "GroupId")
    assert value('{"Fn::GetAtt": "Stack.Outputs.NodeSG"}') == AttRef("Stack", "Outputs.NodeSG")
    assert error("!GetAtt Nope.GroupId").message == "Fn::GetAtt of undefined resource 'Nope'"


def test_no_value_disappears_from_mappings_and_lists() -> None:
    got = value('{a: !Ref "AWS::NoValue", b: [1, !Ref "AWS::NoValue", 3]}')
    assert got == {"b": [1, 3]}
    assert got.key_lines == {"b": 1}
    assert got["b"].item_lines == [1, 1]


def test_sub() -> None:
    assert value('!Sub "${Env}-x"') == "prod-x"
    assert value('!Sub "${!Literal}-${Env}"') == "${Literal}-prod"
    assert value('!Sub ["${A}-${Env}", {A: !Ref Env}]') == "prod-prod"
    assert value('!Sub "${AWS::Region}"', {"AWS::Region": "us-east-1"}) == "us-east-1"
    assert error('!Sub "${Nope}"').message == "Ref to undefined parameter or resource 'Nope'"


def test_a_string_built_from_unknown_parts_is_unresolved_with_a_hint() -> None:
    assert value('!Sub "kubernetes.io/cluster/${ClusterName}"') == Unresolved(
        'parameter ClusterName has no value (in "kubernetes.io/cluster/${ClusterName}")',
        where(),
        "--param ClusterName=VALUE",
    )
    got = value('!Join ["-", [a, !Ref NodeSG]]')
    assert got == Unresolved('the id of NodeSG is only known after deployment (in "a-${NodeSG}")', where(), "")
    got = value('!Sub "${NodeSG.GroupId}/${AWS::StackName}"')
    assert got.what == 'NodeSG.GroupId is only known after deployment (in "${NodeSG.GroupId}/${AWS::StackName}")'


def test_join_select_split() -> None:
    assert value('!Join [",", [a, !Ref Env, 3, true]]') == "a,prod,3,true"
    assert value('!Join [",", !Ref Subnets]') == "subnet-1,subnet-2"
    assert value('!Join ["", [a, !Ref "AWS::NoValue", b]]') == "ab"
    assert value("!Select [1, !Ref Subnets]") == "subnet-2"
    assert value('!Select ["0", [!Ref NodeSG, x]]') == ResourceRef("NodeSG")
    assert value('!Split [",", "a,b,,c"]') == ["a", "b", "", "c"]
    assert value('!Select [2, !Split ["-", !Sub "${Env}-a-b"]]') == "b"
    assert error("!Select [5, [a, b]]").message == "Fn::Select index 5 is outside the 2 values"
    assert error("!Select [-1, !Ref Subnets]").message == "Fn::Select index -1 is outside the 2 values"


def test_split_keeps_references_that_sit_between_delimiters() -> None:
    got = value('!Split [",", !Sub "${NodeSG},${Env},sg-9"]')
    assert got == [ResourceRef("NodeSG"), "prod", "sg-9"]
    got = value('!Split [",", !Sub "x${NodeSG},y"]')
    assert isinstance(got[0], Unresolved)
    assert got[1] == "y"


def test_find_in_map() -> None:
    assert value("!FindInMap [Ports, !Ref Env, Api]") == "443"
    assert value("!FindInMap [Ports, prod, Ids]") == ["a", "b"]
    assert value("!FindInMap [Ports, qa, Api, {DefaultValue: '80'}]") == "80"
    got = value("!FindInMap [Ports, !Ref ClusterName, Api]")
    assert got == Unresolved(
        "Fn::FindInMap key: parameter ClusterName has no value", where(), "--param ClusterName=VALUE"
    )
    assert error("!FindInMap [Ports, qa, Api]").message == "Fn::FindInMap: mapping 'Ports' has no key 'qa'"
    assert error("!FindInMap [Nope, qa, Api]").message == "Fn::FindInMap: Mappings has no key 'Nope'"


def test_if_takes_the_decided_branch() -> None:
    assert value("!If [IsProd, yes-prod, no-prod]") == "yes-prod"
    assert value("!If [IsProd, yes-prod, no-prod]", {"Env": "dev"}) == "no-prod"
    assert value('!If [IsDev, x, !Ref "AWS::NoValue"]') is NO_VALUE


def test_an_undecidable_if_names_its_condition_and_the_parameter_to_give() -> None:
    got = value("!If [HasCluster, a, b]")
    assert got == Unresolved("Fn::If on condition HasCluster cannot be decided", where(), "--param ClusterName=VALUE")
    assert value("!If [HasCluster, a, b]", {"ClusterName": "x"}) == "a"


@pytest.mark.parametrize(
    ("condition", "params", "expected"),
    [
        ("IsProd", {}, True),
        ("IsDev", {}, False),
        ("HasCluster", {}, None),
        ("HasCluster", {"ClusterName": ""}, False),
        ("ProdAndCluster", {}, None),  # True and unknown
        ("DevAndCluster", {}, False),  # False and unknown
        ("ProdOrCluster", {}, True),  # True or unknown
        ("DevOrCluster", {}, None),  # False or unknown
        ("DevOrCluster", {"ClusterName": "c"}, True),
        ("PortIs443", {}, True),  # parameters are strings; 443 compares as "443"
    ],
)
def test_conditions_are_three_valued(condition: str, params: dict[str, str], expected: bool | None) -> None:
    assert resolver(params).condition(condition, 1) is expected


def test_a_condition_cycle_is_a_scan_error_at_the_condition() -> None:
    text = "Conditions:\n  A: !Condition B\n  B: !Not [!Condition A]\nResources: {}\n"
    with pytest.raises(ScanError) as info:
        resolver(text=text).condition("A", 9)
    assert (info.value.message, info.value.line) == ("conditions refer to each other: A -> B -> A", 3)


def test_an_unknown_condition_is_a_scan_error() -> None:
    err = error("!If [Nope, a, b]")
    assert (err.message, err.line) == ("unknown condition 'Nope'", 1)


def test_import_value_names() -> None:
    assert value("!ImportValue shared-SG") == ImportRef("shared-SG", True)
    assert value('!ImportValue {"Fn::Sub": "${Env}-SG"}') == ImportRef("prod-SG", True)
    assert value('!ImportValue {"Fn::Sub": "${ClusterName}-SG"}') == ImportRef("${ClusterName}-SG", False)
    assert value("!ImportValue {Ref: ClusterName}") == ImportRef("${ClusterName}", False)
    assert value('!Sub "${AWS::StackName}::SG"', {"AWS::StackName": "s"}) == "s::SG"


def test_functions_that_are_not_computed() -> None:
    assert value("!Base64 abc") == "abc"
    assert value("!GetAZs ''") == Unresolved("Fn::GetAZs is not evaluated by eks-sg-policy", where(), "")
    assert value("!Frobnicate x").what == "Fn::Frobnicate is not evaluated by eks-sg-policy"
    assert value("!Cidr [10.0.0.0/16, 2, 8]") == ["10.0.0.0/24", "10.0.1.0/24"]
    assert value("!Length [a, b, c]") == 3
    assert value('{"Fn::Length": {"Ref": "Names"}}') == Unresolved(
        "parameter Names has no value", where(), "--param Names=VALUE"
    )


def test_canonical_text_makes_identical_unresolved_expressions_equal() -> None:
    r = resolver()
    one = load("a.yaml", 'v: {"Fn::Sub": "${AWS::StackName}"}\n')["v"]
    two = load("b.yaml", "v: !Sub '${AWS::StackName}'\n")["v"]
    assert r.canonical(one) == r.canonical(two) == "${AWS::StackName}"
    assert r.canonical(load("c.yaml", "v: !Ref NodeSG\n")["v"]) == "${NodeSG}"
    assert r.canonical(load("d.yaml", "v: !Ref Env\n")["v"]) == "prod"


def test_absurd_nesting_is_a_scan_error() -> None:
    deep = "x"
    for _ in range(150):
        deep = f'{{"Fn::Base64": {deep}}}'
    with pytest.raises(ScanError) as info:
        value(deep)
    assert info.value.message == "values nested too deep"


def test_bad_shapes_are_scan_errors() -> None:
    assert error("!Join [a]").message == "Fn::Join takes [delimiter, [values]]"
    assert error("!If [IsProd, a]").message == "Fn::If takes [condition, value if true, value if false]"
    assert error("!Ref [a]").message == "Ref takes the name of a parameter or resource"
    assert error("!Select [x, [a]]").message == "Fn::Select index must be a number, not 'x'"

"""The CloudFormation reader: intrinsic shapes, 1-based lines, and every way a file can be refused."""

from __future__ import annotations

import codecs

import pytest
import yaml

from eks_sg_policy.errors import ScanError
from eks_sg_policy.loaders import cfn_yaml
from eks_sg_policy.loaders.cfn_yaml import LineDict, LineList, LineStr, decode, load, looks_like_cloudformation

PURE_PYTHON = yaml.SafeLoader  # the default is libyaml's, when installed
LOADERS = [pytest.param(None, id="default"), pytest.param(PURE_PYTHON, id="pure-python")]


def scan_error(text: str, loader: type[yaml.SafeLoader] | None = None) -> ScanError:
    with pytest.raises(ScanError) as info:
        load("tpl.yaml", text, loader)
    assert info.value.file == "tpl.yaml"
    return info.value


@pytest.mark.parametrize("loader", LOADERS)
def test_short_form_tags_become_the_long_form(loader: type[yaml.SafeLoader] | None) -> None:
    text = """\
a: !Ref VpcId
b: !GetAtt NodeGroupStack.Outputs.EKSNodeSecurityGroup
c: !GetAtt [NodeSG, GroupId]
d: !Sub "${AWS::StackName}-x"
e: !Join ["-", [a, !Ref V]]
f: !Condition HasX
g: !If [HasX, !Ref A, !Ref "AWS::NoValue"]
h: !Transform {Name: AWS::Include}
i: !Frobnicate x
j: !ImportValue {"Fn::Sub": "${S}-SG"}
"""
    doc = load("tpl.yaml", text, loader)
    assert doc == {
        "a": {"Ref": "VpcId"},
        "b": {"Fn::GetAtt": ["NodeGroupStack", "Outputs.EKSNodeSecurityGroup"]},
        "c": {"Fn::GetAtt": ["NodeSG", "GroupId"]},
        "d": {"Fn::Sub": "${AWS::StackName}-x"},
        "e": {"Fn::Join": ["-", ["a", {"Ref": "V"}]]},
        "f": {"Condition": "HasX"},
        "g": {"Fn::If": ["HasX", {"Ref": "A"}, {"Ref": "AWS::NoValue"}]},
        "h": {"Fn::Transform": {"Name": "AWS::Include"}},
        "i": {"Fn::Frobnicate": "x"},
        "j": {"Fn::ImportValue": {"Fn::Sub": "${S}-SG"}},
    }


@pytest.mark.parametrize("loader", LOADERS)
def test_nodes_carry_one_based_lines(loader: type[yaml.SafeLoader] | None) -> None:
    text = """\
Resources:

  NodeSG:
    Type: AWS::EC2::SecurityGroup
    Properties:
      VpcId: !Ref VpcId
      SecurityGroupIngress:
        - IpProtocol: tcp
          FromPort: 443
        -   IpProtocol: "-1"
"""
    doc = load("tpl.yaml", text, loader)
    resources = doc["Resources"]
    assert isinstance(resources, LineDict)
    assert resources.key_lines == {"NodeSG": 3}
    node_sg = resources["NodeSG"]
    assert node_sg.line == 4  # a mapping starts at its first key
    assert node_sg.key_lines == {"Type": 4, "Properties": 5}
    assert isinstance(node_sg["Type"], LineStr)
    assert node_sg["Type"].line == 4
    props = node_sg["Properties"]
    assert props["VpcId"].line == 6  # the intrinsic made from a tag carries the tag's line
    assert props["VpcId"].key_lines == {"Ref": 6}
    rules = props["SecurityGroupIngress"]
    assert isinstance(rules, LineList)
    assert (rules.line, rules.item_lines) == (8, [8, 10])
    assert rules[0].key_lines == {"IpProtocol": 8, "FromPort": 9}
    assert type(rules[0]["FromPort"]) is int


@pytest.mark.parametrize("loader", LOADERS)
def test_scalars_other_than_strings_stay_plain(loader: type[yaml.SafeLoader] | None) -> None:
    doc = load("tpl.yaml", "i: 443\nb: true\nn: null\nv: 1.10\nd: 2025-01-31\nk: yes\n", loader)
    assert [type(doc[k]) for k in "ibn"] == [int, bool, type(None)]
    # Fractions and dates keep their source text: `1.10` is a version, not 1.1.
    assert (doc["v"], doc["d"], doc["k"]) == ("1.10", "2025-01-31", True)
    assert isinstance(doc["v"], LineStr)


@pytest.mark.parametrize("loader", LOADERS)
def test_an_integer_too_long_for_python_keeps_its_source_text(loader: type[yaml.SafeLoader] | None) -> None:
    huge = "1" + "0" * 5000
    doc = load("tpl.yaml", f"small: 443\nhuge: {huge}\nhex: 0x{'f' * 5000}\n", loader)
    assert isinstance(doc["huge"], LineStr) and (doc["huge"], doc["huge"].line) == (huge, 2)
    assert doc["small"] == 443 and isinstance(doc["hex"], int)  # hexadecimal has no such limit


def test_keys_keep_their_source_text() -> None:
    doc = load("tpl.yaml", "Mappings:\n  M:\n    1.10: {x: 1}\n    yes: {x: 2}\n    '1.13': {x: 3}\n")
    assert list(doc["Mappings"]["M"]) == ["1.10", "yes", "1.13"]


@pytest.mark.parametrize("loader", LOADERS)
def test_a_duplicate_key_is_an_error_at_its_second_line(loader: type[yaml.SafeLoader] | None) -> None:
    error = scan_error("Resources:\n  A:\n    Type: AWS::SNS::Topic\n  A:\n    Type: AWS::SNS::Topic\n", loader)
    assert (error.message, error.line) == ("duplicate key 'A' (first at line 2)", 4)


@pytest.mark.parametrize("loader", LOADERS)
def test_aliases_are_refused_at_the_alias(loader: type[yaml.SafeLoader] | None) -> None:
    error = scan_error("a: &ports [1, 2]\nb: 1\nc: *ports\n", loader)
    assert (error.message, error.line) == ("YAML aliases are not allowed in CloudFormation templates", 3)


def test_an_alias_bomb_is_refused_without_expanding_it() -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 12)]
    error = scan_error("\n".join(lines) + "\n")
    assert (error.message, error.line) == ("YAML aliases are not allowed in CloudFormation templates", 2)


def test_an_anchor_without_alias_is_accepted() -> None:
    assert load("tpl.yaml", "a: &x 1\n") == {"a": 1}


def test_merge_keys_are_refused() -> None:
    error = scan_error("a:\n  b: 1\n  <<: {c: 2}\n")
    assert (error.message, error.line) == ("YAML merge keys (<<) are not allowed in CloudFormation templates", 3)


def test_a_mapping_as_key_is_refused() -> None:
    error = scan_error("x: 1\n? [a, b]\n: 2\n")
    assert (error.message, error.line) == ("a mapping key must be a plain string", 2)


def test_a_syntax_error_has_line_column_and_context() -> None:
    error = scan_error("a: 1\nb: [1, 2\nc: 3\n")
    assert (error.line, error.column) == (3, 2)
    assert error.message == "did not find expected ',' or ']' (while parsing a flow sequence that starts at line 2)"
    assert str(error) == f"tpl.yaml:3:2: {error.message}"


def test_two_documents_are_refused() -> None:
    error = scan_error("a: 1\n---\nb: 2\n")
    assert (error.line, error.column) == (2, 1)
    assert error.message.startswith("a template is one YAML document")


def test_absurd_nesting_is_an_error_not_a_crash() -> None:
    depth = 700
    text = "".join(" " * i + "a:\n" for i in range(depth)) + " " * depth + "1\n"
    error = scan_error(text)
    assert (error.message, error.line) == ("nesting too deep", cfn_yaml.MAX_DEPTH + 1)
    assert scan_error("[" * 5000 + "]" * 5000).line == 1  # libyaml/PyYAML refuse it while scanning


def test_an_empty_file_is_none() -> None:
    assert load("tpl.yaml", "") is None
    assert load("tpl.yaml", "# only a comment\n") is None


@pytest.mark.parametrize("loader", LOADERS)
def test_json_with_tabs_and_escaped_slashes_keeps_its_lines(loader: type[yaml.SafeLoader] | None) -> None:
    text = '\t{\n\t"Resources": {\n\t\t"A":\t{"Type": "AWS::SNS::Topic", "Url": "http:\\/\\/x\\/y"}\n\t}\n}\n'
    doc = load("tpl.json", text, loader)
    assert doc == {"Resources": {"A": {"Type": "AWS::SNS::Topic", "Url": "http://x/y"}}}
    assert doc.key_lines == {"Resources": 2}
    assert doc["Resources"].key_lines == {"A": 3}


def test_json_that_stays_broken_reports_the_original_error() -> None:
    text = '{\n\t"a": 1,\n\t"b" 2\n}\n'
    error = scan_error(text, PURE_PYTHON)  # the pure-Python scanner refuses the tab first
    assert (error.line, error.column) == (2, 1)
    assert "'\\t'" in error.message


def test_json_duplicate_keys_are_found_after_the_retry() -> None:
    error = scan_error('{\n\t"a": 1,\n\t"a": 2\n}\n', PURE_PYTHON)
    assert (error.message, error.line) == ("duplicate key 'a' (first at line 2)", 3)


def test_a_yaml_file_with_tabs_is_not_rewritten() -> None:
    error = scan_error("a:\n\tb: 1\n")
    assert error.line == 2


def test_decode_accepts_boms_and_refuses_other_encodings() -> None:
    text = "a: é\n"
    assert decode("f", text.encode()) == text
    assert decode("f", codecs.BOM_UTF8 + text.encode()) == text
    assert decode("f", codecs.BOM_UTF16_LE + text.encode("utf-16-le")) == text
    assert decode("f", codecs.BOM_UTF16_BE + text.encode("utf-16-be")) == text
    with pytest.raises(ScanError) as info:
        decode("f", b"a: 1\nb: \xe9t\xe9\n")
    assert (info.value.message, info.value.line) == ("not UTF-8 text", 2)
    with pytest.raises(ScanError) as info:
        decode("f", codecs.BOM_UTF16_LE + b"a\x00\x00\xd8")
    assert info.value.message == "not UTF-16 text"


def test_a_bom_left_in_the_text_is_ignored() -> None:
    assert load("f", "\ufeffa: 1\n") == {"a": 1}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('AWSTemplateFormatVersion: "2010-09-09"\n', True),
        ("Resources:\n  A:\n    Type: AWS::EC2::SecurityGroup\n", True),
        ('{"A": {"Type": "AWS::EKS::Nodegroup"}}', True),
        ("X:\n  Type: 'Custom::Thing'\n", True),
        ("apiVersion: v1\nkind: ConfigMap\n", False),
        ("Type: String\nvalues: [AWS]\n", False),
    ],
)
def test_looks_like_cloudformation(text: str, expected: bool) -> None:
    assert looks_like_cloudformation(text) is expected

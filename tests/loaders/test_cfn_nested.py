"""Nested stacks: which file a TemplateURL names, and a parent evaluated with its nested templates."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from eks_sg_policy.api import ScanOptions, scan
from eks_sg_policy.loaders.cfn_template_url import Located, NotLocated, locate, url_tail

QUICK_START = "https://${S3Bucket}.s3.${S3Region}.${AWS::URLSuffix}/${QSS3KeyPrefix}templates/nodes.yaml"


@pytest.fixture
def tree(tmp_path: Path) -> Iterator[Path]:
    """A scanned tree, entered: repo/templates/{parent,nodes}.yaml and repo/other/nodes.yaml."""
    (tmp_path / "repo" / "templates").mkdir(parents=True)
    (tmp_path / "repo" / "other").mkdir()
    for path in ("repo/templates/parent.yaml", "repo/templates/nodes.yaml", "repo/other/nodes.yaml"):
        (tmp_path / path).write_text("Resources: {}\n", "utf-8")
    (tmp_path / "outside.yaml").write_text("Resources: {}\n", "utf-8")
    previous = Path.cwd()
    os.chdir(tmp_path / "repo")
    try:
        yield tmp_path / "repo"
    finally:
        os.chdir(previous)


@pytest.mark.parametrize(
    ("url", "tail"),
    [
        (QUICK_START, "templates/nodes.yaml"),
        ("https://${Bucket}.s3.amazonaws.com/eks/templates/nodes.yaml", "eks/templates/nodes.yaml"),
        ("s3://${Bucket}/${Prefix}/nodes.yaml", "nodes.yaml"),
        ("https://bucket.s3.amazonaws.com/nodes.yaml", None),
        ("./nodes.yaml", None),
        ("https://${Bucket}.s3.amazonaws.com/${Key}", ""),
    ],
)
def test_the_path_after_the_last_placeholder(url: str, tail: str | None) -> None:
    assert url_tail(url) == tail


def test_a_local_path_is_relative_to_the_parent(tree: Path) -> None:
    root = str(tree)
    assert locate("./nodes.yaml", "templates/parent.yaml", root, {}) == Located("templates/nodes.yaml", "a local path")
    assert locate("file://nodes.yaml", "templates/parent.yaml", root, {}) == Located(
        "templates/nodes.yaml", "a local path"
    )
    assert locate("../other/nodes.yaml", "templates/parent.yaml", root, {}).path == "other/nodes.yaml"  # type: ignore[union-attr]


def test_a_placeholder_url_finds_the_one_file_up_the_tree(tree: Path) -> None:
    found = locate(QUICK_START, "templates/parent.yaml", str(tree), {})
    assert isinstance(found, Located) and found.path == "templates/nodes.yaml"
    # the same URL from a template one level down still finds it, in an ancestor
    (tree / "templates" / "sub").mkdir()
    found = locate(QUICK_START, "templates/sub/parent.yaml", str(tree), {})
    assert isinstance(found, Located) and found.path == "templates/nodes.yaml"


def test_a_placeholder_url_that_fits_several_files_is_not_resolved(tree: Path) -> None:
    (tree / "templates" / "templates").mkdir()
    (tree / "templates" / "templates" / "nodes.yaml").write_text("Resources: {}\n", "utf-8")
    found = locate(QUICK_START, "templates/parent.yaml", str(tree), {})
    assert isinstance(found, NotLocated) and "several files" in found.why


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("https://bucket.s3.amazonaws.com/nodes.yaml", "remote URL"),
        ("../../outside.yaml", "outside the scanned tree"),
        (f"file://{os.sep}etc{os.sep}hostname", "outside the scanned tree"),
        ("./missing.yaml", "does not exist"),
        ("../other", "not a regular file"),
        ("https://${Bucket}.s3.amazonaws.com/${Prefix}templates/missing.yaml", "no file templates/missing.yaml"),
    ],
)
def test_urls_that_name_no_file_in_the_tree(tree: Path, url: str, why: str) -> None:
    found = locate(url, "templates/parent.yaml", str(tree), {})
    assert isinstance(found, NotLocated) and why in found.why, found


def test_an_override_names_the_file_for_a_url(tree: Path) -> None:
    url = "https://bucket.s3.amazonaws.com/nodes.yaml"
    found = locate(url, "templates/parent.yaml", str(tree), {url: "../outside.yaml"})
    assert found == Located("../outside.yaml", "named by --template-url")


# --- scans of parents and their nested templates -----------------------------------------------

_CHILD_GROUP = """\
Parameters:
  ControlPlaneSecurityGroup: {Type: "AWS::EC2::SecurityGroup::Id"}
Resources:
  FromChild:
    Type: AWS::EC2::SecurityGroupIngress
    Properties: {GroupId: !Ref ControlPlaneSecurityGroup, IpProtocol: tcp, FromPort: 443, ToPort: 443,
                 CidrIp: 10.0.0.0/8}
"""


def _write(directory: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        (directory / name).write_text(text, "utf-8")


def _stack(name: str, url: str, params: str = "{}") -> str:
    properties = f"{{TemplateURL: {url}, Parameters: {params}}}"
    return f"  {name}:\n    Type: AWS::CloudFormation::Stack\n    Properties: {properties}\n"


def test_a_cycle_through_two_templates_is_reported_where_it_closes(tmp_path: Path) -> None:
    _write(tmp_path, {"a.yaml": "Resources:\n" + _stack("NodeStack", "b.yaml")})
    _write(tmp_path, {"b.yaml": "Resources:\n" + _stack("NodeStack", "a.yaml")})
    report = scan([str(tmp_path / "a.yaml")])
    (finding,) = report.findings
    assert finding.policy == "EKS900" and finding.file == str(tmp_path / "b.yaml") and finding.line == 2
    assert "nests itself" in finding.message and " -> " in finding.message


def test_nesting_deeper_than_the_limit_stops_with_a_finding(tmp_path: Path) -> None:
    for level in range(12):
        _write(tmp_path, {f"t{level}.yaml": "Resources:\n" + _stack("Next", f"t{level + 1}.yaml")})
    _write(tmp_path, {"t12.yaml": "Resources: {}\n"})
    report = scan([str(tmp_path / "t0.yaml")])
    (finding,) = report.findings
    assert finding.policy == "EKS900" and "more than 10 levels" in finding.message
    assert finding.file == str(tmp_path / "t10.yaml")


def test_a_parameter_without_value_is_one_group_in_both_templates(tmp_path: Path) -> None:
    parent = (
        'Parameters:\n  ControlPlaneSecurityGroup: {Type: "AWS::EC2::SecurityGroup::Id"}\nResources:\n'
        + _stack("Nodes", "child.yaml", "{ControlPlaneSecurityGroup: !Ref ControlPlaneSecurityGroup}")
        + "  FromParent:\n    Type: AWS::EC2::SecurityGroupIngress\n"
        "    Properties: {GroupId: !Ref ControlPlaneSecurityGroup, IpProtocol: tcp, FromPort: 443, ToPort: 443,"
        " CidrIp: 10.0.0.0/8}\n"
    )
    _write(tmp_path, {"parent.yaml": parent, "child.yaml": _CHILD_GROUP})
    from eks_sg_policy.loaders.cloudformation import NestedStacks, load_cloudformation

    path = str(tmp_path / "parent.yaml")
    unit = load_cloudformation(path, parent, {}, NestedStacks(str(tmp_path)))
    assert unit is not None and unit.files == (path, str(tmp_path / "child.yaml"))
    assert {r.group for r in unit.model.rules} == {f"param:{path}:ControlPlaneSecurityGroup"}


def test_two_stacks_of_one_template_stay_apart(tmp_path: Path) -> None:
    child = (
        "Resources:\n  NodeSecurityGroup:\n    Type: AWS::EC2::SecurityGroup\n    Properties: {GroupDescription: x}\n"
    )
    parent = "Resources:\n" + _stack("One", "child.yaml") + _stack("Two", "child.yaml")
    _write(tmp_path, {"parent.yaml": parent, "child.yaml": child})
    from eks_sg_policy.loaders.cloudformation import NestedStacks, load_cloudformation

    path = str(tmp_path / "parent.yaml")
    unit = load_cloudformation(path, parent, {}, NestedStacks(str(tmp_path)))
    assert unit is not None
    keys = sorted(g.key for g in unit.model.security_groups)
    assert keys == [f"cfn:{path}>One:NodeSecurityGroup", f"cfn:{path}>Two:NodeSecurityGroup"]


def test_a_child_scanned_alone_is_a_stack_of_its_own(tmp_path: Path) -> None:
    _write(tmp_path, {"child.yaml": _CHILD_GROUP})
    together = scan([str(tmp_path)])
    assert together.files == (str(tmp_path / "child.yaml"),)
    _write(tmp_path, {"parent.yaml": "Resources:\n" + _stack("Nodes", "child.yaml")})
    report = scan([str(tmp_path)], ScanOptions())
    assert report.files == (str(tmp_path / "child.yaml"), str(tmp_path / "parent.yaml"))
    assert not report.errors


def test_an_output_the_nested_template_does_not_declare_is_an_error(tmp_path: Path) -> None:
    parent = (
        "Resources:\n" + _stack("Nodes", "child.yaml") + "  Rule:\n    Type: AWS::EC2::SecurityGroupIngress\n"
        "    Properties: {GroupId: !GetAtt Nodes.Outputs.NodeSecurityGroup, IpProtocol: tcp, FromPort: 443,"
        " ToPort: 443, CidrIp: 10.0.0.0/8}\n"
    )
    _write(tmp_path, {"parent.yaml": parent, "child.yaml": _CHILD_GROUP})
    report = scan([str(tmp_path / "parent.yaml")])
    (error,) = report.errors
    assert error.file == str(tmp_path / "parent.yaml") and error.line == 7  # the GetAtt
    assert (
        error.message
        == f"Fn::GetAtt Nodes.Outputs.NodeSecurityGroup: {tmp_path / 'child.yaml'} declares no output NodeSecurityGroup"
    )
    assert report.exit_code() == 2

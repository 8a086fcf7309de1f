"""Broken Terraform input: every error is a ScanError naming the file and line; skip comments."""

from __future__ import annotations

import subprocess
import sys
from datetime import date
from pathlib import Path
from textwrap import dedent

import pytest

from eks_sg_policy.errors import ScanError
from eks_sg_policy.loaders.base import LoadedUnit
from eks_sg_policy.loaders.terraform import load_terraform_module
from eks_sg_policy.model import Direction


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)


def load(tmp_path: Path, text: str, name: str = "main.tf") -> LoadedUnit:
    (tmp_path / "mod").mkdir(exist_ok=True)
    (tmp_path / "mod" / name).write_text(dedent(text).lstrip("\n"))
    return load_terraform_module("mod", [f"mod/{name}"], {}, [])


RULE = """
resource "aws_security_group" "node" {{}}
resource "aws_security_group_rule" "r" {{
  {meta}
  type              = "{type}"
  security_group_id = aws_security_group.node.id
  protocol          = "{protocol}"
  from_port         = {from_port}
  to_port           = 443
  cidr_blocks       = ["{cidr}"]
}}
"""


def rule(**changes: object) -> str:
    values: dict[str, object] = {
        "meta": "",
        "type": "ingress",
        "protocol": "tcp",
        "from_port": 443,
        "cidr": "10.0.0.0/8",
    }
    values.update(changes)
    return RULE.format(**values)


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        (rule(meta="count = -1"), 3, "count must be a whole number >= 0"),
        (rule(meta="count = 1.5"), 3, "count must be a whole number >= 0"),
        (rule(meta="for_each = 5"), 3, "for_each must be a map or a set of strings, not number"),
        (rule(meta='for_each = "x"'), 3, "for_each must be a map or a set of strings, not string"),
        (rule(meta="for_each = null"), 3, "for_each must be a map or a set of strings, not null"),
        (rule(meta="for_each = toset([1, 2])"), 3, "for_each set must hold strings"),
        (rule(meta="count = 1\n  for_each = {}"), 2, "count and for_each cannot both be set"),
        (rule(meta="count = [1][5]"), 3, "invalid count"),
        (rule(cidr="10.0.0.0/33"), 9, "invalid CIDR"),
        (rule(cidr="10.0.0.1"), 9, "has no prefix length"),
        (rule(protocol="bogus"), 6, "unknown IP protocol"),
        (rule(from_port=-5), 7, "port out of range"),
        (rule(from_port=500), 7, "greater than"),
        (rule(type="sideways"), 4, "type must be ingress or egress"),
        ('resource "aws_security_group" "a" {}\nresource "aws_security_group" "a" {}\n', 2, "declared twice"),
        ('resource "aws_security_group" "a" {\n  name = "x"\n  name = "y"\n}\n', 3, "is set twice"),
        ("locals {\n  a = local.b\n  b = local.c\n  c = local.a\n}\n", 2, "local.a -> local.b -> local.c -> local.a"),
    ],
)
def test_each_error_is_a_scan_error_at_its_line(tmp_path: Path, text: str, line: int, message: str) -> None:
    with pytest.raises(ScanError) as caught:
        load(tmp_path, text)
    assert caught.value.file == "mod/main.tf"
    assert caught.value.line == line
    assert message in caught.value.message


def test_syntax_error_has_file_line_and_column(tmp_path: Path) -> None:
    with pytest.raises(ScanError) as caught:
        load(tmp_path, 'resource "aws_security_group" "a" {\n  name = = "x"\n}\n')
    assert (caught.value.file, caught.value.line, caught.value.column) == ("mod/main.tf", 2, 10)
    assert caught.value.message.startswith("syntax error")


def test_json_syntax_error_has_file_line_and_column(tmp_path: Path) -> None:
    with pytest.raises(ScanError) as caught:
        load(tmp_path, '{\n  "resource": {\n    "aws_security_group": [}\n}\n', "main.tf.json")
    assert (caught.value.file, caught.value.line, caught.value.column) == ("mod/main.tf.json", 3, 28)


def test_unreadable_file_is_a_scan_error(tmp_path: Path) -> None:
    with pytest.raises(ScanError) as caught:
        load_terraform_module("mod", ["mod/missing.tf"], {}, [])
    assert caught.value.file == "mod/missing.tf" and "cannot read" in caught.value.message


def test_a_locals_cycle_is_found_even_when_unused(tmp_path: Path) -> None:
    with pytest.raises(ScanError, match=r"local\.x -> local\.x"):
        load(tmp_path, "locals {\n  x = [local.x]\n}\n")


def test_deeply_nested_expressions_are_an_error_with_the_line_not_a_crash(tmp_path: Path) -> None:
    deep = "(" * 400 + '"vpc-1"' + ")" * 400
    with pytest.raises(ScanError) as caught:
        load(tmp_path, f'resource "aws_security_group" "a" {{\n  vpc_id = {deep}\n}}\n')
    assert caught.value.line == 2 and "nested too deeply" in caught.value.message


def test_suppressions_inside_and_above_blocks(tmp_path: Path) -> None:
    unit = load(
        tmp_path,
        """
        # eks-sg-policy:skip=EKS301 bastion needs SSH from the office expires=2030-01-31
        resource "aws_security_group" "bastion" {
          count = 2
        }

        resource "aws_security_group" "node" {
          // eks-sg-policy:skip=EKS102,EKS103 - nodes talk through the shared group
          name = "node"
        }
        """,
    )
    found = [(s.policy, s.resource, s.reason, s.expires, s.provenance.line) for s in unit.suppressions]
    assert found == [
        ("EKS301", "aws_security_group.bastion[0]", "bastion needs SSH from the office", date(2030, 1, 31), 1),
        ("EKS301", "aws_security_group.bastion[1]", "bastion needs SSH from the office", date(2030, 1, 31), 1),
        ("EKS102", "aws_security_group.node", "nodes talk through the shared group", None, 7),
        ("EKS103", "aws_security_group.node", "nodes talk through the shared group", None, 7),
    ]


@pytest.mark.parametrize(
    ("comment", "message"),
    [
        ("# eks-sg-policy:skip=EKS301", "needs a reason"),
        ("# eks-sg-policy:skip=EKS301 expires=2030-01-01", "needs a reason"),
        ("# eks-sg-policy:skip=EKS301 ok expires=tomorrow", "is not a date"),
        ("# eks-sg-policy:skip= because", "must name a policy id"),
    ],
)
def test_invalid_suppressions_are_scan_errors(tmp_path: Path, comment: str, message: str) -> None:
    with pytest.raises(ScanError) as caught:
        load(tmp_path, f'resource "aws_security_group" "a" {{\n  {comment}\n}}\n')
    assert (caught.value.line, message in caught.value.message) == (2, True)


def test_importing_the_loader_does_not_import_hcl2() -> None:
    code = "import sys, eks_sg_policy.loaders.terraform; print('hcl2' in sys.modules or 'lark' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"


DYNAMIC = """
variable "rules" {{}}
resource "aws_security_group" "node" {{
  dynamic "ingress" {{
    for_each = [{{ port = 443 }}]
    content {{
      from_port   = ingress.value.port
      to_port     = ingress.value.port
      protocol    = "tcp"
      cidr_blocks = ["10.0.0.0/8"]
    }}
  }}
  dynamic "ingress" {{
    for_each = {for_each}
    content {{
      from_port   = 22
      to_port     = 22
      protocol    = "tcp"
      cidr_blocks = ["10.0.0.0/8"]
    }}
  }}
}}
"""


@pytest.mark.parametrize(
    ("for_each", "message"),
    [
        ("5", 'for_each of dynamic "ingress" must be a collection, not 5'),
        ("null", 'for_each of dynamic "ingress" must be a collection'),
        ('"abc"', 'for_each of dynamic "ingress" must be a collection'),
        ('{ a = 1 }["b"]', 'invalid for_each of dynamic "ingress"'),
    ],
)
def test_a_dynamic_for_each_terraform_rejects_is_an_error_at_its_line(
    tmp_path: Path, for_each: str, message: str
) -> None:
    with pytest.raises(ScanError) as caught:
        load(tmp_path, DYNAMIC.format(for_each=for_each))
    assert (caught.value.file, caught.value.line) == ("mod/main.tf", 13)
    assert caught.value.message.startswith("aws_security_group.node: ")
    assert message in caught.value.message


def test_a_dynamic_for_each_over_an_unknown_value_is_no_error(tmp_path: Path) -> None:
    loaded = load(tmp_path, DYNAMIC.format(for_each="var.rules"))
    assert loaded.files == ("mod/main.tf",)


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        (
            '{"resource": {"aws_security_group": {"a": {\n"name": "x",\n"tags": {},\n"name": "y"}}}}\n',
            4,
            "attribute 'name' is set twice (first at line 2)",
        ),
        (
            '{"variable": {"v": {\n"type": "string",\n"type": "number"}}}\n',
            3,
            "attribute 'type' is set twice (first at line 2)",
        ),
        (
            '{"locals": {\n"a": 1,\n"a": 2}}\n',
            3,
            "attribute 'a' is set twice (first at line 2)",
        ),
        (
            '{"locals": {"m": {\n"k": 1,\n"k": 2}}}\n',
            3,
            "key 'k' is set twice in an object (first at line 2)",
        ),
    ],
)
def test_a_name_set_twice_in_json_is_an_error_at_its_second_line(
    tmp_path: Path, text: str, line: int, message: str
) -> None:
    with pytest.raises(ScanError) as caught:
        load(tmp_path, text, "main.tf.json")
    assert (caught.value.file, caught.value.line, caught.value.message) == ("mod/main.tf.json", line, message)


def test_a_variable_set_twice_in_a_json_tfvars_file_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "mod").mkdir()
    (tmp_path / "mod" / "main.tf").write_text('variable "v" {}\n')
    (tmp_path / "mod" / "terraform.tfvars.json").write_text('{\n"v": 1,\n"v": 2\n}\n')
    with pytest.raises(ScanError) as caught:
        load_terraform_module("mod", ["mod/main.tf"], {}, [])
    assert (caught.value.file, caught.value.line) == ("mod/terraform.tfvars.json", 3)
    assert caught.value.message == "variable 'v' is set twice (first at line 2)"


def test_repeated_block_keys_in_json_are_separate_blocks(tmp_path: Path) -> None:
    """HCL's JSON syntax keeps every definition of a block type: only arguments must be unique."""
    text = (
        '{"resource": {"aws_security_group": {"a": {"name": "a",\n'
        '"ingress": {"from_port": 22, "to_port": 22, "protocol": "tcp", "cidr_blocks": ["10.0.0.0/8"]},\n'
        '"ingress": {"from_port": 443, "to_port": 443, "protocol": "tcp", "cidr_blocks": ["0.0.0.0/0"]}}}},\n'
        '"resource": {"aws_security_group": {"b": {"name": "b"}}}}\n'
    )
    model = load(tmp_path, text, "main.tf.json").model
    assert sorted(g.name for g in model.security_groups) == ["aws_security_group.a", "aws_security_group.b"]
    assert sorted(r.provenance.line for r in model.rules if r.direction is Direction.INGRESS) == [2, 3]

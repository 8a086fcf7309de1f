"""Parsing Terraform files into blocks and attributes with lines; caching; JSON syntax."""

from __future__ import annotations

from pathlib import Path

import pytest

from eks_sg_policy.errors import ScanError
from eks_sg_policy.loaders import hcl_ast as ast
from eks_sg_policy.loaders import hcl_parse
from eks_sg_policy.loaders.hcl_parse import parse_file

SOURCE = """\
# leading comment
resource "aws_security_group" "node" {
  name = "node"
  tags = {
    "kubernetes.io/cluster/demo" = "owned"
  }

  ingress {
    from_port   = 443
    to_port     = 443
    protocol    = "tcp"
    cidr_blocks = concat(["0.0.0.0/0"], var.extra) # quotes survive
  }

  dynamic "egress" {
    for_each = local.egress
    content {
      from_port = egress.value
    }
  }
}
"""


def test_blocks_and_attributes_have_lines() -> None:
    parsed = parse_file("main.tf", SOURCE)
    (resource,) = parsed.blocks
    assert (resource.type, resource.labels, resource.line, resource.end_line) == (
        "resource",
        ("aws_security_group", "node"),
        2,
        21,
    )
    assert {name: a.line for name, a in resource.attributes.items()} == {"name": 3, "tags": 4}
    (ingress,) = resource.children("ingress")
    assert (ingress.line, ingress.end_line, ingress.attributes["cidr_blocks"].line) == (8, 13, 12)
    (dynamic,) = resource.children("dynamic")
    assert dynamic.labels == ("egress",) and dynamic.children("content")[0].line == 17


def test_expressions_are_parsed_from_the_original_source() -> None:
    (resource,) = parse_file("main.tf", SOURCE).blocks
    (ingress,) = resource.children("ingress")
    cidrs = ingress.attributes["cidr_blocks"].expr
    assert isinstance(cidrs, ast.Call) and cidrs.name == "concat"
    first = cidrs.args[0]
    assert isinstance(first, ast.TupleCons)
    assert first.items[0] == ast.Template(12, ("0.0.0.0/0",))


def test_results_are_cached_per_content() -> None:
    hcl_parse.clear_cache()
    first = parse_file("a.tf", SOURCE)
    assert parse_file("b.tf", SOURCE) is first
    assert parse_file("c.tf", SOURCE + "\n") is not first


def test_a_cached_failure_is_reported_against_each_file() -> None:
    bad = "locals {\n  a = = 1\n}\n"
    for name in ("one.tf", "two.tf"):
        with pytest.raises(ScanError) as caught:
            parse_file(name, bad)
        assert (caught.value.file, caught.value.line, caught.value.column) == (name, 2, 7)


def test_crlf_line_endings() -> None:
    parsed = parse_file("w.tf", 'locals {\r\n  a = "x"\r\n}\r\n')
    assert parsed.blocks[0].attributes["a"].line == 2


def test_empty_file() -> None:
    assert parse_file("empty.tf", "").blocks == ()


def test_tfvars_and_suppression_comments() -> None:
    parsed = parse_file("x.tfvars", 'port = 443\n# eks-sg-policy:skip=EKS301 why\nnames = ["a"]\n')
    assert set(parsed.attributes) == {"port", "names"}
    assert parsed.comments == ((2, "EKS301 why"),) and 2 in parsed.comment_lines


def test_json_configuration_keeps_lines() -> None:
    text = """{
  "locals": {"ports": [443]},
  "resource": {
    "aws_security_group": {
      "node": {
        "vpc_id": "${var.vpc}",
        "ingress": [
          {"from_port": 443, "to_port": 443, "protocol": "tcp"}
        ],
        "tags": {"Name": "node"}
      }
    }
  },
  "variable": {"vpc": {"type": "string", "default": "vpc-${literal}"}}
}
"""
    parsed = parse_file("main.tf.json", text)
    local, resource, variable = parsed.blocks
    assert local.type == "locals" and local.attributes["ports"].line == 2
    assert resource.labels == ("aws_security_group", "node") and resource.line == 5
    assert resource.attributes["vpc_id"].line == 6 and resource.children("ingress")[0].line == 8
    assert "tags" in resource.attributes
    assert isinstance(resource.attributes["vpc_id"].expr, ast.Template)
    assert variable.attributes["default"].expr == ast.Literal(14, "vpc-${literal}")  # defaults are literal
    assert variable.attributes["type"].expr == ast.Variable(14, "string")


def test_tfvars_json_values_are_literal(tmp_path: Path) -> None:
    path = tmp_path / "x.tfvars.json"
    path.write_text('{"name": "${not_a_template}"}')
    parsed = parse_file(str(path))
    assert parsed.attributes["name"].expr == ast.Literal(1, "${not_a_template}")

"""Parsing Terraform files into blocks and attributes with lines; caching; JSON syntax."""

from __future__ import annotations

import codecs
import subprocess
import sys
import time
from pathlib import Path

import pytest

from eks_sg_policy.errors import ScanError
from eks_sg_policy.loaders import hcl_ast as ast
from eks_sg_policy.loaders import hcl_parse
from eks_sg_policy.loaders.hcl_body import MAX_BLOCK_DEPTH
from eks_sg_policy.loaders.hcl_parse import Attribute, parse_file

REPO = Path(__file__).resolve().parents[2]

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


def _attribute(text: str, name: str) -> Attribute:
    return parse_file("t.tf", text).attributes[name]


def test_a_heredoc_may_hold_braces_and_equals() -> None:
    parsed = parse_file("t.tf", 'a = <<EOF\n} = {\n  x = "${1}"\nEOF\nb = 2\nc {\n  d = <<-EOT\n    }\n    EOT\n}\n')
    a = parsed.attributes["a"].expr
    assert isinstance(a, ast.Template) and a.parts == ('} = {\n  x = "', ast.Literal(3, 1), '"\n')
    assert parsed.attributes["b"].line == 5
    (block,) = parsed.blocks
    assert (block.line, block.end_line) == (6, 10)
    assert block.attributes["d"].expr == ast.Template(7, ("}\n",))


def test_templates_with_nested_braces_and_strings() -> None:
    parsed = parse_file("t.tf", 'a = "${ {a=1}["a"] }"\nb = "%{ if x == "}" }${"{"}%{ endif }"\nc = 1\n')
    a = parsed.attributes["a"].expr
    assert isinstance(a, ast.Template)
    (index,) = a.parts
    assert isinstance(index, ast.Index) and isinstance(index.target, ast.ObjectCons)
    assert index.key == ast.Template(1, ("a",))
    assert isinstance(parsed.attributes["b"].expr, ast.Template)
    assert parsed.attributes["c"].line == 3


def test_comments_of_every_style() -> None:
    text = (
        "# one\na = 1 # two\n// three\nb = 2 // four\n/* five\n   = { */ c = 3\n"
        "d /* six */ = [ # seven\n  1, // eight\n  /* nine */ 2\n]\n"
    )
    parsed = parse_file("t.tf", text)
    assert {name: (a.line, a.column) for name, a in parsed.attributes.items()} == {
        "a": (2, 1),
        "b": (4, 1),
        "c": (6, 11),
        "d": (7, 1),
    }
    assert parsed.attributes["d"].expr == ast.TupleCons(7, (ast.Literal(8, 1), ast.Literal(9, 2)))


def test_one_line_blocks_labels_and_empty_blocks() -> None:
    text = 'a { b = 1 }\nc "x\\"y" z {}\nd {\n}\ne "" { f = { g = 1 } }\n'
    a, c, d, e = parse_file("t.tf", text).blocks
    assert (a.type, a.labels, a.line, a.end_line, list(a.attributes)) == ("a", (), 1, 1, ["b"])
    assert (c.labels, c.line, c.end_line, c.attributes) == (('x"y', "z"), 2, 2, {})
    assert (d.line, d.end_line) == (3, 4)
    assert e.labels == ("",) and isinstance(e.attributes["f"].expr, ast.ObjectCons)


def test_expressions_span_lines_inside_brackets_only() -> None:
    text = (
        "a = (\n  x\n  ? [\n    for v in y :\n    v\n    if v != null\n  ]\n"
        "  : {\n    for k, v in z :\n    k => v\n  }\n)\n"
        "b = local.x\n[0]\n"
    )
    with pytest.raises(ScanError) as caught:
        parse_file("t.tf", text)
    assert (caught.value.line, caught.value.column) == (14, 1)
    parsed = parse_file("t.tf", text.replace("\n[0]", "[0]"))
    a = parsed.attributes["a"].expr
    assert isinstance(a, ast.Conditional)
    assert isinstance(a.if_true, ast.ForExpr) and isinstance(a.if_false, ast.ForExpr)
    assert a.if_false.key is not None
    assert parsed.attributes["b"].expr == ast.Index(
        13, ast.GetAttr(13, ast.Variable(13, "local"), "x"), ast.Literal(13, 0)
    )


@pytest.mark.parametrize(
    ("text", "line", "what"),
    [
        ("a = 1 +\n  2\n", 1, "the operand of '+'"),
        ("a = x ||\n  y\n", 1, "the operand of '||'"),
        ("a = x ?\n  1 : 2\n", 1, "the operand of '?'"),
        ("a = x ? 1\n  : 2\n", 2, "the ':' of a conditional"),
        ("a = x ? 1 :\n  2\n", 1, "the operand of ':'"),
        ('r "t" "n" {\n  b = 1 +\n    2\n}\n', 2, "the operand of '+'"),
    ],
)
def test_an_expression_spans_lines_only_inside_brackets_as_in_terraform(text: str, line: int, what: str) -> None:
    with pytest.raises(ScanError) as info:
        parse_file("t.tf", text)
    assert info.value.line == line
    assert info.value.message.startswith(f"syntax error: {what} is on the next line")


def test_inside_parentheses_an_expression_may_span_lines() -> None:
    parsed = parse_file("t.tf", "a = (1 +\n  2)\nb = (x\n  ? 1\n  : 2)\nc = [1,\n  2]\n")
    assert parsed.attributes["a"].expr == ast.Binary(1, "+", ast.Literal(1, 1), ast.Literal(2, 2))
    b = parsed.attributes["b"].expr
    assert isinstance(b, ast.Conditional) and b.if_false == ast.Literal(5, 2)
    assert parsed.attributes["c"].line == 6


@pytest.mark.parametrize(
    ("text", "line", "column", "message"),
    [
        ("a = 1 b = 2\n", 1, 7, "unexpected 'b': attribute 'a' must end with a newline"),
        ("a {} b {}\n", 1, 6, "unexpected 'b': block 'a' must end with a newline"),
        ("a = 1\n+ 2\n", 2, 1, "unexpected '+': expected an attribute or a block"),
        ("a = 1\n}\n", 2, 1, "unexpected '}'"),
        ("a =\n  1\n", 1, 4, "expected a value for 'a' after '=', on the same line"),
        ("a\n{\n}\n", 1, 2, "expected '=' or a block after 'a'"),
        ('a "x"\n{\n}\n', 1, 6, "expected '{' on the line of block 'a'"),
        ("a 1 {}\n", 1, 3, "unexpected '1' after 'a'"),
        ('a "${x}" {}\n', 1, 3, "a block label cannot contain '${' or '%{' sequences"),
        ("a { b = 1 c = 2 }\n", 1, 11, "unexpected 'c': a block on one line can hold only a single attribute"),
        ("a { b {} }\n", 1, 5, "unexpected 'b': a block on one line can hold only a single attribute"),
        ("a { b = 1\n}\n", 1, 10, "expected '}' to close block 'a' on its line"),
        ("a {\n  b = 1 }\n", 2, 9, "unexpected '}': attribute 'b' must end with a newline"),
        ('resource "a" "b" {\n  x = 1\n', 3, 1, "unexpected end of file: block 'resource' of line 1 is not closed"),
        ('a = "abc\nb = 1\n', 1, 9, "unterminated string"),
        ('locals {\n  a = "\\d"\n}\n', 2, 8, "invalid escape sequence \\d"),
        ("a = [1,,2]\n", 1, 8, "unexpected ','"),
        ("a = x ? 1\n", 2, 1, "expected ':', found end of file"),
        ("a = 1\n/* open\n", 2, 1, "unterminated comment"),
        ("a = <<EOF\nx\n", 2, 1, "heredoc EOF is not closed"),
        ("a = 1 @\n", 1, 7, "unexpected character '@'"),
        ("a = 1 " + "x" * 100 + "\n", 1, 7, "unexpected '" + "x" * 40 + "': attribute 'a' must end with a newline"),
    ],
)
def test_syntax_errors_have_their_position(text: str, line: int, column: int, message: str) -> None:
    with pytest.raises(ScanError) as caught:
        parse_file("t.tf", text)
    assert (caught.value.file, caught.value.line, caught.value.column) == ("t.tf", line, column)
    assert caught.value.message.startswith(f"syntax error: {message}")


def test_an_error_in_an_attribute_nothing_reads_is_still_an_error() -> None:
    with pytest.raises(ScanError) as caught:
        parse_file("t.tf", 'variable "unused" {\n  description = "a" "b"\n}\n')
    assert (caught.value.line, caught.value.column) == (2, 21)


def test_terraform_0_11_syntax_gets_a_hint() -> None:
    text = 'locals {\n  x = "${var.a}"\n  m = {\n    c4.2xlarge = 1\n  }\n}\n'
    with pytest.raises(ScanError) as caught:
        parse_file("t.tf", text)
    assert (caught.value.line, caught.value.column) == (4, 8)
    assert caught.value.message == (
        "syntax error: unexpected '2xlarge' (this file looks like Terraform 0.11 syntax, which is not supported)"
    )


def test_block_nesting_is_bounded() -> None:
    def nest(depth: int) -> str:
        return "".join(f"b{i} {{\n" for i in range(depth)) + "}\n" * depth

    innermost = parse_file("t.tf", nest(MAX_BLOCK_DEPTH)).blocks[0]
    for _ in range(MAX_BLOCK_DEPTH - 1):
        (innermost,) = innermost.blocks
    assert (innermost.type, innermost.line, innermost.end_line) == (f"b{MAX_BLOCK_DEPTH - 1}", 100, 101)
    started = time.perf_counter()
    with pytest.raises(ScanError) as caught:
        parse_file("t.tf", nest(100_000))
    assert time.perf_counter() - started < 5
    assert caught.value.line == MAX_BLOCK_DEPTH + 1
    assert caught.value.message == f"syntax error: blocks are nested more than {MAX_BLOCK_DEPTH} deep"


def test_nesting_beyond_the_interpreter_stack_is_an_error_with_a_line() -> None:
    deep_template = "a = " + '"${' * 110 + "1" + '}"' * 110 + "\n"
    text = "".join(f"b{i} {{\n" for i in range(MAX_BLOCK_DEPTH)) + deep_template + "}\n" * MAX_BLOCK_DEPTH
    with pytest.raises(ScanError) as caught:
        parse_file("t.tf", text)
    assert caught.value.line == MAX_BLOCK_DEPTH + 1 and "nested too deeply" in caught.value.message


def test_encodings(tmp_path: Path) -> None:
    bad = tmp_path / "bad.tf"
    bad.write_bytes(b'locals {\n  a = "x"\n  b = "\xff"\n}\n')
    with pytest.raises(ScanError) as caught:
        parse_file(str(bad))
    assert (caught.value.message, caught.value.line) == ("not UTF-8 text", 3)
    wide = tmp_path / "wide.tf"
    wide.write_bytes(codecs.BOM_UTF16_LE + 'a = "x"\n'.encode("utf-16-le"))
    with pytest.raises(ScanError, match="not UTF-8 text"):
        parse_file(str(wide))
    bom = tmp_path / "bom.tf"
    bom.write_bytes(codecs.BOM_UTF8 + b'a = "\xc3\xa9"\r\n')
    assert parse_file(str(bom)).attributes["a"].expr == ast.Template(1, ("é",))


def test_scanning_terraform_does_not_import_hcl2_or_lark() -> None:
    fixture = REPO / "fixtures" / "terraform" / "eks101-fail"
    code = (
        "import sys\n"
        "from eks_sg_policy.api import scan\n"
        f"report = scan([{str(fixture)!r}])\n"
        "assert report.findings and not report.errors, report.errors\n"
        "print(sorted(name for name in ('hcl2', 'lark') if name in sys.modules))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"

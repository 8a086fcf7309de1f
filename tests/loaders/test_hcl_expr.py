"""The HCL expression tokenizer/parser: precedence, traversals, templates, positions."""

from __future__ import annotations

import json

import pytest

from eks_sg_policy.loaders import hcl_ast as ast
from eks_sg_policy.loaders.hcl_expr import SPLAT_ELEMENT, HclSyntaxError, parse_expression, parse_template
from eks_sg_policy.loaders.terraform_context import evaluate_constant


def shape(node: ast.Node) -> object:
    """A compact rendering of a tree, for readable expectations."""
    if isinstance(node, ast.Literal):
        return node.value
    if isinstance(node, ast.Variable):
        return node.name
    if isinstance(node, ast.GetAttr):
        return (".", shape(node.target), node.name)
    if isinstance(node, ast.Index):
        return ("[]", shape(node.target), shape(node.key))
    if isinstance(node, ast.Binary):
        return (node.op, shape(node.left), shape(node.right))
    if isinstance(node, ast.Unary):
        return (node.op, shape(node.operand))
    if isinstance(node, ast.Conditional):
        return ("?", shape(node.condition), shape(node.if_true), shape(node.if_false))
    if isinstance(node, ast.Call):
        return (node.name + "()", *[shape(a) for a in node.args])
    if isinstance(node, ast.Template):
        return ("tpl", *[p if isinstance(p, str) else shape(p) for p in node.parts])
    if isinstance(node, ast.TupleCons):
        return ["tuple", *[shape(i) for i in node.items]]
    if isinstance(node, ast.ObjectCons):
        return {str(shape(k)): shape(v) for k, v in node.items}
    if isinstance(node, ast.Splat):
        steps = [s.name if isinstance(s, ast.SplatAttr) else ("[]", shape(s.key)) for s in node.steps]
        return ("splat", shape(node.target), *steps)
    return type(node).__name__


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1 + 2 * 3", ("+", 1, ("*", 2, 3))),
        ("(1 + 2) * 3", ("*", ("+", 1, 2), 3)),
        ("a || b && c", ("||", "a", ("&&", "b", "c"))),
        ("a == b || c != d", ("||", ("==", "a", "b"), ("!=", "c", "d"))),
        ("1 < 2 == true", ("==", ("<", 1, 2), True)),
        ("!a && -b > 0", ("&&", ("!", "a"), (">", ("-", "b"), 0))),
        ("8 - 2 - 1", ("-", ("-", 8, 2), 1)),
        ("a ? b : c ? d : e", ("?", "a", "b", ("?", "c", "d", "e"))),
        ("-1", -1),
        ("1.5e3", 1500),
        ("null", None),
        ("local.workstation-external-cidr", (".", "local", "workstation-external-cidr")),
        ('x.y["z"][0]', ("[]", ("[]", (".", "x", "y"), ("tpl", "z")), 0)),
        (
            "a.vpc_config.0.cluster_security_group_id",
            (".", ("[]", (".", "a", "vpc_config"), 0), "cluster_security_group_id"),
        ),
        ("x[*].id", ("splat", "x", "id")),
        ("x[*].a[0]", ("splat", "x", "a", ("[]", 0))),
        ("x.*.id[0]", ("[]", ("splat", "x", "id"), 0)),
        ("f(a, b)", ("f()", "a", "b")),
        ("provider::aws::arn_parse(x)", ("provider::aws::arn_parse()", "x")),
        ('[1, "a", ]', ["tuple", 1, ("tpl", "a")]),
        ('{ a = 1, "b.c" : 2\n (k) = 3 }', {"a": 1, "('tpl', 'b.c')": 2, "k": 3}),
        ('"pre-${var.a}-post"', ("tpl", "pre-", (".", "var", "a"), "-post")),
        ('"$${literal} %%{x}"', ("tpl", "${literal} %{x}")),
        ('"a\\"b\\n\\u00e9"', ("tpl", 'a"b\né')),
        ("x # trailing comment\n", "x"),
        ("/* c */ x // c", "x"),
    ],
)
def test_parse(text: str, expected: object) -> None:
    assert shape(parse_expression(text)) == expected


def test_for_expressions() -> None:
    node = parse_expression("{ for k, v in merge(a, b) : k => v... if v.on }")
    assert isinstance(node, ast.ForExpr)
    assert (node.key_var, node.value_var, node.grouping) == ("k", "v", True)
    assert shape(node.collection) == ("merge()", "a", "b") and shape(node.condition) == (".", "v", "on")  # type: ignore[arg-type]
    listed = parse_expression("[for s in var.l : s.id]")
    assert isinstance(listed, ast.ForExpr) and listed.key is None and listed.key_var is None


def test_object_key_named_for_is_not_a_for_expression() -> None:
    assert shape(parse_expression("{ for = 1 }")) == {"for": 1}


def test_heredocs() -> None:
    plain = parse_expression("<<EOT\n  a ${x}\nEOT\n")
    assert shape(plain) == ("tpl", "  a ", "x", "\n")
    indented = parse_expression("<<-EOT\n    hello\n      there\n    EOT\n")
    assert shape(indented) == ("tpl", "hello\n  there\n")


def test_template_directives_and_strip_markers() -> None:
    node = parse_expression('"%{ if a }yes%{ else }no%{ endif } ${~ b ~} !"')
    assert isinstance(node, ast.Template)
    directive = node.parts[0]
    assert isinstance(directive, ast.TemplateIf)
    assert (directive.then_parts, directive.else_parts) == (("yes",), ("no",))
    assert [p if isinstance(p, str) else shape(p) for p in node.parts[1:]] == ["b", "!"]
    loop = parse_template("%{ for k, v in m }${k}=${v};%{ endfor }")
    assert isinstance(loop, ast.Template) and isinstance(loop.parts[0], ast.TemplateFor)


def test_lines_are_absolute() -> None:
    node = parse_expression("{\n  a = 1\n  b = {\n    c = 2\n  }\n}", line=10, column=9)
    assert isinstance(node, ast.ObjectCons) and node.line == 10
    (_ka, a), (_kb, b) = node.items
    assert (a.line, b.line) == (11, 12)


@pytest.mark.parametrize(
    ("text", "line", "column"),
    [
        ("a +", 1, 4),
        ("f(a b)", 1, 5),
        ('"unterminated', 1, 14),
        ("x\n  @", 2, 3),
        ('"bad \\q escape"', 1, 6),
        ("<<EOT\nno end\n", 2, 1),
        ('"x%{ if a }x"', 1, 3),
        ('"x%{ endif }"', 1, 3),
    ],
)
def test_syntax_errors_have_positions(text: str, line: int, column: int) -> None:
    with pytest.raises(HclSyntaxError) as caught:
        parse_expression(text)
    assert (caught.value.line, caught.value.column) == (line, column)


def test_depth_is_bounded() -> None:
    with pytest.raises(HclSyntaxError, match="nested too deeply"):
        parse_expression("[" * 500 + "]" * 500)
    with pytest.raises(HclSyntaxError, match="nested too deeply"):
        parse_expression("!" * 500 + "true")


def test_walk_and_local_references() -> None:
    node = parse_expression('"${local.a}" == local.b ? [for x in local.c : x[local.d]] : {k = local.e}')
    assert ast.local_references(node) == {"a", "b", "c", "d", "e"}
    assert ast.describe(parse_expression('module.ng["a"].sg_id')) == 'module.ng["a"].sg_id'


def test_a_splat_after_a_splat_splats_each_element() -> None:
    node = parse_expression("a[*].b[*].c")
    assert isinstance(node, ast.ForExpr) and node.value_var == SPLAT_ELEMENT
    assert shape(node.collection) == ("splat", "a", "b")
    assert shape(node.value) == ("splat", SPLAT_ELEMENT, "c")
    nested = [{"b": [{"c": 1}, {"c": 2}]}, {"b": [{"c": 3}]}, {"b": []}]
    data = parse_expression(f"jsondecode({json.dumps(json.dumps(nested))})[*].b[*].c")
    assert evaluate_constant(data, "x.tf") == [[1, 2], [3], []]
    deeper = parse_expression("a[*].b[*].c[*].d")
    assert isinstance(deeper, ast.ForExpr) and isinstance(deeper.value, ast.ForExpr)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{ a = 1 b = 2 }", "unexpected 'b': object items are separated by a comma or a newline"),
        ("{ a\n = 1 }", "expected '=' after object key, on the same line"),
        ("{ a =\n 1 }", "expected a value after '=', on the same line"),
        ("c4.2xlarge", "unexpected '2xlarge'"),
        ("f(y " + "x" * 100 + ")", "expected ')', found '" + "x" * 40 + "'"),
        ("a ? b", "expected ':', found end of expression"),
    ],
)
def test_syntax_error_messages(text: str, message: str) -> None:
    with pytest.raises(HclSyntaxError) as caught:
        parse_expression(text)
    assert caught.value.message == message


def test_newlines_inside_brackets_are_blanks() -> None:
    text = "f(\n  a\n  + b,\n  [\n    c\n    ? 1\n    : 2\n  ]\n)"
    assert shape(parse_expression(text)) == ("f()", ("+", "a", "b"), ["tuple", ("?", "c", 1, 2)])
    assert shape(parse_expression('"${join(",",\n  x)}"')) == ("tpl", ("join()", ("tpl", ","), "x"))
    assert shape(parse_expression("{\n  a = [\n    1\n  ]\n  b = 2\n}")) == {"a": ["tuple", 1], "b": 2}

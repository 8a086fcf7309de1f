"""Evaluating expressions: Terraform semantics, unknowns that propagate, the function library."""

from __future__ import annotations

import pytest

from eks_sg_policy.loaders import hcl_ast as ast
from eks_sg_policy.loaders.hcl_eval import evaluate
from eks_sg_policy.loaders.hcl_expr import parse_expression
from eks_sg_policy.loaders.hcl_types import convert, parse_type
from eks_sg_policy.loaders.hcl_values import EvalError, ObjectValue, Ref, Tagged, Unknown


class NameScope:
    file = "t.tf"

    def __init__(self, names: dict[str, object]) -> None:
        self.names = names

    def lookup(self, name: str, node: ast.Node) -> object:
        if name in self.names:
            return self.names[name]
        raise EvalError(f"unknown name {name}")


SG = Ref("sg", "tf:m:aws_security_group.node", "aws_security_group.node.id")
VAR = Ref("var", "var:m:cluster_sg", "var.cluster_sg", "pass --var cluster_sg=...")
NAMES: dict[str, object] = {
    "var": {"ports": [443, 10250], "m": {"b": 2, "a": 1}, "empty": "", "none": None, "cidr": "10.0.0.0/16"},
    "sg": SG,
    "ext": VAR,
    "unknown": Unknown("data.x.y", "scan it"),
}


def ev(text: str, **names: object) -> object:
    return evaluate(parse_expression(text), NameScope({**NAMES, **names}))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1 + 2 * 3", 7),
        ("7 / 2", 3.5),
        ("-7 % 3", -1),
        ('"a" == "a" && 1 != 2', True),
        ('1 == "1"', False),
        ("true ? 1 : var.missing", 1),  # only the branch taken is evaluated
        ("false && var.missing", False),
        ("true || var.missing", True),
        ('"x-${var.ports[1]}-${true}"', "x-10250-true"),
        ('"${var.ports}"', [443, 10250]),  # a lone interpolation keeps its type
        ("[for k, v in var.m : k]", ["a", "b"]),  # maps iterate in key order
        ("{for k, v in var.m : v => k}", {"1": "a", "2": "b"}),
        ('{for p in var.ports : (p > 1000 ? "high" : "low") => p...}', {"low": [443], "high": [10250]}),
        ("[for p in var.ports : p if p > 1000]", [10250]),
        ('[for k, v in toset(["b", "a", "b"]) : "${k}=${v}"]', ["a=a", "b=b"]),
        ("var.m[*]", [{"b": 2, "a": 1}]),
        ("var.none[*]", []),
        ("[{a = 1}, {a = 2}][*].a", [1, 2]),
        ("try(var.m.c, var.m.a)", 1),
        ("can(var.m.c)", False),
        ('"%{ for p in var.ports }${p},%{ endfor }"', "443,10250,"),
        ('"%{ if var.empty == "" }none%{ endif }"', "none"),
    ],
)
def test_semantics(text: str, expected: object) -> None:
    assert ev(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "unknown.x",
        '"${unknown}-x"',
        "unknown ? 1 : 2",
        "unknown + 1",
        "[for x in unknown : x]",
        '"%{ for x in unknown }${x}%{ endfor }"',
        '"%{ if unknown }a%{ endif }b"',
        "{(unknown) = 1}",
        "lower(unknown)",
        'format("%s", sg)',
        "merge(var.m, unknown)",
    ],
)
def test_unknown_propagates(text: str) -> None:
    value = ev(text)
    assert isinstance(value, Unknown)
    assert value.what in ("data.x.y", "aws_security_group.node.id")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('compact(concat([sg], ["", null], var.ports))', [SG, 443, 10250]),
        ("distinct([sg, sg])", [SG]),
        ('join("", [sg])', SG),
        ("coalesce(null, sg)", SG),
        ("element([sg], 3)", SG),
        ("one([sg])", SG),
        ("sg == null", False),
        ('sg != ""', True),
        ("tostring(sg)", SG),
        ("ext.x", VAR.extend(".x")),
        ("ext[0]", VAR.extend("[0]")),
        ("ext[*]", VAR.extend("[*]")),
        ("ext[*].id", VAR.extend("[*].id")),
    ],
)
def test_identities_survive_structural_functions(text: str, expected: object) -> None:
    assert ev(text) == expected


def test_comparing_a_variable_without_value_is_unknown() -> None:
    assert isinstance(ev("ext == null"), Unknown)
    assert isinstance(ev('contains([ext], "sg-1")'), Unknown)
    assert ev('contains([ext, "sg-1"], "sg-1") ') is True


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("merge({a = 1}, null, {b = 2}, {a = 3})", {"a": 3, "b": 2}),
        ('lookup({a = 1}, "b", 9)', 9),
        ("keys({b = 1, a = 2})", ["a", "b"]),
        ("values({b = 1, a = 2})", [2, 1]),
        ("flatten([[1, [2]], 3])", [1, 2, 3]),
        ('toset(["b", "a", "b"])', ["a", "b"]),
        ("length({a = 1})", 1),
        ('coalescelist([], ["x"])', ["x"]),
        ('zipmap(["a", "b"], [1, 2])', {"a": 1, "b": 2}),
        ('setunion(["a"], ["b", "a"])', ["a", "b"]),
        ('setsubtract(["a", "b"], ["a"])', ["b"]),
        ('setintersection(["a", "b"], ["b"])', ["b"]),
        ("range(3)", [0, 1, 2]),
        ("range(1, 7, 3)", [1, 4]),
        ("min(3, 1, 2) + max(3, 1, 2)", 4),
        ('format("%s-%03d-%v-%q", "a", 7, true, "b")', 'a-007-true-"b"'),
        ('join(",", ["a", "b"], ["c"])', "a,b,c"),
        ('split(",", "a,b")', ["a", "b"]),
        ('replace("a_b_c", "_", "-")', "a-b-c"),
        ('replace("k8s-1.30", "/[.-]/", "")', "k8s130"),
        ('substr("hello", 1, 3)', "ell"),
        ('upper("a") + lower("B") == "Ab"', None),
        ('cidrsubnet("10.0.0.0/16", 8, 2)', "10.0.2.0/24"),
        ('cidrsubnet("fd00::/56", 8, 1)', "fd00:0:0:1::/64"),
        ('cidrhost("10.0.0.0/24", 5)', "10.0.0.5"),
        ('cidrhost("10.0.0.0/24", -1)', "10.0.0.255"),
        ('jsonencode({b = [1, true], a = "x"})', '{"a":"x","b":[1,true]}'),
        ('tonumber("42")', 42),
        ('startswith("WINDOWS_CORE", "WINDOWS")', True),
        ('try(tonumber("x"), "fallback")', "fallback"),
        ('list("a", "b")', ["a", "b"]),
        ('map("k", "v")', {"k": "v"}),
        ('regex("^v([0-9]+)", "v21")', ["21"]),
        ('trimprefix("sg-1", "sg-")', "1"),
    ],
)
def test_functions(text: str, expected: object) -> None:
    if expected is None:
        with pytest.raises(EvalError):
            ev(text)
    else:
        assert ev(text) == expected


def test_unsupported_functions_are_unknown_not_errors() -> None:
    value = ev('templatefile("x.tpl", {})')
    assert isinstance(value, Unknown) and "templatefile" in value.what


@pytest.mark.parametrize(
    "text",
    ["[1][3]", '{a = 1}["b"]', "var.none.x", '"x${var.none}"', "true && 1", "one([1, 2])", "1 / 0", "element([], 0)"],
)
def test_errors_terraform_would_report(text: str) -> None:
    with pytest.raises(EvalError):
        ev(text)


def test_object_literals_remember_where_they_were_written() -> None:
    value = evaluate(parse_expression("{\n a = {\n  b = 1\n }\n}", line=5), NameScope({}))
    assert isinstance(value, ObjectValue) and value.origin == ("t.tf", 5)
    inner = value["a"]
    assert isinstance(inner, ObjectValue) and inner.origin == ("t.tf", 6)


def test_tagged_names_behave_as_strings_and_keep_their_identity() -> None:
    ref = Ref("cluster", "tf:m:aws_eks_cluster.c", "aws_eks_cluster.c.name")
    name = Tagged("demo", ref)
    assert ev('"${n}-nodes"', n=name) == "demo-nodes"
    assert ev('n == "demo"', n=name) is True
    passed = ev("n", n=name)
    assert isinstance(passed, Tagged) and passed.ref == ref


def test_type_conversion_fills_optional_attributes() -> None:
    spec = parse_type(
        parse_expression(
            "map(object({ create = optional(bool, true), port = optional(number), ids = optional(list(string), []) }))"
        )
    )
    value = {"a": {"port": "443"}, "b": {"create": False, "extra": 1}}
    converted = convert(value, spec, lambda node: evaluate(node, NameScope({})))
    assert converted == {"a": {"create": True, "port": 443, "ids": []}, "b": {"create": False, "port": None, "ids": []}}
    with pytest.raises(EvalError):
        convert({"a": {"port": "x"}}, spec, lambda node: evaluate(node, NameScope({})))
    assert convert(["b", "a", "a"], parse_type(parse_expression("set(string)")), lambda n: None) == ["a", "b"]
    assert convert(80, parse_type(parse_expression("string")), lambda n: None) == "80"

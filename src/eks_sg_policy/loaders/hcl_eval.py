"""Evaluate HCL expression trees against a scope (variables, locals, resources, ...).

Semantics follow Terraform where a static scan can: conditionals evaluate only the branch taken,
`&&`/`||` short-circuit, maps iterate in key order, `try()`/`can()` catch what Terraform would
reject (EvalError). What cannot be known is an `Unknown` (or a `Ref` when its identity is
known) and flows through operators and functions instead of being guessed.
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Protocol

from ..errors import ScanError
from . import hcl_ast as ast
from .hcl_functions import call_function
from .hcl_values import (
    TRAVERSABLE,
    Budget,
    EvalError,
    Lazy,
    ObjectValue,
    Ref,
    TooMuchWork,
    Unknown,
    check_size,
    equal,
    force,
    normalize_number,
    pairs,
    to_bool,
    to_number,
    to_text,
    unknown_from,
)

MAX_DEPTH = 160
_IDENTITY_KINDS = frozenset({"sg", "cluster-sg", "lt", "lc", "cluster"})


class Scope(Protocol):
    @property
    def file(self) -> str: ...

    def lookup(self, name: str, node: ast.Node) -> object: ...


class ChildScope:
    """A scope with extra names bound: for-expression symbols, dynamic-block iterators."""

    def __init__(self, parent: Scope, bindings: dict[str, object]) -> None:
        self.parent = parent
        self.bindings = bindings

    @property
    def file(self) -> str:
        return self.parent.file

    def lookup(self, name: str, node: ast.Node) -> object:
        if name in self.bindings:
            return self.bindings[name]
        return self.parent.lookup(name, node)


class _Depth:
    value = 0


def evaluate(node: ast.Node, scope: Scope) -> object:
    _Depth.value += 1
    try:
        if _Depth.value > MAX_DEPTH:
            raise ScanError(scope.file, "expressions are nested or chained too deeply to evaluate", node.line)
        try:
            Budget.spend()
            result = _dispatch(node, scope)
            if isinstance(result, list) and len(result) > 64:
                Budget.spend(len(result))
                check_size(result)
            return result
        except TooMuchWork as exc:
            raise ScanError(scope.file, f"refused: {exc}", node.line) from None
    finally:
        _Depth.value -= 1


def _dispatch(node: ast.Node, scope: Scope) -> object:
    if isinstance(node, ast.Literal):
        return node.value
    if isinstance(node, ast.Variable):
        return scope.lookup(node.name, node)
    if isinstance(node, ast.GetAttr):
        return get_attr(evaluate(node.target, scope), node.name, node)
    if isinstance(node, ast.Index):
        return index(evaluate(node.target, scope), evaluate(node.key, scope), node)
    handler = _HANDLERS.get(type(node))
    if handler is None:
        return Unknown(f"expression not understood: {type(node).__name__}")
    return handler(node, scope)


def get_attr(value: object, name: str, node: ast.Node) -> object:
    if isinstance(value, Lazy):
        return value.get_attr(name)
    if isinstance(value, dict):
        if name in value:
            return value[name]
        raise EvalError(f"{ast.describe(node)}: object has no attribute {name!r}")
    if isinstance(value, Ref):
        return value.extend(f".{name}") if value.kind in TRAVERSABLE else Unknown(f"{value.what}.{name}")
    if isinstance(value, Unknown):
        return value
    if value is None:
        raise EvalError(f"{ast.describe(node)}: attempt to get attribute {name!r} of null")
    raise EvalError(f"{ast.describe(node)}: a {type(value).__name__} value has no attributes")


def index(value: object, key: object, node: ast.Node) -> object:
    if isinstance(key, (Unknown, Ref)):
        return unknown_from(key)
    if isinstance(value, Lazy):
        return value.index(key)
    if isinstance(value, Ref):
        step = f"[{json.dumps(key) if isinstance(key, str) else key}]"
        return value.extend(step) if value.kind in TRAVERSABLE else Unknown(value.what + step)
    if isinstance(value, Unknown):
        return value
    if isinstance(value, list):
        position = to_number(key, "index")
        if not isinstance(position, int) or not 0 <= position < len(value):
            raise EvalError(f"{ast.describe(node)}: index {key!r} out of range (length {len(value)})")
        return value[position]
    if isinstance(value, dict):
        text = to_text(key, "key")
        if text not in value:
            raise EvalError(f"{ast.describe(node)}: no element {text!r}")
        return value[text]
    if value is None:
        raise EvalError(f"{ast.describe(node)}: cannot index null")
    raise EvalError(f"{ast.describe(node)}: cannot index a {type(value).__name__}")


def _template(node: ast.Node, scope: Scope) -> object:
    assert isinstance(node, ast.Template)
    if len(node.parts) == 1 and isinstance(node.parts[0], ast.Node) and not _is_directive(node.parts[0]):
        return evaluate(node.parts[0], scope)  # "${x}" keeps x's type
    return _render(node.parts, scope)


def _is_directive(node: ast.Node) -> bool:
    return isinstance(node, (ast.TemplateIf, ast.TemplateFor))


def _render(parts: tuple[str | ast.Node, ...], scope: Scope) -> object:
    pieces: list[str] = []
    for index, part in enumerate(parts):
        if isinstance(part, str):
            pieces.append(part)
            continue
        value = _directive(part, scope) if _is_directive(part) else force(evaluate(part, scope))
        if isinstance(value, (Unknown, Ref)):
            rest = parts[index + 1 :]
            literal = [p for p in rest if isinstance(p, str)]
            suffix = "".join(literal) if len(literal) == len(rest) else ""
            return replace(unknown_from(value), suffix=suffix)
        if isinstance(value, (list, dict, Lazy)):
            raise EvalError("a template can only interpolate strings, numbers and bools")
        pieces.append(to_text(value, "interpolated value"))
    return "".join(pieces)


def _directive(node: ast.Node, scope: Scope) -> object:
    if isinstance(node, ast.TemplateIf):
        condition = evaluate(node.condition, scope)
        if isinstance(condition, (Unknown, Ref)):
            return condition
        chosen = node.then_parts if to_bool(condition, "template condition") else node.else_parts
        return _render(chosen, scope)
    assert isinstance(node, ast.TemplateFor)
    out: list[str] = []
    entries = _iterate(evaluate(node.collection, scope))
    if isinstance(entries, Unknown):
        return entries
    for key, value in entries:
        bindings = {node.value_var: value}
        if node.key_var:
            bindings[node.key_var] = key
        rendered = _render(node.body, ChildScope(scope, bindings))
        if not isinstance(rendered, str):
            return rendered
        out.append(rendered)
    return "".join(out)


def _iterate(collection: object) -> list[tuple[object, object]] | Unknown:
    collection = force(collection)
    if isinstance(collection, (Unknown, Ref)):
        return unknown_from(collection)
    if isinstance(collection, (list, dict)):
        return pairs(collection)
    raise EvalError(f"cannot iterate over {'null' if collection is None else type(collection).__name__}")


def _for(node: ast.Node, scope: Scope) -> object:
    assert isinstance(node, ast.ForExpr)
    entries = _iterate(evaluate(node.collection, scope))
    if isinstance(entries, Unknown):
        return entries
    items: list[object] = []
    mapping: dict[str, object] = {}
    for key, value in entries:
        bindings = {node.value_var: value}
        if node.key_var:
            bindings[node.key_var] = key
        inner = ChildScope(scope, bindings)
        if node.condition is not None:
            keep = evaluate(node.condition, inner)
            if isinstance(keep, (Unknown, Ref)):
                return unknown_from(keep)
            if not to_bool(keep, "for expression condition"):
                continue
        element = evaluate(node.value, inner)
        if node.key is None:
            items.append(element)
            continue
        name = evaluate(node.key, inner)
        if isinstance(name, (Unknown, Ref)):
            return unknown_from(name)
        text = to_text(name, "for expression key")
        if node.grouping:
            existing = mapping.setdefault(text, [])
            assert isinstance(existing, list)
            existing.append(element)
        elif text in mapping:
            raise EvalError(f"duplicate key {text!r} in for expression (use ... to group)")
        else:
            mapping[text] = element
    return items if node.key is None else mapping


def _object(node: ast.Node, scope: Scope) -> object:
    assert isinstance(node, ast.ObjectCons)
    out = ObjectValue.at((scope.file, node.line))
    for key_node, value_node in node.items:
        key = force(evaluate(key_node, scope))
        if isinstance(key, (Unknown, Ref)):
            return unknown_from(key)
        out[to_text(key, "object key")] = evaluate(value_node, scope)
    return out


def _tuple(node: ast.Node, scope: Scope) -> object:
    assert isinstance(node, ast.TupleCons)
    return [evaluate(item, scope) for item in node.items]


def _splat(node: ast.Node, scope: Scope) -> object:
    assert isinstance(node, ast.Splat)
    target = force(evaluate(node.target, scope))
    if isinstance(target, Ref) and target.kind in TRAVERSABLE:
        traversed: object = target.extend("[*]")
        for step in node.steps:
            if isinstance(step, ast.SplatAttr):
                traversed = get_attr(traversed, step.name, node)
            else:
                traversed = index(traversed, evaluate(step.key, scope), node)
        return traversed
    if isinstance(target, (Unknown, Ref)):
        return unknown_from(target)
    if target is None:
        return []
    elements = target if isinstance(target, list) else [target]
    out: list[object] = []
    for element in elements:
        for step in node.steps:
            if isinstance(step, ast.SplatAttr):
                element = get_attr(element, step.name, node)
            else:
                element = index(element, evaluate(step.key, scope), node)
        out.append(element)
    return out


def _conditional(node: ast.Node, scope: Scope) -> object:
    assert isinstance(node, ast.Conditional)
    condition = force(evaluate(node.condition, scope))
    if isinstance(condition, (Unknown, Ref)):
        return unknown_from(condition)
    chosen = node.if_true if to_bool(condition, "condition") else node.if_false
    return evaluate(chosen, scope)


def _unary(node: ast.Node, scope: Scope) -> object:
    assert isinstance(node, ast.Unary)
    value = force(evaluate(node.operand, scope))
    if isinstance(value, (Unknown, Ref)):
        return unknown_from(value)
    if node.op == "!":
        return not to_bool(value, "operand of !")
    return normalize_number(-to_number(value, "operand of -"))


def _binary(node: ast.Node, scope: Scope) -> object:
    assert isinstance(node, ast.Binary)
    if node.op in ("&&", "||"):
        return _logical(node, scope)
    left = force(evaluate(node.left, scope))
    right = force(evaluate(node.right, scope))
    if node.op in ("==", "!="):
        same = _compare_equal(left, right)
        if isinstance(same, Unknown):
            return same
        return same if node.op == "==" else not same
    for side in (left, right):
        if isinstance(side, (Unknown, Ref)):
            return unknown_from(side)
    a, b = to_number(left, f"left operand of {node.op}"), to_number(right, f"right operand of {node.op}")
    return _arithmetic(node.op, a, b)


def _arithmetic(op: str, a: float, b: float) -> object:
    if op in ("<", ">", "<=", ">="):
        return {"<": a < b, ">": a > b, "<=": a <= b, ">=": a >= b}[op]
    if op in ("/", "%") and b == 0:
        raise EvalError("division by zero")
    if op == "+":
        result = a + b
    elif op == "-":
        result = a - b
    elif op == "*":
        result = a * b
    elif op == "/":
        result = a / b
    else:
        result = a - b * int(a / b)  # Terraform's % keeps the sign of the dividend
    return normalize_number(result)


def _compare_equal(left: object, right: object) -> bool | Unknown:
    for side, other in ((left, right), (right, left)):
        if isinstance(side, Unknown):
            return side
        if isinstance(side, Ref):
            if isinstance(other, Ref) and other.key == side.key:
                return True
            if side.kind in _IDENTITY_KINDS and (other is None or other == "" or isinstance(other, Ref)):
                return False
            return side.as_unknown()
    return equal(left, right)


def _logical(node: ast.Binary, scope: Scope) -> object:
    decisive = node.op == "||"  # true decides ||, false decides &&
    left = force(evaluate(node.left, scope))
    if isinstance(left, bool) and left is decisive:
        return decisive
    right = force(evaluate(node.right, scope))
    if isinstance(right, bool) and right is decisive:
        return decisive
    for side in (left, right):
        if isinstance(side, (Unknown, Ref)):
            return unknown_from(side)
    to_bool(left, f"left operand of {node.op}")
    return to_bool(right, f"right operand of {node.op}")


def _call(node: ast.Node, scope: Scope) -> object:
    assert isinstance(node, ast.Call)
    if node.name == "try":
        for arg in node.args:
            try:
                return evaluate(arg, scope)
            except EvalError:
                continue
        raise EvalError("try(): no argument could be evaluated")
    if node.name == "can":
        try:
            value = evaluate(node.args[0], scope) if node.args else None
        except EvalError:
            return False
        return unknown_from(value) if isinstance(value, (Unknown, Ref)) else True
    args = [evaluate(arg, scope) for arg in node.args]
    if node.expand_final and args:
        last = force(args.pop())
        if isinstance(last, (Unknown, Ref)):
            return unknown_from(last)
        if not isinstance(last, list):
            raise EvalError(f"{node.name}(...): the expanded argument must be a list")
        args.extend(last)
    return call_function(node.name, args)


_HANDLERS = {
    ast.Template: _template,
    ast.ForExpr: _for,
    ast.ObjectCons: _object,
    ast.TupleCons: _tuple,
    ast.Splat: _splat,
    ast.Conditional: _conditional,
    ast.Unary: _unary,
    ast.Binary: _binary,
    ast.Call: _call,
}

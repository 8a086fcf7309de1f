"""Variable type constraints: parse `map(object({a = optional(bool, true)}))` and convert values.

Conversion matters for more than checking: `optional(..., default)` fills attributes the caller
left out, which is how modules such as terraform-aws-eks give each node group its defaults.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from . import hcl_ast as ast
from .hcl_values import (
    EvalError,
    Lazy,
    ObjectValue,
    Ref,
    Unknown,
    make_set,
    to_bool,
    to_number,
    to_text,
    type_name,
)

_PRIMITIVES = frozenset({"string", "number", "bool", "any"})
_LEGACY = {"list": "list", "map": "map", "string": "string"}  # Terraform 0.11 `type = "list"`


@dataclass(frozen=True, slots=True)
class AttrSpec:
    name: str
    type: TypeSpec
    optional: bool
    default: ast.Node | None


@dataclass(frozen=True, slots=True)
class TypeSpec:
    kind: str  # any, string, number, bool, list, set, map, object, tuple
    element: TypeSpec | None = None
    attributes: tuple[AttrSpec, ...] = ()
    elements: tuple[TypeSpec, ...] = ()


ANY = TypeSpec("any")


def parse_type(node: ast.Node | None) -> TypeSpec:
    """The type a `type = ...` expression describes; anything unreadable is `any`."""
    if node is None:
        return ANY
    if isinstance(node, ast.Variable) and node.name in _PRIMITIVES:
        return TypeSpec(node.name)
    if isinstance(node, ast.Template) and len(node.parts) == 1 and isinstance(node.parts[0], str):
        legacy = _LEGACY.get(node.parts[0])
        return TypeSpec(legacy, ANY) if legacy in ("list", "map") else TypeSpec(legacy or "any")
    if isinstance(node, ast.Call) and len(node.args) == 1:
        return _parse_call(node.name, node.args[0])
    return ANY


def _parse_call(name: str, arg: ast.Node) -> TypeSpec:
    if name in ("list", "set", "map"):
        return TypeSpec(name, parse_type(arg))
    if name == "object" and isinstance(arg, ast.ObjectCons):
        attributes = []
        for key, value in arg.items:
            if not isinstance(key, ast.Literal) or not isinstance(key.value, str):
                continue
            optional, default = False, None
            if isinstance(value, ast.Call) and value.name == "optional" and value.args:
                optional = True
                default = value.args[1] if len(value.args) > 1 else None
                value = value.args[0]
            attributes.append(AttrSpec(key.value, parse_type(value), optional, default))
        return TypeSpec("object", attributes=tuple(attributes))
    if name == "tuple" and isinstance(arg, ast.TupleCons):
        return TypeSpec("tuple", elements=tuple(parse_type(item) for item in arg.items))
    return ANY


Evaluate = Callable[[ast.Node], object]


def convert(value: object, spec: TypeSpec, evaluate: Evaluate, what: str = "value") -> object:
    """Convert `value` to the type, filling optional attributes; raises EvalError on mismatch."""
    if value is None or spec.kind == "any" or isinstance(value, (Unknown, Ref, Lazy)):
        return value
    if spec.kind == "string":
        return value if isinstance(value, str) else to_text(value, what)
    if spec.kind == "number":
        return to_number(value, what)
    if spec.kind == "bool":
        return to_bool(value, what)
    if spec.kind in ("list", "set", "tuple"):
        return _convert_sequence(value, spec, evaluate, what)
    if not isinstance(value, dict):
        raise EvalError(f"{what} must be {spec.kind}, not {type_name(value)}")
    origin = value.origin if isinstance(value, ObjectValue) else None
    if spec.kind == "map":
        element = spec.element or ANY
        return ObjectValue.at(origin, ((k, convert(v, element, evaluate, f"{what}[{k!r}]")) for k, v in value.items()))
    return _convert_object(value, spec, evaluate, what, origin)


def _convert_sequence(value: object, spec: TypeSpec, evaluate: Evaluate, what: str) -> object:
    if not isinstance(value, list):
        raise EvalError(f"{what} must be {spec.kind}, not {type_name(value)}")
    if spec.kind == "tuple":
        types = list(spec.elements) + [ANY] * max(0, len(value) - len(spec.elements))
        return [convert(v, t, evaluate, f"{what}[{i}]") for i, (v, t) in enumerate(zip(value, types, strict=False))]
    element = spec.element or ANY
    items = [convert(v, element, evaluate, f"{what}[{i}]") for i, v in enumerate(value)]
    return make_set(items) if spec.kind == "set" else items


def _convert_object(
    value: dict[str, object], spec: TypeSpec, evaluate: Evaluate, what: str, origin: tuple[str, int] | None
) -> ObjectValue:
    out = ObjectValue.at(origin)
    for attr in spec.attributes:
        if attr.name in value and value[attr.name] is not None:
            out[attr.name] = convert(value[attr.name], attr.type, evaluate, f"{what}.{attr.name}")
        elif attr.optional and attr.default is not None:
            out[attr.name] = convert(evaluate(attr.default), attr.type, evaluate, f"{what}.{attr.name}")
        else:
            out[attr.name] = None
    return out

"""count and for_each: the instances of a resource, data source or module block.

When count/for_each cannot be decided, the block gets one stand-in instance (with `count.index`
and `each.*` unknown) that exists only under a condition, which the model elements made from it
carry; references to any of its instances resolve to the stand-in.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

from ..errors import ScanError
from ..model import Provenance, Unresolved
from .hcl_eval import Scope, evaluate
from .hcl_values import EvalError, Lazy, Ref, Unknown, force, sorted_items, to_number, type_name
from .terraform_config import BlockDecl


@dataclass(frozen=True, slots=True)
class Expansion:
    """The instances of a counted block. When count/for_each cannot be decided, one stand-in
    instance (`count.index` and `each.*` unknown) that exists only under `condition`."""

    mode: str  # single, count, for_each, unknown
    instances: tuple[tuple[str, object, dict[str, object]], ...] = ()  # (suffix, key, bindings)
    unknown: Unknown | None = None
    condition: Unresolved | None = None


_STAND_IN: dict[str, object] = {
    "count": {"index": Unknown("count.index (count is not known)")},
    "each": {
        "key": Unknown("each.key (for_each is not known)"),
        "value": Unknown("each.value (for_each is not known)"),
    },
}


class StandIn(Lazy):
    """The instances of a block whose count/for_each is unknown: every index names the one
    stand-in instance (whose elements carry the condition under which it exists)."""

    def __init__(self, instance: object) -> None:
        self.instance = instance

    def index(self, key: object) -> object:
        return self.instance

    def get_attr(self, name: str) -> object:
        return get_attr_of(self.instance, name)

    def materialize(self) -> object:
        return [self.instance]

    def describe(self) -> str:
        return describe_of(self.instance)


def get_attr_of(value: object, name: str) -> object:
    return value.get_attr(name) if isinstance(value, Lazy) else Unknown(name)


def describe_of(value: object) -> str:
    return value.describe() if isinstance(value, Lazy) else "value"


def shape(expansion: Expansion, items: Sequence[object]) -> object:
    if expansion.mode == "unknown":
        return StandIn(items[0])
    if expansion.mode == "single":
        return items[0]
    if expansion.mode == "count":
        return items
    return {str(key): item for (_s, key, _b), item in zip(expansion.instances, items, strict=True)}


# More instances of one block than any real module has; the evaluation budget bounds the rest.
MAX_INSTANCES = 10_000


def expand(decl: BlockDecl, what: str, scope: Scope) -> Expansion:
    attrs = decl.block.attributes
    if "count" in attrs and "for_each" in attrs:
        raise ScanError(decl.file, f"{what}: count and for_each cannot both be set", decl.line)
    if "count" in attrs:
        return _expand_count(decl, what, scope)
    if "for_each" in attrs:
        return _expand_for_each(decl, what, scope)
    return Expansion("single", (("", None, {}),))


def _unknown_expansion(decl: BlockDecl, name: str, what: str, value: Unknown | Ref, detail: str = "") -> Expansion:
    line = decl.block.attributes[name].line
    unknown = Unknown(f"{name} of {what} is not known{detail} ({value.what})", value.hint)
    reason = f"{what} exists only if its {name} ({value.what}) allows it, which cannot be decided"
    condition = Unresolved(reason, Provenance(decl.file, line, what), value.hint)
    return Expansion("unknown", (("", None, dict(_STAND_IN)),), unknown, condition)


def _meta_value(decl: BlockDecl, name: str, what: str, scope: Scope) -> object:
    attribute = decl.block.attributes[name]
    try:
        return force(evaluate(attribute.expr, scope))
    except EvalError as exc:
        raise ScanError(decl.file, f"{what}: invalid {name}: {exc.message}", attribute.line) from None


def _expand_count(decl: BlockDecl, what: str, scope: Scope) -> Expansion:
    line = decl.block.attributes["count"].line
    value = _meta_value(decl, "count", what, scope)
    if isinstance(value, (Unknown, Ref)):
        return _unknown_expansion(decl, "count", what, value)
    try:
        number = to_number(value, "count")
    except EvalError:
        number = -1.5
    if not isinstance(number, int) or number < 0:
        shown = value if not isinstance(number, int) or abs(number) < 10**9 else "a huge number"
        raise ScanError(decl.file, f"{what}: count must be a whole number >= 0, got {shown!r}", line)
    if number > MAX_INSTANCES:
        raise ScanError(
            decl.file, f"{what}: count {number:,} is more than this scan evaluates ({MAX_INSTANCES:,})", line
        )
    return Expansion("count", tuple((f"[{i}]", i, {"count": {"index": i}}) for i in range(number)))


def _expand_for_each(decl: BlockDecl, what: str, scope: Scope) -> Expansion:
    line = decl.block.attributes["for_each"].line
    value = _meta_value(decl, "for_each", what, scope)
    if isinstance(value, (Unknown, Ref)):
        return _unknown_expansion(decl, "for_each", what, value)
    if isinstance(value, dict):
        pairs = [(str.__str__(k), v) for k, v in sorted_items(value)]
    elif isinstance(value, list):
        elements = [force(v) for v in value]
        for element in elements:
            if isinstance(element, (Unknown, Ref)):
                return _unknown_expansion(decl, "for_each", what, element, " (unknown keys)")
            if not isinstance(element, str):
                raise ScanError(decl.file, f"{what}: for_each set must hold strings, not {type_name(element)}", line)
        pairs = [(e, e) for e in sorted({str.__str__(e) for e in elements if isinstance(e, str)})]
    else:
        kind = type_name(value)
        raise ScanError(decl.file, f"{what}: for_each must be a map or a set of strings, not {kind}", line)
    return Expansion("for_each", tuple((f"[{json.dumps(k)}]", k, {"each": {"key": k, "value": v}}) for k, v in pairs))

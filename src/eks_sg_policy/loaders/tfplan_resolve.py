"""Follow `configuration` references to what they name.

An expression of the configuration representation is `{"constant_value": v}` or
`{"references": [...]}`, each reference unwrapped step by step (`aws_security_group.x.id`, then
`aws_security_group.x`). Only the longest form of each is followed. References are relative to
their module: `var.y` goes through the parent's `module_calls.<m>.expressions.y`, and
`module.m.out` through `module_calls.m.module.outputs.out.expression`. What the plan does not
record (local values, `each.value`, a dynamic index) becomes a `Problem`, never a guess.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from .tfplan_index import Instance, Key, ModuleNode, Part, PlanIndex, format_key, format_parts, obj, parse_reference

__all__ = [
    "ConstantTarget",
    "ExternalTarget",
    "InstanceTarget",
    "Problem",
    "References",
    "Target",
    "pick",
    "select",
]

MAX_DEPTH = 24
_NOT_FOUND = object()
_IGNORED_ROOTS = frozenset({"count", "each", "path", "terraform", "self"})
_DATA_HINT = "a data source read at apply time; pass the value it returns to settle this"
_PLAN_HINT = "the plan records the configuration without local values; scan the module's .tf files instead"


@dataclass(frozen=True, slots=True)
class InstanceTarget:
    """A resource or data instance of the plan, and the attribute path after it."""

    instance: Instance
    rest: tuple[Part, ...] = ()


@dataclass(frozen=True, slots=True)
class ConstantTarget:
    """A value the configuration or the plan's variables give literally."""

    value: object


@dataclass(frozen=True, slots=True)
class ExternalTarget:
    """An identity outside the plan: a data source read at apply time, a variable without value."""

    key: str
    name: str
    hint: str = ""


@dataclass(frozen=True, slots=True)
class Problem:
    what: str
    hint: str = ""


Target = InstanceTarget | ConstantTarget | ExternalTarget | Problem


def select(value: object, rest: tuple[Part, ...]) -> object:
    """`value` traversed by `rest` (`[0]`, `.name`, `["k"]`); `_NOT_FOUND` when it cannot be."""
    for part in rest:
        step = part.value if isinstance(part, Key) else part
        if step is None:
            return value  # a splat: the whole collection stands for its elements
        if isinstance(value, list) and isinstance(step, int) and 0 <= step < len(value):
            value = value[step]
            continue
        if isinstance(value, dict) and isinstance(step, str) and step in value:
            value = value[step]
            continue
        return _NOT_FOUND
    return value


def pick(candidates: Sequence[tuple[object, Instance | ModuleNode]], explicit: Key | None, referrer: object) -> object:
    """The one candidate a reference means, or a message saying why it cannot be told.

    `explicit` is the key written in the reference; without one, the only candidate is meant, or
    (when the referring block iterates with count/for_each) the one with the referrer's own key."""
    if explicit is not None and explicit.value is not None:
        for key, item in candidates:
            if _same_key(key, explicit.value):
                return item
        return f"the instance {format_key(explicit.value)} is not in the plan"
    if not candidates:
        return "no instance of it is in the plan"
    if len(candidates) == 1:
        return candidates[0][1]
    if referrer is not None:
        mine = [item for key, item in candidates if _same_key(key, referrer)]
        if len(mine) == 1:
            return mine[0]
    return (
        f"it has {len(candidates)} instances and which one is meant depends on an expression the plan does not evaluate"
    )


def _same_key(a: object, b: object) -> bool:
    return type(a) is type(b) and a == b


def maximal(references: list[str]) -> list[str]:
    """The references that are not an unwrapped step of a longer one in the list."""
    out: list[str] = []
    for ref in dict.fromkeys(references):
        if not any(other != ref and other.startswith(ref) and other[len(ref)] in ".[" for other in references):
            out.append(ref)
    return out


def references_of(expression: object) -> list[str]:
    refs = obj(expression).get("references")
    return [r for r in refs if isinstance(r, str)] if isinstance(refs, list) else []


class References:
    def __init__(self, plan: PlanIndex) -> None:
        self.plan = plan

    def targets(self, module: ModuleNode, expression: object, referrer: object = None, depth: int = 0) -> list[Target]:
        """What an expression of `module` names. `referrer` is the count index or for_each key of
        the block that holds it."""
        expr = obj(expression)
        if "constant_value" in expr:
            return [ConstantTarget(expr["constant_value"])]
        refs = maximal(references_of(expr))
        iterating = any(r.startswith(("count.", "each.")) for r in refs)
        out: list[Target] = []
        for ref in refs:
            out.extend(self.reference(module, ref, referrer if iterating else None, depth))
        unique: list[Target] = []
        for target in out:  # constants may hold lists: compared, not hashed
            if target not in unique:
                unique.append(target)
        return unique

    def reference(self, module: ModuleNode, ref: str, referrer: object, depth: int) -> list[Target]:
        if depth > MAX_DEPTH:
            return [Problem(f"{ref} is chained through too many modules and variables to follow")]
        parts = parse_reference(ref)
        if parts is None or parts[0] in _IGNORED_ROOTS:
            return []
        head = parts[0]
        if head == "local":
            return [Problem(f"{ref} is a local value, which the plan does not record", _PLAN_HINT)]
        if head == "var":
            return self._variable(module, parts, depth)
        if head == "module":
            return self._module_output(module, parts, ref, referrer, depth)
        if head == "data":
            return self._resource(module, parts[1:], "data", ref, referrer)
        return self._resource(module, parts, "managed", ref, referrer)

    def _resource(
        self, module: ModuleNode, parts: tuple[Part, ...], mode: str, ref: str, referrer: object
    ) -> list[Target]:
        if len(parts) < 2 or not isinstance(parts[0], str) or not isinstance(parts[1], str):
            return []
        relative = f"{parts[0]}.{parts[1]}"
        if mode == "data":
            relative = f"data.{relative}"
        rest = parts[2:]
        explicit = rest[0] if rest and isinstance(rest[0], Key) else None
        if explicit is not None:
            rest = rest[1:]
        candidates = self.plan.block_instances(module, relative)
        chosen = pick([(c.index, c) for c in candidates], explicit, referrer)
        if isinstance(chosen, Instance):
            return [InstanceTarget(chosen, rest)]
        if mode == "data":
            key = "" if explicit is None or explicit.value is None else format_key(explicit.value)
            address = f"{module.prefix}{relative}{key}"
            key, name = data_identity(self.plan.file, address, rest)
            return [ExternalTarget(key, name, _DATA_HINT)]
        return [Problem(f"{ref}: {chosen}")]

    def _variable(self, module: ModuleNode, parts: tuple[Part, ...], depth: int) -> list[Target]:
        if len(parts) < 2 or not isinstance(parts[1], str):
            return []
        name, rest = parts[1], parts[2:]
        if module.parent is None:
            variable = obj(self.plan.variables.get(name))
            if "value" in variable:
                return [_constant(variable["value"], rest, f"var.{name}")]
            return [
                ExternalTarget(
                    f"var:{self.plan.file}:{name}", f"var.{name}", "the plan gives no value for this variable"
                )
            ]
        expression = obj(module.call.get("expressions")).get(name)
        if expression is None:
            declared = obj(obj(module.config.get("variables")).get(name))
            if "default" in declared:
                return [_constant(declared["default"], rest, f"{module.prefix}var.{name}")]
            return [
                ExternalTarget(
                    f"var:{self.plan.file}:{module.prefix}{name}",
                    f"{module.prefix}var.{name}",
                    f"the call of {module.address} does not set {name}",
                )
            ]
        parent = module.parent
        return [with_rest(t, rest) for t in self.targets(parent, expression, module.key, depth + 1)]

    def _module_output(
        self, module: ModuleNode, parts: tuple[Part, ...], ref: str, referrer: object, depth: int
    ) -> list[Target]:
        if len(parts) < 2 or not isinstance(parts[1], str):
            return []
        name, index = parts[1], 2
        explicit = parts[index] if index < len(parts) and isinstance(parts[index], Key) else None
        if explicit is not None:
            index += 1
        if index >= len(parts) or not isinstance(parts[index], str):
            return [Problem(f"{ref}: the module is used as a whole value, which the plan does not break down")]
        output, rest = str(parts[index]), parts[index + 1 :]
        instances = self.plan.module_instances(module, name)
        chosen = pick([(m.key, m) for m in instances], explicit if isinstance(explicit, Key) else None, referrer)
        if not isinstance(chosen, ModuleNode):
            return [Problem(f"{ref}: {chosen}")]
        expression = obj(obj(chosen.config.get("outputs")).get(output)).get("expression")
        if expression is None:
            return [Problem(f"{ref}: the plan's configuration has no output {output} for {chosen.address}")]
        return [with_rest(t, rest) for t in self.targets(chosen, expression, None, depth + 1)]


def _constant(value: object, rest: tuple[Part, ...], what: str) -> Target:
    selected = select(value, rest)
    if selected is _NOT_FOUND:
        return Problem(f"{what}{format_parts(rest) if rest else ''} does not select a value of {what}")
    return ConstantTarget(selected)


def with_rest(target: Target, rest: tuple[Part, ...]) -> Target:
    """`target` followed by more traversal steps (`var.x.id` where var.x is a whole resource)."""
    if not rest:
        return target
    if isinstance(target, InstanceTarget):
        return InstanceTarget(target.instance, target.rest + rest)
    if isinstance(target, ConstantTarget):
        return _constant(target.value, rest, "the value")
    return target


def suffix(rest: tuple[Part, ...]) -> str:
    text = format_parts(("_", *rest))
    return text[1:]


def data_identity(file: str, address: str, rest: tuple[Part, ...]) -> tuple[str, str]:
    """The key and name of a value read from a data source: `data:<plan>:<address><path>`, with a
    final `.id` dropped (so `data.aws_security_group.x.id` and `data.aws_security_group.x` are one)."""
    name = address + suffix(rest)
    if name.endswith(".id"):
        name = name[: -len(".id")]
    return f"data:{file}:{name}", name

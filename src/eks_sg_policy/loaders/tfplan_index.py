"""The structure of one plan: module instances, resource instances, and the join of
`planned_values` (one entry per instance, evaluated) with `configuration` (one entry per block,
unevaluated, with `references`).

Addresses: a planned instance `module.sg["a"].aws_security_group.x[0]` lives in the module
instance `module.sg["a"]` and joins the configuration block `aws_security_group.x` of the module
call `sg` (configuration addresses are module-relative and have no instance keys).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from .tfplan_json import JsonObject

__all__ = [
    "Instance",
    "Key",
    "ModuleNode",
    "PlanIndex",
    "format_key",
    "parse_reference",
]

_PART = re.compile(r'\.?([A-Za-z_][A-Za-z0-9_-]*)|\[(?:([0-9]+)|("(?:[^"\\]|\\.)*")|\*)\]')
_EMPTY = JsonObject()


@dataclass(frozen=True, slots=True)
class Key:
    """An instance key or index step in an address or reference: `[0]`, `["a"]`."""

    value: int | str | None  # None: a splat `[*]`


Part = str | Key


def parse_reference(text: str) -> tuple[Part, ...] | None:
    """`module.sg["a"].x[0].id` -> ("module", "sg", Key("a"), "x", Key(0), "id"); None if not a traversal."""
    parts: list[Part] = []
    pos = 0
    while pos < len(text):
        match = _PART.match(text, pos)
        if match is None or match.end() == pos or (pos == 0 and text.startswith(".")):
            return None
        name, number, quoted = match.group(1), match.group(2), match.group(3)
        if name is not None:
            parts.append(name)
        elif number is not None:
            parts.append(Key(int(number)))
        elif quoted is not None:
            try:
                parts.append(Key(str(json.loads(quoted))))
            except ValueError:
                return None
        else:
            parts.append(Key(None))
        pos = match.end()
    return tuple(parts) if parts and isinstance(parts[0], str) else None


def format_key(value: object) -> str:
    """The address form of an instance key: `[0]`, `["a"]`."""
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        return f"[{json.dumps(value)}]"
    return f"[{value}]" if isinstance(value, int) else f"[{json.dumps(value)}]"


def format_parts(parts: tuple[Part, ...]) -> str:
    out = ""
    for part in parts:
        if isinstance(part, Key):
            out += "[*]" if part.value is None else format_key(part.value)
        else:
            out += f".{part}" if out else part
    return out


def obj(value: object) -> JsonObject:
    """`value` if it is a JSON object, else an empty one (unknown properties and shapes are ignored)."""
    return value if isinstance(value, JsonObject) else _EMPTY


def objects(value: object) -> list[JsonObject]:
    return [item for item in value if isinstance(item, JsonObject)] if isinstance(value, list) else []


@dataclass(slots=True, eq=False)
class ModuleNode:
    """One module instance: its address prefix, its configuration and the call that made it."""

    prefix: str  # "" for the root, else 'module.sg["a"].'
    config: JsonObject  # the module configuration representation (resources, module_calls, outputs, variables)
    parent: ModuleNode | None = None
    call: JsonObject = field(default_factory=JsonObject)  # the parent's module_calls entry
    key: object = None  # this instance's count index or for_each key
    _blocks: dict[str, JsonObject] | None = None

    @property
    def address(self) -> str:
        return self.prefix[:-1] if self.prefix else "the root module"

    def config_block(self, relative: str) -> JsonObject | None:
        """The configuration block (`aws_security_group.x`, `data.aws_ami.y`) of this module."""
        if self._blocks is None:
            self._blocks = {}
            for block in objects(self.config.get("resources")):
                address = block.get("address")
                if isinstance(address, str):
                    self._blocks.setdefault(address, block)
        return self._blocks.get(relative)


@dataclass(slots=True, eq=False)
class Instance:
    """One resource or data instance of `planned_values`, joined with its configuration block."""

    address: str
    mode: str  # "managed" or "data"
    type: str
    name: str
    index: object  # count index or for_each key; None without count/for_each
    module: ModuleNode
    values: JsonObject
    line: int  # the line of its "address" in the plan
    config: JsonObject | None = None
    change: JsonObject | None = None  # resource_changes[].change, when the plan has one

    @property
    def relative(self) -> str:
        base = f"{self.type}.{self.name}"
        return f"data.{base}" if self.mode == "data" else base

    @property
    def expressions(self) -> JsonObject:
        return obj(self.config.get("expressions")) if self.config is not None else _EMPTY

    @property
    def actions(self) -> tuple[str, ...]:
        actions = self.change.get("actions") if self.change is not None else None
        return tuple(a for a in actions if isinstance(a, str)) if isinstance(actions, list) else ()


class PlanIndex:
    """Every module and resource instance of a plan, by address and by configuration block."""

    def __init__(self, file: str, document: JsonObject) -> None:
        self.file = file
        self.document = document
        configuration = obj(document.get("configuration"))
        self.root = ModuleNode("", obj(configuration.get("root_module")))
        self.variables = obj(document.get("variables"))
        self.modules: dict[str, ModuleNode] = {"": self.root}
        self.instances: list[Instance] = []
        self.by_block: dict[tuple[str, str], list[Instance]] = {}
        self._by_address: dict[str, Instance] = {}
        changes = self._changes(document.get("resource_changes"))
        planned = obj(obj(document.get("planned_values")).get("root_module"))
        for resource, prefix in _walk_values(planned, ""):
            self._add(resource, prefix, changes)
        prior = obj(obj(obj(document.get("prior_state")).get("values")).get("root_module"))
        for resource, prefix in _walk_values(prior, ""):
            address = resource.get("address")
            if resource.get("mode") == "data" and isinstance(address, str) and address not in self._by_address:
                self._add(resource, prefix, {})

    @staticmethod
    def _changes(value: object) -> dict[str, JsonObject]:
        changes: dict[str, JsonObject] = {}
        for change in objects(value):
            address = change.get("address")
            if isinstance(address, str) and "deposed" not in change:
                changes[address] = obj(change.get("change"))
        return changes

    def _add(self, resource: JsonObject, prefix: str, changes: dict[str, JsonObject]) -> None:
        address, rtype, name = resource.get("address"), resource.get("type"), resource.get("name")
        if not (isinstance(address, str) and isinstance(rtype, str) and isinstance(name, str)):
            return
        mode = "data" if resource.get("mode") == "data" else "managed"
        module = self.module(prefix)
        instance = Instance(
            address=address,
            mode=mode,
            type=rtype,
            name=name,
            index=resource.get("index"),
            module=module,
            values=obj(resource.get("values")),
            line=resource.line_of("address"),
            change=changes.get(address),
        )
        instance.config = module.config_block(instance.relative)
        self.instances.append(instance)
        self._by_address[address] = instance
        self.by_block.setdefault((prefix, instance.relative), []).append(instance)

    def module(self, prefix: str) -> ModuleNode:
        """The module instance with this address prefix (made on first use from its configuration)."""
        known = self.modules.get(prefix)
        if known is not None:
            return known
        parts = parse_reference(prefix[:-1]) or ()
        node = self.root
        index = 0
        while index + 1 < len(parts) and parts[index] == "module":
            name = parts[index + 1]
            index += 2
            key: object = None
            if index < len(parts) and isinstance(parts[index], Key):
                part = parts[index]
                key = part.value if isinstance(part, Key) else None
                index += 1
            call = obj(obj(node.config.get("module_calls")).get(str(name)))
            child_prefix = f"{node.prefix}module.{name}{'' if key is None else format_key(key)}."
            child = self.modules.get(child_prefix)
            if child is None:
                child = ModuleNode(child_prefix, obj(call.get("module")), node, call, key)
                self.modules[child_prefix] = child
            node = child
        self.modules[prefix] = node
        return node

    def module_instances(self, parent: ModuleNode, name: str) -> list[ModuleNode]:
        """The instances of the call `name` in `parent` that the plan shows (or the one it implies)."""
        start = f"{parent.prefix}module.{name}"
        found = list(
            {
                id(node): node
                for prefix, node in self.modules.items()
                if prefix.startswith(start) and prefix[len(start)] in ".[" and node.parent is parent
            }.values()
        )
        call = obj(obj(parent.config.get("module_calls")).get(name))
        if not found and call and "count_expression" not in call and "for_each_expression" not in call:
            found = [self.module(f"{start}.")]
        return found

    def block_instances(self, module: ModuleNode, relative: str) -> list[Instance]:
        return self.by_block.get((module.prefix, relative), [])

    def managed(self, rtype: str) -> Iterator[Instance]:
        return (i for i in self.instances if i.mode == "managed" and i.type == rtype)


def _walk_values(module: JsonObject, prefix: str) -> Iterator[tuple[JsonObject, str]]:
    for resource in objects(module.get("resources")):
        yield resource, prefix
    for child in objects(module.get("child_modules")):
        address = child.get("address")
        if isinstance(address, str):
            yield from _walk_values(child, f"{address}.")

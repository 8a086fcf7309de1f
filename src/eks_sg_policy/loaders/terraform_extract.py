"""Reading evaluated resource attributes as model values: group keys, CIDRs, text, lines.

`View` wraps one resource instance (or one of its nested blocks): it evaluates attributes on
demand (each once), turns anything undecidable into `model.Unresolved` with the attribute's
provenance, and expands nested and dynamic blocks; it is the HCL side of
`terraform_mapping_view.ResourceView`, which the shared mapping reads. `Collector` holds what every
resource contributes and the security groups seen only by reference (variables, data sources,
literal ids).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from ..errors import ScanError
from ..model import GroupRef, Provenance, SecurityGroup, SgKey, SgOrigin, Unresolved
from ..net import IPNetwork, NetValueError, parse_cidr
from .hcl_eval import Scope, evaluate
from .hcl_parse import Block
from .hcl_values import EvalError, Lazy, Ref, Tagged, Unknown, force, to_text
from .terraform_context import LoadContext
from .terraform_resources import ResourceInstance, evaluate_attribute, nested_blocks

SG_REF_KINDS = frozenset({"sg", "cluster-sg", "var", "data"})
_READ: object = object()  # "read the attribute" (None is a value: null)


@dataclass(slots=True)
class Collector:
    ctx: LoadContext
    groups: dict[SgKey, SecurityGroup] = field(default_factory=dict)
    external: dict[SgKey, SecurityGroup] = field(default_factory=dict)
    used: dict[SgKey, Provenance] = field(default_factory=dict)

    def use(self, key: SgKey, provenance: Provenance, name: str) -> SgKey:
        """Record that `key` is named somewhere; keys not declared become EXTERNAL groups."""
        if key not in self.external:
            self.external[key] = SecurityGroup(key, name, SgOrigin.EXTERNAL, provenance, ref=_external_ref(key, name))
        return key


_MODULE_PREFIX = re.compile(r"^((?:module\.[^.\[]+(?:\[[^\]]*\])?\.)*)(.*)$")


def group_ref(kind: str, address: str) -> GroupRef:
    """A reference relative to the module the address lives in: `module.a["x"].aws_security_group.b`
    is `aws_security_group.b` in module `module.a["x"]`."""
    match = _MODULE_PREFIX.match(address)
    module, local = (match.group(1).rstrip("."), match.group(2)) if match else ("", address)
    return GroupRef(kind, local, module)


def _external_ref(key: SgKey, shown: str) -> GroupRef:
    if key.startswith("var:"):
        ref = group_ref("parameter", shown)
        return GroupRef("parameter", ref.name.removeprefix("var."), ref.module)
    if key.startswith("data:"):
        return group_ref("data", shown)
    return GroupRef("literal", shown)


class View:
    """One resource instance or nested block, read attribute by attribute."""

    def __init__(self, collector: Collector, instance: ResourceInstance, block: Block, scope: Scope) -> None:
        self.collector = collector
        self.instance = instance
        self.block = block
        self.scope = scope
        self._values: dict[str, object] = {}

    @classmethod
    def of(cls, collector: Collector, instance: ResourceInstance) -> View:
        return cls(collector, instance, instance.block, instance.scope)

    @property
    def file(self) -> str:
        return self.instance.file

    @property
    def key(self) -> str:
        return self.instance.key

    @property
    def address(self) -> str:
        return self.instance.address

    @property
    def resource_type(self) -> str:
        return self.instance.type

    @property
    def condition(self) -> Unresolved | None:
        return self.instance.condition

    def provenance(self, line: int | None = None) -> Provenance:
        return Provenance(self.file, line if line is not None else self.block.line, self.instance.address)

    def provenance_of(self, name: str) -> Provenance:
        return self.provenance(self.line(name))

    def line(self, name: str) -> int:
        attribute = self.block.attributes.get(name)
        return attribute.line if attribute is not None else self.block.line

    def has(self, name: str) -> bool:
        return name in self.block.attributes

    def value(self, name: str) -> object:
        """The attribute's value (None when absent), forced one level; evaluated once."""
        if name in self._values:
            return self._values[name]
        attribute = self.block.attributes.get(name)
        value = None if attribute is None else force(evaluate_attribute(self.instance, attribute, self.scope, (name,)))
        self._values[name] = value
        return value

    def blocks(self, name: str) -> tuple[list[View], Unknown | None]:
        """The `name` blocks, `dynamic` ones expanded; an unknown `for_each` leaves the rest unknown,
        one Terraform rejects (a number, null, an expression that fails) is an error at its line."""
        try:
            found, unknown = nested_blocks(self.block, name, self.scope)
        except EvalError as exc:
            raise self._invalid_for_each(name, exc) from None
        return [View(self.collector, self.instance, block, scope) for block, scope in found], unknown

    def _invalid_for_each(self, name: str, error: EvalError) -> ScanError:
        """The error of the first `dynamic "name"` block whose for_each cannot be iterated."""
        for child in self.block.blocks:
            for_each = child.attributes.get("for_each") if child.type == "dynamic" else None
            if for_each is None or child.labels[:1] != (name,):
                continue
            try:
                value = force(evaluate(for_each.expr, self.scope))
            except EvalError as exc:
                message = f'invalid for_each of dynamic "{name}": {exc.message}'
                return ScanError(self.file, f"{self.instance.address}: {message}", for_each.line)
            if not isinstance(value, (dict, list, Unknown, Ref)):
                return ScanError(self.file, f"{self.instance.address}: {error.message}", for_each.line)
        return ScanError(self.file, f"{self.instance.address}: {error.message}", self.block.line)

    def first_block(self, name: str) -> View | None:
        views, _unknown = self.blocks(name)
        return views[0] if views else None

    def nested(self, name: str) -> tuple[list[View], Unresolved | None]:
        views, unknown = self.blocks(name)
        return views, self.unresolved(unknown, name) if unknown is not None else None

    def unresolved(self, value: Unknown | Ref, name: str, line: int | None = None) -> Unresolved:
        what = value.what if isinstance(value, (Unknown, Ref)) else str(value)
        hint = value.hint if isinstance(value, (Unknown, Ref)) else ""
        return Unresolved(f"{name}: {what}", self.provenance(line if line is not None else self.line(name)), hint)

    def undecided(
        self, name: str, value: object = _READ, line: int | None = None, *, written: bool = False
    ) -> Unresolved | None:
        """Why the value is not known (an unknown, or a reference whose text is not known), else None.
        `written` changes nothing: every HCL value is written in the configuration."""
        value = self.value(name) if value is _READ else value
        return self.unresolved(value, name, line) if isinstance(value, (Unknown, Ref)) else None

    def empty(self, name: str, advice: str = "") -> Unresolved:
        what = f"{name} is empty: {advice}" if advice else f"{name} is empty"
        return Unresolved(what, self.provenance(self.line(name)))

    def not_set(self, name: str, line: int | None = None) -> ScanError:
        at = line if line is not None else self.line(name)
        return ScanError(self.file, f"{self.instance.address}: {name} is not set", at)

    def error(self, name: str, message: str, *, named: bool = True, line: int | None = None) -> ScanError:
        text = f"{name}: {message}" if named else message
        return ScanError(self.file, f"{self.instance.address}: {text}", line if line is not None else self.line(name))

    def group_ref(self, kind: str) -> GroupRef:
        return group_ref(kind, self.instance.address)

    # -- references ------------------------------------------------------------------------
    def cluster_reference(self, name: str) -> str | None:
        ref = _ref_of(self.value(name))
        return ref.key if ref is not None and ref.kind == "cluster" else None

    def template_keys(self, name: str) -> list[str]:
        ref = _ref_of(self.value(name))
        return [ref.key] if ref is not None else []

    def undeclared_template(self, name: str) -> Unresolved:
        value = self.value(name)
        return Unresolved(f"{name}: launch template {value} is not declared in the scan", self.provenance_of(name))

    def asg_tag_keys(self) -> list[tuple[object, Unresolved | None]]:
        """`tag` blocks and the objects of a `tags` list. Each tag's value is evaluated too, so that
        an error in it is noted."""
        pairs: list[tuple[object, object, int]] = []
        blocks, _unknown = self.blocks("tag")
        for block in blocks:
            pairs.append((block.value("key"), block.value("value"), block.block.line))
        listed = self.value("tags")
        if isinstance(listed, list):
            for item in map(force, listed):
                if isinstance(item, dict):
                    pairs.append((force(item.get("key")), force(item.get("value")), self.line("tags")))
        return [
            (key, self.unresolved(key, "tag", line) if isinstance(key, (Unknown, Ref)) else None)
            for key, _value, line in pairs
        ]

    # -- conversions ----------------------------------------------------------------------
    def group(self, name: str, value: object = _READ, line: int | None = None) -> SgKey | Unresolved | None:
        value = self.value(name) if value is _READ else force(value)
        at = line if line is not None else self.line(name)
        if value is None or value == "":
            return None
        if isinstance(value, Tagged):
            value = str.__str__(value)
        if isinstance(value, Ref) and value.kind in SG_REF_KINDS:
            shown = value.what if value.kind in ("var", "data") else value.key
            identity = value.key
            if value.kind == "data" and identity.endswith(".id"):
                identity, shown = identity[: -len(".id")], shown[: -len(".id")]  # data:<dir>:<address>
            return self.collector.use(identity, self.provenance(at), shown)
        if isinstance(value, str):
            return self.collector.use(value, self.provenance(at), value)
        if isinstance(value, (Unknown, Ref)):
            return self.unresolved(value, name, at)
        return Unresolved(f"{name}: not a security group id ({value!r})", self.provenance(at))

    def groups(self, name: str, value: object = _READ, line: int | None = None) -> list[SgKey | Unresolved]:
        value = self.value(name) if value is _READ else force(value)
        at = line if line is not None else self.line(name)
        if value is None:
            return []
        if isinstance(value, Ref) and value.kind == "sg":
            value = [value]
        if isinstance(value, (Unknown, Ref)):
            return [self.unresolved(value, name, at)]
        if not isinstance(value, list):
            value = [value]
        out: list[SgKey | Unresolved] = []
        for item in _flatten_once(value):
            key = self.group(name, item, at) if item is not None else None
            if key is not None:
                out.append(key)
        return out

    def cidrs(self, name: str, value: object = _READ, line: int | None = None) -> list[IPNetwork | Unresolved]:
        value = self.value(name) if value is _READ else force(value)
        at = line if line is not None else self.line(name)
        if value is None:
            return []
        if not isinstance(value, list):
            value = [value]
        out: list[IPNetwork | Unresolved] = []
        for item in _flatten_once(value):
            if item is None or item == "":
                continue
            if isinstance(item, (Unknown, Ref)):
                out.append(self.unresolved(item, name, at))
            elif isinstance(item, Lazy):
                out.append(Unresolved(f"{name}: not a CIDR", self.provenance(at)))
            else:
                out.append(self.cidr(item, name, at))
        return out

    def narrow(self, name: str, value: object = _READ) -> bool:
        """Every unknown item is a template ending in a written, non-zero prefix length ("${ip}/32")."""
        raw = self.value(name) if value is _READ else value
        items = raw if isinstance(raw, list) else [raw]
        unknown = [i for i in items if isinstance(i, Unknown)]
        return bool(unknown) and all(re.search(r"/([1-9]\d*)$", i.suffix) for i in unknown)

    def cidr(self, value: object, name: str, line: int) -> IPNetwork:
        try:
            return parse_cidr(str.__str__(value) if isinstance(value, str) else value)
        except NetValueError as exc:
            raise ScanError(self.file, f"{self.instance.address}: {name}: {exc}", line) from None

    def text(self, name: str, value: object = _READ) -> str | Unresolved | None:
        value = self.value(name) if value is _READ else force(value)
        if value is None:
            return None
        if isinstance(value, (Unknown, Ref)):
            return self.unresolved(value, name)
        try:
            return to_text(value, name)
        except EvalError:
            return Unresolved(f"{name}: not a string ({value!r})", self.provenance(self.line(name)))

    def texts(self, name: str, value: object = _READ) -> list[str | Unresolved]:
        value = self.value(name) if value is _READ else force(value)
        items = value if isinstance(value, list) else [] if value is None else [value]
        out: list[str | Unresolved] = []
        for item in items:
            item = force(item)
            if item is None or item == "":
                continue
            text = self.text(name, item)
            out.append(text if text is not None else "")
        return out

    def tags(self, name: str = "tags") -> tuple[tuple[str, str | Unresolved], ...]:
        value = self.value(name)
        if isinstance(value, (Unknown, Ref)):
            self.collector.ctx.note(
                f"{self.file}:{self.line(name)}: {self.instance.address}: tags unknown ({value.what})"
            )
            return ()
        if not isinstance(value, dict):
            return ()
        out: list[tuple[str, str | Unresolved]] = []
        for key, item in value.items():
            text = self.text(name, item)
            if text is not None:  # a null tag value: the provider sets no tag
                out.append((key, text))
        return tuple(out)


def _ref_of(value: object) -> Ref | None:
    """The resource a value names: the reference a known name carries, or the reference itself."""
    return value.ref if isinstance(value, Tagged) else value if isinstance(value, Ref) else None


def _flatten_once(values: list[object]) -> Iterator[object]:
    """Terraform 0.11 wrote `["${var.list}"]`; a nested list in a list of ids means its items."""
    for item in values:
        item = force(item)
        if isinstance(item, list):
            yield from (force(i) for i in item)
        else:
            yield item

"""Security groups and their rules from HCL: inline blocks, the attribute-list form, and rule
resources. Rules are made from their fields by `terraform_mapping_rules`, as for a plan; what is
HCL's own is here: which inline rules a group has, one item of the list form read like a block, and
the `for_each` entry a rule resource comes from.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..errors import ScanError
from ..model import Direction, Provenance, Rule, RuleForm, SecurityGroup, SgKey, Unresolved
from ..net import IPNetwork
from .hcl_values import ObjectValue, Ref, Unknown, force
from .terraform_extract import View
from .terraform_mapping_rules import declared_group, inline_rules, unknown_rule
from .terraform_mapping_rules import rule_resource as _rule_resource
from .terraform_resources import ResourceInstance


@dataclass(slots=True)
class ListItem:
    """One rule of the attribute-list form (`ingress = [{...}]`): its fields are the item's, read
    through the group's view; unresolved values and errors point at the item's line."""

    view: View
    item: dict[str, object]
    line: int
    _values: dict[str, object] = field(default_factory=dict, init=False, repr=False)

    @property
    def condition(self) -> Unresolved | None:
        return self.view.condition

    def provenance(self) -> Provenance:
        return self.view.provenance(self.line)

    def value(self, name: str) -> object:
        if name not in self._values:
            self._values[name] = force(self.item.get(name))
        return self._values[name]

    def undecided(self, name: str, *, written: bool = False) -> Unresolved | None:
        return self.view.undecided(name, self.value(name), self.line)

    def cidrs(self, name: str) -> list[IPNetwork | Unresolved]:
        return self.view.cidrs(name, self.value(name), self.line)

    def narrow(self, name: str) -> bool:
        return self.view.narrow(name, self.value(name))

    def groups(self, name: str) -> list[SgKey | Unresolved]:
        return self.view.groups(name, self.value(name), self.line)

    def texts(self, name: str) -> list[str | Unresolved]:
        return self.view.texts(name, self.value(name))  # unresolved ones at the group's line for `name`

    def not_set(self, name: str) -> ScanError:
        return self.view.not_set(name, self.line)

    def error(self, name: str, message: str, *, named: bool = True) -> ScanError:
        return self.view.error(name, message, named=named, line=self.line)


def security_group(view: View) -> tuple[SecurityGroup, list[Rule]]:
    rules: list[Rule] = []
    inline: set[Direction] = set()
    for direction in (Direction.INGRESS, Direction.EGRESS):
        name = direction.value
        if view.has(name):
            inline.add(direction)
            rules.extend(_list_form(view, direction))
        blocks, unknown = view.blocks(name)
        if blocks or unknown is not None:
            inline.add(direction)
        for block in blocks:
            rules.extend(inline_rules(block, view.key, direction))
        if unknown is not None:
            why = view.unresolved(unknown, name, view.block.line)
            rules.append(unknown_rule(view.key, direction, why, view.condition, RuleForm.INLINE))
    return declared_group(view, inline), rules


def _list_form(view: View, direction: Direction) -> list[Rule]:
    name = direction.value
    value = view.value(name)
    if value is None:
        return []
    if isinstance(value, (Unknown, Ref)) or not isinstance(value, list):
        problem = value if isinstance(value, (Unknown, Ref)) else Unknown(f"not a list of rules ({value!r})")
        return [unknown_rule(view.key, direction, view.unresolved(problem, name), view.condition, RuleForm.INLINE)]
    rules: list[Rule] = []
    for item in value:
        item = force(item)
        line = _origin_line(item, view.file) or view.line(name)
        if not isinstance(item, dict):
            problem = item if isinstance(item, (Unknown, Ref)) else Unknown(f"not a rule object ({item!r})")
            rules.append(
                unknown_rule(view.key, direction, view.unresolved(problem, name, line), view.condition, RuleForm.INLINE)
            )
            continue
        rules.extend(inline_rules(ListItem(view, item, line), view.key, direction))
    return rules


def _origin_line(value: object, file: str) -> int | None:
    if isinstance(value, ObjectValue) and value.origin is not None and value.origin[0] == file:
        return value.origin[1]
    return None


def rule_resource(view: View) -> list[Rule]:
    return _rule_resource(view, rule_provenance(view.instance, view))


def rule_provenance(instance: ResourceInstance, view: View) -> Provenance:
    """The map entry a `for_each` rule comes from when it is an object literal written in the
    resource's own file (so that findings and skip comments share the file), else the block."""
    bindings = getattr(instance.scope, "bindings", {})
    each = bindings.get("each") if isinstance(bindings, dict) else None
    value = each.get("value") if isinstance(each, dict) else None
    if isinstance(value, ObjectValue) and value.origin is not None and value.origin[0] == instance.file:
        return Provenance(value.origin[0], value.origin[1], instance.address)
    return view.provenance()

"""Reading one planned resource instance as model values.

A value known in `planned_values` is used as it is (an `sg-...` id, a CIDR, a port); one that is
unknown until apply (marked in `after_unknown`, or null/absent with references in a plan without
`resource_changes`) is linked through the `references` of its configuration expression. A known id
that the plan itself creates or reads is mapped back to its owner (`tfplan_context`).

Every provenance is the line of the instance's `"address"` in `planned_values`: the line that names
the resource (with module path and instance key). Errors point at the line of the offending key.

`View` is the plan side of `terraform_mapping_view.ResourceView`, which the shared mapping reads.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from ..errors import ScanError
from ..model import GroupRef, Provenance, SgKey, Unresolved
from ..net import IPNetwork, NetValueError, parse_cidr
from .tfplan_context import Context, Step, cluster_sg_key, group_ids, instance_key, walk
from .tfplan_index import Instance, Key
from .tfplan_json import JsonArray, JsonObject
from .tfplan_resolve import (
    ConstantTarget,
    ExternalTarget,
    InstanceTarget,
    Problem,
    Target,
    data_identity,
    references_of,
)

__all__ = ["View"]

_APPLY_HINT = "the value is decided at apply time; the configuration's references do not name it"
_SG_ATTRIBUTES = frozenset({"id", "name", "arn"})
_TEMPLATE_TYPES = ("aws_launch_template", "aws_launch_configuration")
_GROUP_NAME = re.compile(r"security_group|(?<![a-z])sgs?(?![a-z])", re.I)


def _is_expression(value: object) -> bool:
    return isinstance(value, dict) and bool(value) and set(value) <= {"constant_value", "references"}


def _expression(expressions: JsonObject, path: tuple[Step, ...]) -> tuple[JsonObject | None, int]:
    """The configuration expression for `path`, and how many steps of the path it covers: fewer
    than the path when the configuration holds one expression for a whole list of blocks (the
    `ingress`/`egress` of aws_security_group are attributes written as blocks)."""
    node: object = expressions
    for depth, step in enumerate(path):
        if _is_expression(node):
            return (node if isinstance(node, JsonObject) else None), depth
        if isinstance(step, int):
            if isinstance(node, list):
                node = node[step] if 0 <= step < len(node) else None
            elif not (isinstance(node, dict) and step == 0):
                return None, 0
        elif isinstance(node, dict):
            node = node.get(step)
        else:
            return None, 0
    if isinstance(node, JsonObject) and (not node or _is_expression(node)):
        return node, len(path)
    return None, 0


def _unknown(after_unknown: object, path: tuple[Step, ...]) -> bool:
    node = after_unknown
    for step in path:
        if node is True:
            return True
        if isinstance(step, int) and isinstance(node, list):
            node = node[step] if 0 <= step < len(node) else None
        elif isinstance(step, str) and isinstance(node, dict):
            node = node.get(step)
        elif not (isinstance(step, int) and step == 0 and isinstance(node, dict)):
            return False
    return node is True


class View:
    """One planned instance (or a nested block of it), read attribute by attribute."""

    def __init__(self, ctx: Context, instance: Instance, path: tuple[Step, ...] = (), depth: int = 0) -> None:
        self.ctx = ctx
        self.instance = instance
        self.path = path
        self.depth = depth

    @property
    def file(self) -> str:
        return self.ctx.file

    @property
    def key(self) -> str:
        return instance_key(self.ctx.file, self.instance.address)

    @property
    def address(self) -> str:
        return self.instance.address

    @property
    def resource_type(self) -> str:
        return self.instance.type

    @property
    def condition(self) -> Unresolved | None:
        """None: a plan has decided every `count` and `for_each`."""
        return None

    def child(self, *steps: Step) -> View:
        return View(self.ctx, self.instance, (*self.path, *steps), self.depth)

    def provenance(self) -> Provenance:
        return Provenance(self.file, self.instance.line, self.instance.address)

    def provenance_of(self, name: str) -> Provenance:
        return self.provenance()  # the instance's line, for every attribute

    def group_ref(self, kind: str) -> GroupRef | None:
        return None  # fixes are written in the module, not in a plan

    def error_line(self, name: str | None = None) -> int:
        """The line of `name` in this block's values (for errors), else of the instance."""
        container = walk(self.instance.values, self.path)
        if name is not None and isinstance(container, JsonObject) and name in container.key_lines:
            return container.line_of(name)
        if name is None and isinstance(container, (JsonObject, JsonArray)) and container.line:
            return container.line
        return self.instance.line

    def error(self, name: str | None, message: str, *, named: bool = True) -> ScanError:
        """`named` changes nothing: the plan's errors name the attribute they are about."""
        where = f"{self.address}: {name}: " if name else f"{self.address}: "
        return ScanError(self.file, where + message, self.error_line(name))

    def not_set(self, name: str) -> ScanError:
        return self.error(name, "is not set")

    def unresolved(self, name: str, what: str, hint: str = "") -> Unresolved:
        return Unresolved(f"{name}: {what}", self.provenance(), hint)

    def undecided(self, name: str, *, written: bool = False) -> Unresolved | None:
        """A null the plan marks as known only after apply (with `written`: that the configuration
        writes an expression for)."""
        if self.value(name) is None and self.unknown(name) and (not written or self.configured(name)):
            return self.unresolved(name, self.describe(name))
        return None

    def empty(self, name: str, advice: str = "") -> Unresolved:
        return self.unresolved(name, "is empty")  # a plan's value is final: no advice on setting it

    # -- raw access ------------------------------------------------------------------------
    def value(self, name: str) -> object:
        return walk(self.instance.values, (*self.path, name))

    def expression(self, name: str) -> JsonObject | None:
        return _expression(self.instance.expressions, (*self.path, name))[0]

    def configured(self, name: str) -> bool:
        return self.expression(name) is not None

    def unknown(self, name: str) -> bool:
        """Whether the value is decided only at apply time."""
        change = self.instance.change
        if change is not None:
            return _unknown(change.get("after_unknown"), (*self.path, name))
        return self.value(name) is None and bool(references_of(self.expression(name)))

    def targets(self, name: str) -> list[Target]:
        module = self.instance.module
        return self.ctx.refs.targets(module, self.expression(name), self.instance.index, self.depth)

    def blocks(self, name: str) -> list[View]:
        value = self.value(name)
        if isinstance(value, dict):
            return [self.child(name, 0)]
        if isinstance(value, list):
            return [self.child(name, i) for i, item in enumerate(value) if isinstance(item, dict)]
        return []

    def first_block(self, name: str) -> View | None:
        found = self.blocks(name)
        return found[0] if found else None

    def nested(self, name: str) -> tuple[list[View], Unresolved | None]:
        return self.blocks(name), self.undecided(name, written=True)

    def describe(self, name: str) -> str:
        refs = references_of(self.expression(name))
        shown = ", ".join(r for r in refs if not r.startswith(("count.", "each."))) or "no reference"
        return f"known only after apply ({shown})"

    # -- conversions -----------------------------------------------------------------------
    def groups(self, name: str) -> list[SgKey | Unresolved]:
        """The security groups an id or list of ids names, known or through references."""
        value = self.value(name)
        items = value if isinstance(value, list) else [] if value is None else [value]
        out: list[SgKey | Unresolved] = []
        slots = 0
        for item in _flatten_once(items):
            if item is None:
                slots += 1
            elif isinstance(item, str):
                if item:
                    out.append(self.ctx.known_group(item, self.provenance()))
            else:
                out.append(self.unresolved(name, f"not a security group id ({item!r})"))
        if value is None and self.unknown(name) and self.configured(name):
            slots += 1
        if slots:
            out.extend(self._unknown_groups(name, {k for k in out if isinstance(k, str)}))
        return list(dict.fromkeys(out))

    def group(self, name: str) -> SgKey | Unresolved | None:
        found = self.groups(name)
        if len(found) <= 1:
            return found[0] if found else None
        problem = next((k for k in found if isinstance(k, Unresolved)), None)
        if problem is not None:
            return problem  # it says what cannot be followed
        keys = ", ".join(self._shown(k) for k in found if isinstance(k, str))
        return self.unresolved(name, f"one of {keys}, decided at apply time")

    def _shown(self, key: SgKey) -> str:
        group = self.ctx.groups.get(key) or self.ctx.external.get(key)
        return group.name if group is not None else key

    def _unknown_groups(self, name: str, known: set[SgKey]) -> list[SgKey | Unresolved]:
        expression, covered = _expression(self.instance.expressions, (*self.path, name))
        keys, problems = self.sg_keys(self.targets(name), name)
        if expression is not None and covered < len(self.path) + 1:
            return self._placed(name, keys, problems, known, self.path[:covered])
        fresh = [k for k in keys if k not in known]
        if fresh or problems:
            return [*fresh, *problems]
        if self.instance.change is None:
            return []  # null and not marked unknown: absent
        return [self.unresolved(name, self.describe(name), _APPLY_HINT)]

    def _placed(
        self, name: str, keys: list[SgKey], problems: list[Unresolved], known: set[SgKey], scope: tuple[Step, ...]
    ) -> list[SgKey | Unresolved]:
        """Groups for an unknown value inside one of several blocks that share one expression
        (the `ingress`/`egress` of aws_security_group): its references belong to all the blocks,
        so only a single group they name that no block already shows can be placed."""
        known = known | self._known_under(scope)
        fresh = [k for k in dict.fromkeys(keys) if k not in known and _may_be_group(k)]
        if len(fresh) == 1 and (not problems or self._unknown_slots(scope, name) <= 1):
            return [*fresh]
        if not fresh:
            return [*problems] or [self.unresolved(name, self.describe(name), _APPLY_HINT)]
        shown = ", ".join(self._shown(k) for k in fresh) + (" or a value the plan does not record" if problems else "")
        why = f"one of {shown}: the plan does not say which block names which"
        return [self.unresolved(name, why, "scan the module's .tf files to tell them apart")]

    def _unknown_slots(self, scope: tuple[Step, ...], name: str) -> int:
        """How many values of `name` are unknown across the blocks at `scope`."""
        parent, label = View(self.ctx, self.instance, scope[:-1], self.depth), scope[-1]
        count = 0
        for item in parent.blocks(label) if isinstance(label, str) else []:
            value = item.value(name)
            if isinstance(value, list):
                count += sum(1 for v in value if v is None)
            elif value is None and item.unknown(name):
                count += 1
        return count

    def _known_under(self, path: tuple[Step, ...]) -> set[SgKey]:
        found: set[SgKey] = set()
        for _rest, text in group_ids(walk(self.instance.values, path), ()):
            found.add(self.ctx.ids.get(text, (text, text))[0])
        return found

    def sg_keys(self, targets: list[Target], name: str) -> tuple[list[SgKey], list[Unresolved]]:
        """The security groups the targets of a reference stand for, and what stays unknown."""
        keys: list[SgKey] = []
        problems: list[Unresolved] = []
        where = self.provenance()
        for target in targets:
            if isinstance(target, InstanceTarget):
                found, unknown = self._instance_groups(target, name)
                keys.extend(found)
                problems.extend(unknown)
            elif isinstance(target, ConstantTarget):
                values = target.value if isinstance(target.value, list) else [target.value]
                for item in _flatten_once(values):
                    if isinstance(item, str) and item:
                        keys.append(self.ctx.known_group(item, where))
            elif isinstance(target, ExternalTarget):
                keys.append(self.ctx.use(target.key, where, target.name))
            elif isinstance(target, Problem):
                problems.append(self.unresolved(name, target.what, target.hint))
        return keys, problems

    def _instance_groups(self, target: InstanceTarget, name: str) -> tuple[list[SgKey], list[Unresolved]]:
        instance, rest = target.instance, target.rest
        attribute = rest[0] if rest else None
        where = self.provenance()
        if instance.mode == "data":
            key, shown = data_identity(self.file, instance.address, rest)
            return [self.ctx.use(key, where, shown)], []
        key = instance_key(self.file, instance.address)
        if instance.type == "aws_security_group":
            if attribute is None or attribute in _SG_ATTRIBUTES:
                return [self.ctx.use(key, where, instance.address)], []
            return [], []
        if instance.type == "aws_eks_cluster" and attribute in (None, "vpc_config"):
            if "security_group_ids" not in rest:
                shown = f"{instance.address} cluster security group"
                return [self.ctx.use(cluster_sg_key(key), where, shown)], []
            return self._follow(instance, ("vpc_config", 0, "security_group_ids"), name)
        steps = tuple(p.value if isinstance(p, Key) else p for p in rest)
        if steps and isinstance(steps[-1], str) and all(s is not None for s in steps):
            return self._follow(instance, tuple(s for s in steps if s is not None), name)
        return [], []

    def _follow(self, instance: Instance, path: tuple[Step, ...], name: str) -> tuple[list[SgKey], list[Unresolved]]:
        """Groups that another resource's attribute holds (`aws_launch_template.x.vpc_security_group_ids`)."""
        if self.depth >= 8 or not path or not isinstance(path[-1], str):
            return [], [self.unresolved(name, "references are chained too deeply to follow")]
        other = View(self.ctx, instance, path[:-1], self.depth + 1)
        found = other.groups(path[-1])
        return [k for k in found if isinstance(k, str)], [k for k in found if isinstance(k, Unresolved)]

    def cidrs(self, name: str) -> list[IPNetwork | Unresolved]:
        value = self.value(name)
        if value is None:
            unknown = self.unknown(name) and self.configured(name)
            return [self.unresolved(name, self.describe(name), _APPLY_HINT)] if unknown else []
        items = value if isinstance(value, list) else [value]
        out: list[IPNetwork | Unresolved] = []
        for item in _flatten_once(items):
            if item is None:
                out.append(self.unresolved(name, self.describe(name), _APPLY_HINT))
            elif item != "":
                try:
                    out.append(parse_cidr(item))
                except NetValueError as exc:
                    raise self.error(name, str(exc)) from None
        return out

    def narrow(self, name: str) -> bool:
        return False  # a plan does not record how an unknown value is written

    def texts(self, name: str) -> list[str | Unresolved]:
        why = self.undecided(name, written=True)
        if why is not None:
            return [why]
        value = self.value(name)
        items = value if isinstance(value, list) else [] if value is None else [value]
        out: list[str | Unresolved] = []
        for item in items:
            if item is None:
                out.append(self.unresolved(name, self.describe(name)))
            elif item != "":
                out.append(str(item))
        return out

    def text(self, name: str) -> str | Unresolved | None:
        value = self.value(name)
        if value is None:
            if self.unknown(name) and self.configured(name):
                return self.unresolved(name, self.describe(name), _APPLY_HINT)
            return None
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, (str, int, float)):
            return str(value)
        return self.unresolved(name, f"not a string ({value!r})")

    def tags(self, name: str = "tags") -> tuple[tuple[str, str | Unresolved], ...]:
        value = self.value(name)
        if value is None and self.unknown(name) and self.configured(name):
            self.ctx.note(f"{self.file}:{self.instance.line}: {self.address}: tags unknown ({self.describe(name)})")
            return ()
        if not isinstance(value, dict):
            return ()
        out: list[tuple[str, str | Unresolved]] = []
        tags = self.child(name)
        for key in value:
            text = tags.text(key)
            if text is not None:
                out.append((key, text))
        return tuple(out)

    # -- references --------------------------------------------------------------------------
    def cluster_reference(self, name: str) -> str | None:
        """The cluster a name/id attribute refers to, followed through variables and module outputs.
        None for an empty name, which is reported as empty (the HCL loader links an empty name that
        carries its cluster)."""
        if self.value(name) == "":
            return None
        for target in self.targets(name):
            if isinstance(target, InstanceTarget) and target.instance.type == "aws_eks_cluster":
                attribute = target.rest[0] if target.rest else None
                if attribute in (None, "name", "id") and target.instance.mode == "managed":
                    return instance_key(self.file, target.instance.address)
        return None

    def template_keys(self, name: str) -> list[str]:
        return [
            instance_key(self.file, target.instance.address)
            for target in self.targets(name)
            if isinstance(target, InstanceTarget) and target.instance.type in _TEMPLATE_TYPES
        ]

    def undeclared_template(self, name: str) -> Unresolved:
        """A string names a template the plan does not hold; any other value is described by its
        expression, as an unknown one is."""
        value = self.value(name)
        if isinstance(value, str):
            return self.unresolved(name, f"launch template {value} is not declared in the scan")
        return self.unresolved(name, self.describe(name))

    def asg_tag_keys(self) -> Iterator[tuple[object, Unresolved | None]]:
        """`tag` blocks and the objects of a `tags` list: both are lists of objects in a plan."""
        for tag in [*self.blocks("tag"), *self.blocks("tags")]:
            key = tag.value("key")
            yield key, tag.unresolved("tag", tag.describe("key")) if key is None and tag.unknown("key") else None


def _may_be_group(key: SgKey) -> bool:
    """Whether an identity found among the references of a shared expression can be a group (and not,
    say, the CIDR of `aws_vpc.main.cidr_block` that another block of the expression uses)."""
    if key.startswith(("tf:", "cluster-sg:")):
        return True
    if key.startswith(("data:", "var:")):
        return _GROUP_NAME.search(key.rsplit(":", 1)[-1]) is not None
    return key.startswith("sg-")


def _flatten_once(values: list[object]) -> Iterator[object]:
    for item in values:
        if isinstance(item, list):
            yield from item
        else:
            yield item

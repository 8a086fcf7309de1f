"""State shared by one plan load: the plan, reference resolution, the groups seen, and the
identities of the ids the plan knows.

A known id that the plan itself creates or reads (a managed group's `id`, a cluster's
`cluster_security_group_id`, a data source's value) maps back to that identity, so a group named by
id in one place and by reference in another is one group. Keys are the HCL loader's, with the plan
file in place of the module directory.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from ..model import Provenance, SecurityGroup, SgKey, SgOrigin
from .terraform_schema import cluster_sg_key
from .tfplan_index import Key, Part, PlanIndex, obj
from .tfplan_resolve import References, data_identity

__all__ = ["Context", "Step", "cluster_sg_key", "group_ids", "instance_key", "walk"]

Step = str | int  # an attribute name or a list index in planned values


def instance_key(file: str, address: str) -> str:
    """`tf:<plan file>:<address>`: the plan file stands where the HCL loader puts the module directory."""
    return f"tf:{file}:{address}"


@dataclass(slots=True)
class Context:
    """State shared by one load: the plan, reference resolution, the groups seen, notes."""

    plan: PlanIndex
    refs: References
    groups: dict[SgKey, SecurityGroup] = field(default_factory=dict)  # declared and cluster groups
    external: dict[SgKey, SecurityGroup] = field(default_factory=dict)
    ids: dict[str, tuple[SgKey, str]] = field(default_factory=dict)  # known id -> identity, name
    notes: dict[str, None] = field(default_factory=dict)

    @classmethod
    def of(cls, plan: PlanIndex) -> Context:
        ctx = cls(plan, References(plan))
        ctx._index_ids()
        return ctx

    @property
    def file(self) -> str:
        return self.plan.file

    def note(self, text: str) -> None:
        self.notes[text] = None

    def use(self, key: SgKey, provenance: Provenance, name: str) -> SgKey:
        """Record that `key` is named somewhere; keys not declared become EXTERNAL groups."""
        if key not in self.external:
            self.external[key] = SecurityGroup(key, name, SgOrigin.EXTERNAL, provenance)
        return key

    def known_group(self, text: str, provenance: Provenance) -> SgKey:
        key, name = self.ids.get(text, (text, text))
        return self.use(key, provenance, name)

    def _index_ids(self) -> None:
        for instance in self.plan.instances:
            if instance.mode != "managed":
                continue
            key = instance_key(self.file, instance.address)
            if instance.type == "aws_security_group":
                _put(self.ids, instance.values.get("id"), key, instance.address)
            elif instance.type == "aws_eks_cluster":
                vpc = walk(instance.values, ("vpc_config", 0))
                found = obj(vpc).get("cluster_security_group_id")
                _put(self.ids, found, cluster_sg_key(key), f"{instance.address} cluster security group")
        for instance in self.plan.instances:
            if instance.mode == "data":
                for rest, text in group_ids(instance.values, ()):
                    self.ids.setdefault(text, data_identity(self.file, instance.address, rest))


def _put(ids: dict[str, tuple[SgKey, str]], value: object, key: SgKey, name: str) -> None:
    if isinstance(value, str) and value:
        ids.setdefault(value, (key, name))


def group_ids(value: object, path: tuple[Part, ...]) -> Iterator[tuple[tuple[Part, ...], str]]:
    """Every `sg-...` string in a data source's values, with its path."""
    if isinstance(value, str) and value.startswith("sg-"):
        yield path, value
    elif isinstance(value, dict):
        for name, item in value.items():
            yield from group_ids(item, (*path, name))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from group_ids(item, (*path, Key(index)))


def walk(value: object, path: tuple[Step, ...]) -> object:
    """Planned values at `path`; an index into a single nested object (not a list) stays on it."""
    for step in path:
        if isinstance(step, int):
            if isinstance(value, list):
                value = value[step] if 0 <= step < len(value) else None
            elif not (isinstance(value, dict) and step == 0):
                return None
        elif isinstance(value, dict):
            value = value.get(step)
        else:
            return None
    return value

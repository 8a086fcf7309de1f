"""State shared by one template load, and how a resource's properties are read.

`TemplateContext` holds the template, its `Resolver`, the type of each resource and what the load
has found so far; `cfn_groups`, `cfn_nodes` and `cfn_outputs` read resources through it and add
what they find to it, and `cloudformation` turns it into the model.

Keys of what a template declares are made from its namespace `ns`: the template's path, or for a
template read as a nested stack, the namespace of its parent and the stack's logical id
(`parent.yaml>NodeStack`), so that two stacks made from one template stay apart.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from .. import net
from ..errors import ScanError
from ..model import Cluster, FargateProfile, Guard, NodeGroup, Provenance, Rule, SecurityGroup, SgKey, Unresolved
from . import cfn_yaml
from .cfn_intrinsics import Resolver
from .cfn_tokens import NO_VALUE, AttRef, ImportRef, ParamRef, ResourceRef, StackValue, is_intrinsic
from .cfn_yaml import LineDict

if TYPE_CHECKING:
    from .cfn_nested import Child, Nesting, NotEvaluated

__all__ = [
    "CLUSTER",
    "LAUNCH_CONFIGURATION",
    "LAUNCH_TEMPLATE",
    "SECURITY_GROUP",
    "STACK",
    "TOKENS",
    "VPC",
    "TemplateContext",
]

SECURITY_GROUP, CLUSTER, VPC = "AWS::EC2::SecurityGroup", "AWS::EKS::Cluster", "AWS::EC2::VPC"
STACK = "AWS::CloudFormation::Stack"
LAUNCH_TEMPLATE, LAUNCH_CONFIGURATION = "AWS::EC2::LaunchTemplate", "AWS::AutoScaling::LaunchConfiguration"
TOKENS = (Unresolved, ResourceRef, AttRef, ParamRef, ImportRef, StackValue)  # values whose text is not known
_CLUSTER_PARAMETER = re.compile(r"cluster.?name", re.I)


class TemplateContext:
    """One template being loaded: its resources and `Resolver`, and what has been found so far."""

    def __init__(
        self,
        path: str,
        document: LineDict,
        resources: LineDict,
        params: Mapping[str, str],
        bound: Mapping[str, Any] | None = None,
        ns: str | None = None,
    ) -> None:
        self.path, self.resources, self.document, self.ns = path, resources, document, ns or path
        self.notes: list[str] = []  # said under --verbose
        if "Transform" in document and resources is not document:
            line = document.key_lines["Transform"]
            self.notes.append(f"{path}:{line}: Transform is not expanded; resources it adds are not checked")
        self.r = Resolver(path, LineDict() if resources is document else document, params, resources, bound)
        self.types: dict[str, str] = {}
        for lid, resource in resources.items():
            if not isinstance(resource, dict) or not isinstance(resource.get("Type"), str):
                raise ScanError(path, f"{lid}: a resource must be a mapping with a Type", line=self.line(lid))
            self.types[str(lid)] = str(resource["Type"])
        self.present: list[str] = []
        self.conditions: dict[str, Unresolved] = {}  # resources that exist only under an undecided condition
        self.guards: dict[str, Guard] = {}  # the same, as the guard of that one named condition
        self.groups: dict[SgKey, SecurityGroup] = {}
        self.rules: list[Rule] = []
        self.clusters: list[Cluster] = []
        self.clusters_by_name: dict[str, str] = {}  # canonical Name -> cluster key
        self.node_groups: list[NodeGroup] = []
        self.fargate: list[FargateProfile] = []
        self.vpcs: dict[str, tuple[list[net.IPNetwork], bool]] = {}
        self.attachments: list[tuple[SgKey, Provenance]] = []
        self.unevaluated: list[Unresolved] = []  # nested stacks that may hold EKS resources
        self.nesting: Nesting | None = None  # set when nested stacks are followed (`cfn_nested`)
        self.stacks: dict[str, Child | NotEvaluated] = {}  # nested stacks read (or not), by logical id
        self.reading: set[str] = set()  # nested stacks being read
        self.unknown_tag_keys: dict[tuple[str, str], Unresolved] = {}
        self.eks_template = any(t.startswith("AWS::EKS::") for t in self.types.values()) or any(
            _CLUSTER_PARAMETER.search(p) for p in self.r.parameters
        )

    # --- reading values -------------------------------------------------------------------

    def line(self, lid: str) -> int:
        return int(self.resources.key_lines.get(lid, 0))

    def prov(self, lid: str, line: int | None = None) -> Provenance:
        return Provenance(self.path, line or self.line(lid), lid)

    def error(self, lid: str, message: str, line: int | None) -> ScanError:
        return ScanError(self.path, f"{lid}: {message}", line=line or self.line(lid))

    def props(self, lid: str) -> LineDict:
        props = self.resources[lid].get("Properties")
        if props is not None and (not isinstance(props, LineDict) or is_intrinsic(props)):
            raise self.error(lid, "Properties must be a mapping", self.resources[lid].key_lines.get("Properties"))
        return props if props is not None else LineDict(line=self.line(lid))

    def value(self, lid: str, node: LineDict, key: str) -> Any:
        """A property's resolved value; None when absent, null or AWS::NoValue."""
        value = self.r.resolve(node[key], lid) if key in node else None
        return None if value is NO_VALUE else value

    def mapping(self, lid: str, node: LineDict, key: str) -> LineDict | Unresolved | None:
        """A nested mapping left unresolved inside (only an intrinsic that yields it is evaluated)."""
        raw = node.get(key)
        if is_intrinsic(raw):
            raw = self.r.resolve(raw, lid)
        if raw is None or raw is NO_VALUE or isinstance(raw, LineDict | Unresolved):
            return None if raw is NO_VALUE else raw
        raise self.error(lid, f"{key} must be a mapping", node.key_lines.get(key))

    def unknown(self, lid: str, value: Any, line: int) -> Unresolved:
        return self.r.unresolved(value, line, lid)

    def text(self, lid: str, node: LineDict, key: str) -> str | Unresolved | None:
        value = self.value(lid, node, key)
        if isinstance(value, bool | list | dict):
            raise self.error(lid, f"{key} must be a string, not {value!r}", node.key_lines.get(key))
        if isinstance(value, TOKENS):
            return self.unknown(lid, value, node.key_lines.get(key, self.line(lid)))
        return None if value is None else str(value)

    def tags(self, lid: str, props: LineDict) -> tuple[tuple[str, str | Unresolved], ...]:
        raw, at = props.get("Tags"), props.key_lines.get("Tags", self.line(lid))
        raw = self.r.resolve(raw, lid) if is_intrinsic(raw) else raw
        entries: list[tuple[str, Any, int]] = []
        if isinstance(raw, dict):  # the map form (AWS::EKS::Nodegroup and others)
            entries = [(str(k), v, getattr(raw, "key_lines", {}).get(k, at)) for k, v in raw.items()]
        elif isinstance(raw, list):
            for entry, line in zip(raw, cfn_yaml.item_lines(raw, at), strict=True):
                entry = self.r.resolve(entry, lid) if is_intrinsic(entry) else entry
                if entry is NO_VALUE or isinstance(entry, Unresolved):
                    continue
                if not isinstance(entry, dict) or "Key" not in entry:
                    raise self.error(lid, "a tag must be a mapping with Key and Value", line)
                # An unresolved key keeps its expression, e.g. kubernetes.io/cluster/${ClusterName}.
                key = self.r.canonical(entry["Key"], lid)
                if isinstance(resolved := self.r.resolve(entry["Key"], lid), TOKENS):
                    self.unknown_tag_keys[(lid, key)] = self.unknown(lid, resolved, line)
                entries.append((key, entry.get("Value"), line))
        elif raw is not None and raw is not NO_VALUE and not isinstance(raw, Unresolved):
            raise self.error(lid, "Tags must be a list of {Key, Value}", at)
        tags: list[tuple[str, str | Unresolved]] = []
        for key, node, line in entries:
            value = self.r.resolve(node, lid)
            if isinstance(value, TOKENS):
                tags.append((key, self.unknown(lid, value, line)))
            elif isinstance(value, list | dict):
                raise self.error(lid, f"the value of tag {key} must be a string", line)
            elif isinstance(value, bool):
                tags.append((key, "true" if value else "false"))
            else:
                tags.append((key, "" if value is None or value is NO_VALUE else str(value)))
        return tuple(tags)

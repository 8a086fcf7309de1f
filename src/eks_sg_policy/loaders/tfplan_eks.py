"""EKS resources from a plan: clusters (and the cluster security group EKS creates), launch
templates and configurations, managed and self-managed node groups, Fargate profiles, VPCs, and
other places a security group is attached. Same semantics as the HCL loader (`terraform_eks`)."""

from __future__ import annotations

from dataclasses import dataclass

from ..model import (
    Cluster,
    ClusterLink,
    FargateProfile,
    NodeGroup,
    NodeGroupKind,
    Provenance,
    RemoteAccess,
    SecurityGroup,
    SgKey,
    SgOrigin,
    Unresolved,
    Vpc,
)
from ..net import IPNetwork
from .terraform_schema import ATTACHMENTS, CLUSTER_TAG
from .tfplan_context import cluster_sg_key, instance_key
from .tfplan_resolve import InstanceTarget
from .tfplan_view import View

_TEMPLATE_TYPES = ("aws_launch_template", "aws_launch_configuration")

Groups = tuple[SgKey | Unresolved, ...] | None


@dataclass(frozen=True, slots=True)
class TemplateGroups:
    """What a launch template or launch configuration attaches."""

    groups: Groups
    provenance: Provenance


@dataclass(slots=True)
class Templates:
    """Launch templates and configurations by key, and by the id or name the plan knows."""

    by_key: dict[str, TemplateGroups]
    by_value: dict[str, str]

    def add(self, view: View, groups: TemplateGroups) -> None:
        self.by_key[view.key] = groups
        for name in ("id", "name"):
            value = view.value(name)
            if isinstance(value, str) and value:
                self.by_value.setdefault(value, view.key)


def cluster(view: View, names: dict[str, str]) -> tuple[Cluster, SecurityGroup]:
    name = view.text("name")
    if name == "":
        name = view.unresolved("name", "is empty")
    vpc_config = view.first_block("vpc_config")
    groups = tuple(vpc_config.groups("security_group_ids")) if vpc_config else ()
    network = view.first_block("kubernetes_network_config")
    ip_family = network.text("ip_family") if network else None
    nodes, pods = _remote_networks(view)
    key = view.key
    if isinstance(name, str):
        names.setdefault(name, key)
    result = Cluster(
        key=key,
        name=name if name is not None else view.unresolved("name", "not set"),
        provenance=view.provenance(),
        cluster_sg=cluster_sg_key(key),
        security_groups=groups,
        version=view.text("version"),
        ip_family=ip_family or "ipv4",
        remote_node_networks=nodes,
        remote_pod_networks=pods,
        vpc_config=vpc_config.provenance() if vpc_config else None,
    )
    # EKS tags this group kubernetes.io/cluster/<name>=owned; the CLUSTER origin says so.
    cluster_group = SecurityGroup(
        key=cluster_sg_key(key),
        name=f"{view.address} cluster security group",
        origin=SgOrigin.CLUSTER,
        provenance=view.provenance(),
    )
    return result, cluster_group


def _remote_networks(view: View) -> tuple[tuple[IPNetwork | Unresolved, ...], tuple[IPNetwork | Unresolved, ...]]:
    remote = view.first_block("remote_network_config")
    if remote is None:
        return (), ()
    found: list[tuple[IPNetwork | Unresolved, ...]] = []
    for name in ("remote_node_networks", "remote_pod_networks"):
        cidrs: list[IPNetwork | Unresolved] = []
        for block in remote.blocks(name):
            cidrs.extend(block.cidrs("cidrs"))
        if remote.value(name) is None and remote.unknown(name) and remote.configured(name):
            cidrs.append(remote.unresolved(name, remote.describe(name)))
        found.append(tuple(cidrs))
    return found[0], found[1]


def launch_template(view: View) -> TemplateGroups:
    groups = view.groups("vpc_security_group_ids") + view.groups("security_group_names")
    for interface in view.blocks("network_interfaces"):
        groups.extend(interface.groups("security_groups"))
    return TemplateGroups(tuple(groups) or None, view.provenance())


def launch_configuration(view: View) -> TemplateGroups:
    return TemplateGroups(tuple(view.groups("security_groups")) or None, view.provenance())


def _cluster_target(view: View, field: str) -> str | None:
    """The cluster a name/id attribute refers to, followed through variables and module outputs."""
    for target in view.targets(field):
        if isinstance(target, InstanceTarget) and target.instance.type == "aws_eks_cluster":
            attribute = target.rest[0] if target.rest else None
            if attribute in (None, "name", "id") and target.instance.mode == "managed":
                return instance_key(view.file, target.instance.address)
    return None


def cluster_link(view: View, field: str, names: dict[str, str]) -> ClusterLink:
    value = view.value(field)
    referenced = _cluster_target(view, field)
    if value == "":
        return ClusterLink(unresolved=view.unresolved(field, "is empty"))
    if isinstance(value, str):
        return ClusterLink(cluster_key=referenced or names.get(value), cluster_name=value)
    if referenced is not None:
        return ClusterLink(cluster_key=referenced)
    if value is None and view.unknown(field):
        return ClusterLink(unresolved=view.unresolved(field, view.describe(field)))
    return ClusterLink()


def _template_reference(view: View, field: str, templates: Templates) -> tuple[Groups, Provenance | None] | None:
    """Groups and provenance of the template an attribute names; None when it names none."""
    value = view.value(field)
    unknown = value is None and view.unknown(field) and view.configured(field)
    if (value is None and not unknown) or value == "":
        return None
    for target in view.targets(field):
        if isinstance(target, InstanceTarget) and target.instance.type in _TEMPLATE_TYPES:
            found = templates.by_key.get(instance_key(view.file, target.instance.address))
            if found is not None:
                return found.groups, found.provenance
    if isinstance(value, str):
        key = templates.by_value.get(value)
        if key is not None:
            found = templates.by_key[key]
            return found.groups, found.provenance
        why = view.unresolved(field, f"launch template {value} is not declared in the scan")
    else:
        why = view.unresolved(field, view.describe(field))
    return (why,), view.provenance()


def _managed_template(view: View, templates: Templates) -> tuple[Groups, Provenance | None]:
    block = view.first_block("launch_template")
    if block is None:
        return None, None
    for field in ("id", "name"):
        found = _template_reference(block, field, templates)
        if found is not None:
            return found
    return None, None


def managed_node_group(view: View, templates: Templates, names: dict[str, str]) -> NodeGroup:
    groups, template = _managed_template(view, templates)
    remote = view.first_block("remote_access")
    access = None
    if remote is not None:
        ami_type = view.value("ami_type")
        windows = isinstance(ami_type, str) and ami_type.upper().startswith("WINDOWS")
        access = RemoteAccess(tuple(remote.groups("source_security_group_ids")), windows, remote.provenance())
    return NodeGroup(
        key=view.key,
        name=view.address,
        kind=NodeGroupKind.MANAGED,
        provenance=view.provenance(),
        cluster=cluster_link(view, "cluster_name", names),
        launch_template_groups=groups,
        launch_template=template,
        remote_access=access,
        tags=view.tags(),
    )


def _asg_template(view: View, templates: Templates) -> tuple[Groups, Provenance | None]:
    candidates: list[tuple[View, str]] = []
    block = view.first_block("launch_template")
    if block is not None:
        candidates += [(block, "id"), (block, "name")]
    policy = view.first_block("mixed_instances_policy")
    inner = policy.first_block("launch_template") if policy else None
    spec = inner.first_block("launch_template_specification") if inner else None
    if spec is not None:
        candidates += [(spec, "launch_template_id"), (spec, "launch_template_name")]
    candidates.append((view, "launch_configuration"))
    for source, field in candidates:
        found = _template_reference(source, field, templates)
        if found is not None:
            return found
    return None, None


def _asg_cluster(view: View, names: dict[str, str]) -> ClusterLink:
    tags = [*view.blocks("tag"), *view.blocks("tags")]
    for tag in tags:
        key = tag.value("key")
        if isinstance(key, str) and key.startswith(CLUSTER_TAG):
            name = key[len(CLUSTER_TAG) :]
            return ClusterLink(cluster_key=names.get(name), cluster_name=name)
        if key is None and tag.unknown("key"):
            return ClusterLink(unresolved=tag.unresolved("tag", tag.describe("key")))
    return ClusterLink()


def self_managed_node_group(view: View, templates: Templates, names: dict[str, str]) -> NodeGroup:
    groups, template = _asg_template(view, templates)
    return NodeGroup(
        key=view.key,
        name=view.address,
        kind=NodeGroupKind.SELF_MANAGED,
        provenance=view.provenance(),
        cluster=_asg_cluster(view, names),
        launch_template_groups=groups,
        launch_template=template,
    )


def fargate_profile(view: View, names: dict[str, str]) -> FargateProfile:
    return FargateProfile(view.key, cluster_link(view, "cluster_name", names), view.provenance())


def vpc(view: View) -> Vpc:
    cidrs = [c for c in view.cidrs("cidr_block") if not isinstance(c, Unresolved)]
    return Vpc(view.key, tuple(cidrs), view.provenance())


def attachments(view: View) -> list[tuple[SgKey, Provenance]]:
    found: list[tuple[SgKey, Provenance]] = []
    for field in ATTACHMENTS.get(view.instance.type, ()):
        found.extend((key, view.provenance()) for key in view.groups(field) if isinstance(key, str))
    if view.instance.type == "aws_lambda_function":
        config = view.first_block("vpc_config")
        for key in config.groups("security_group_ids") if config else []:
            if isinstance(key, str):
                found.append((key, view.provenance()))
    return found

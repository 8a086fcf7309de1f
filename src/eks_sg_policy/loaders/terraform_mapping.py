"""EKS resources for both Terraform loaders (HCL modules and plan JSON): clusters (and the cluster
security group EKS creates), launch templates and configurations, managed and self-managed node
groups, Fargate profiles, VPCs, and other places a security group is attached.

Written once against `terraform_mapping_view.ResourceView`; what differs between a module and a
plan is the View's to answer, or a parameter named at the call."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
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
from .terraform_mapping_view import ResourceView
from .terraform_schema import ATTACHMENTS, CLUSTER_TAG, cluster_sg_key

Groups = tuple[SgKey | Unresolved, ...] | None


@dataclass(frozen=True, slots=True)
class TemplateGroups:
    """What a launch template or launch configuration attaches."""

    groups: Groups
    provenance: Provenance


@dataclass(slots=True)
class Templates:
    """Launch templates and configurations by key, and by the id or name they are known by."""

    by_key: dict[str, TemplateGroups] = dataclasses.field(default_factory=dict)
    by_value: dict[str, str] = dataclasses.field(default_factory=dict)

    def add(self, key: str, groups: TemplateGroups, known_as: Iterable[object] = ()) -> None:
        """`known_as`: the ids and names a plan knows the template by. A module gives none: its
        references carry the template they name, a literal name there names no template."""
        self.by_key[key] = groups
        for value in known_as:
            if isinstance(value, str) and value:
                self.by_value.setdefault(value, key)


def cluster(view: ResourceView, names: dict[str, str]) -> tuple[Cluster, SecurityGroup]:
    name = view.text("name")
    if name == "":
        name = view.empty("name", "the module needs a value for it")
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
        name=name if name is not None else Unresolved("name: not set", view.provenance()),
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
        ref=view.group_ref("cluster"),
    )
    return result, cluster_group


def _remote_networks(
    view: ResourceView,
) -> tuple[tuple[IPNetwork | Unresolved, ...], tuple[IPNetwork | Unresolved, ...]]:
    remote = view.first_block("remote_network_config")
    if remote is None:
        return (), ()
    found: list[tuple[IPNetwork | Unresolved, ...]] = []
    for name in ("remote_node_networks", "remote_pod_networks"):
        cidrs: list[IPNetwork | Unresolved] = []
        blocks, unknown = remote.nested(name)
        for block in blocks:
            cidrs.extend(block.cidrs("cidrs"))
        if unknown is not None:
            cidrs.append(unknown)
        found.append(tuple(cidrs))
    return found[0], found[1]


def launch_template(view: ResourceView, *, unknown_interfaces: bool) -> TemplateGroups:
    """`unknown_interfaces`: whether `network_interfaces` blocks the scan cannot see make an
    unresolved group (the HCL loader); the plan loader has not looked for them."""
    groups = view.groups("vpc_security_group_ids") + view.groups("security_group_names")
    interfaces, unknown = view.nested("network_interfaces")
    for interface in interfaces:
        groups.extend(interface.groups("security_groups"))
    if unknown is not None and unknown_interfaces:
        groups.append(unknown)
    return TemplateGroups(tuple(groups) or None, view.provenance())


def launch_configuration(view: ResourceView) -> TemplateGroups:
    return TemplateGroups(tuple(view.groups("security_groups")) or None, view.provenance())


def cluster_link(view: ResourceView, field: str, names: dict[str, str]) -> ClusterLink:
    """The cluster a name/id attribute names: by reference, else by a name declared in the scan."""
    value = view.value(field)
    referenced = view.cluster_reference(field)
    if referenced is not None:
        return ClusterLink(cluster_key=referenced, cluster_name=str.__str__(value) if isinstance(value, str) else None)
    if value == "":
        return ClusterLink(unresolved=view.empty(field))
    if isinstance(value, str):
        text = str.__str__(value)
        return ClusterLink(cluster_key=names.get(text), cluster_name=text)
    return ClusterLink(unresolved=view.undecided(field))


def _template_reference(
    view: ResourceView, field: str, templates: Templates
) -> tuple[Groups, Provenance | None] | None:
    """Groups and provenance of the template an attribute names; None when it names none."""
    value = view.value(field)
    why = view.undecided(field, written=True)
    if (value is None and why is None) or value == "":
        return None
    for key in view.template_keys(field):
        found = templates.by_key.get(key)
        if found is not None:
            return found.groups, found.provenance
    if isinstance(value, str):
        known = templates.by_value.get(value)
        if known is not None:
            found = templates.by_key[known]
            return found.groups, found.provenance
    return (why if why is not None else view.undeclared_template(field),), view.provenance()


def _managed_template(view: ResourceView, templates: Templates) -> tuple[Groups, Provenance | None]:
    block = view.first_block("launch_template")
    if block is None:
        return None, None
    for field in ("id", "name"):
        found = _template_reference(block, field, templates)
        if found is not None:
            return found
    return None, None


def managed_node_group(view: ResourceView, templates: Templates, names: dict[str, str]) -> NodeGroup:
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
        condition=view.condition,
    )


def _asg_template(view: ResourceView, templates: Templates) -> tuple[Groups, Provenance | None]:
    candidates: list[tuple[ResourceView, str]] = []
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


def _asg_cluster(view: ResourceView, names: dict[str, str]) -> ClusterLink:
    for key, why in view.asg_tag_keys():
        if isinstance(key, str) and key.startswith(CLUSTER_TAG):
            name = key[len(CLUSTER_TAG) :]
            return ClusterLink(cluster_key=names.get(name), cluster_name=name)
        if why is not None:
            return ClusterLink(unresolved=why)
    return ClusterLink()


def self_managed_node_group(view: ResourceView, templates: Templates, names: dict[str, str]) -> NodeGroup:
    groups, template = _asg_template(view, templates)
    return NodeGroup(
        key=view.key,
        name=view.address,
        kind=NodeGroupKind.SELF_MANAGED,
        provenance=view.provenance(),
        cluster=_asg_cluster(view, names),
        launch_template_groups=groups,
        launch_template=template,
        condition=view.condition,
    )


def fargate_profile(view: ResourceView, names: dict[str, str]) -> FargateProfile:
    return FargateProfile(view.key, cluster_link(view, "cluster_name", names), view.provenance())


def vpc(view: ResourceView) -> Vpc:
    cidrs = [c for c in view.cidrs("cidr_block") if not isinstance(c, Unresolved)]
    return Vpc(view.key, tuple(cidrs), view.provenance())


def attachments(view: ResourceView) -> list[tuple[SgKey, Provenance]]:
    found: list[tuple[SgKey, Provenance]] = []
    for field in ATTACHMENTS.get(view.resource_type, ()):
        for key in view.groups(field):
            if isinstance(key, str):
                found.append((key, view.provenance_of(field)))
    if view.resource_type == "aws_lambda_function":
        config = view.first_block("vpc_config")
        for key in config.groups("security_group_ids") if config else []:
            if isinstance(key, str):
                found.append((key, config.provenance() if config else view.provenance()))
    return found

"""The normalized model: what every loader produces and the only thing topology and policies see.

All classes are immutable. A value a loader could not decide is an `Unresolved`, never `None`:
`None` means "absent" (e.g. no launch template), `Unresolved` means "present but unknown".
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import Enum

from .net import IPNetwork, PortRange


@dataclass(frozen=True, slots=True, order=True)
class Provenance:
    """Where a model element was written: file as given, 1-based line, logical id or address."""

    file: str
    line: int
    resource: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}"


@dataclass(frozen=True, slots=True)
class Unresolved:
    """A value the scan could not decide, with why, where, and what would settle it."""

    what: str
    provenance: Provenance
    hint: str = ""

    def __str__(self) -> str:
        return self.what


@dataclass(frozen=True, slots=True)
class Guard:
    """Exists only when named conditions take the given values (CloudFormation Conditions, `Fn::If`).

    Unlike a bare `Unresolved` condition, a guard can be decided case by case: a requirement met in
    every case passes, one blocked in every case is violated, anything else is unverified.
    """

    terms: tuple[tuple[str, bool], ...]  # (condition id, the value it must have); ids are unique per scan
    why: Unresolved

    def holds(self, case: dict[str, bool]) -> bool:
        return all(case.get(name) == value for name, value in self.terms)


def why_of(condition: Guard | Unresolved) -> Unresolved:
    """Why something under `condition` may not exist."""
    return condition.why if isinstance(condition, Guard) else condition


def in_case(
    condition: Guard | Unresolved | None, case: dict[str, bool] | None
) -> tuple[bool, Guard | Unresolved | None]:
    """Whether something under `condition` exists in `case`, and the condition still left on it
    (none once a guard is decided by the case)."""
    if isinstance(condition, Guard) and case is not None:
        return (True, None) if condition.holds(case) else (False, None)
    return True, condition


class Direction(str, Enum):
    INGRESS = "ingress"
    EGRESS = "egress"


class SgOrigin(str, Enum):
    """How much of a security group's rule set the scan can see."""

    DECLARED = "declared"  # created by the scanned code: its rules are all known
    EXTERNAL = "external"  # parameter, import, data source, literal id: other rules may exist
    CLUSTER = "cluster"  # the cluster security group EKS creates: defaults plus attached rules
    REMOTE_ACCESS = "remote-access"  # the SSH/RDP group EKS creates for a managed node group


@dataclass(frozen=True, slots=True)
class GroupRef:
    """How the code refers to a group, for fix snippets written in the language of the file.

    kind: "resource" (a declared group: CloudFormation logical id / Terraform address), "cluster"
    (the group EKS creates for a cluster: the cluster's logical id / address), "parameter"
    (CloudFormation parameter / Terraform variable), "import" (an export name), "data" (a Terraform
    data source address), "literal" (an sg- id), "attribute" (`Resource.Attribute` of another resource).
    `module` is the Terraform module path the name is relative to ("" for the root and CloudFormation).
    """

    kind: str
    name: str
    module: str = ""


SgKey = str
"""The identity of a security group within one scan. Two references to the same group (a `Ref`
and a `GetAtt GroupId`, two imports of one export, two uses of one parameter) give one key."""


@dataclass(frozen=True, slots=True)
class SecurityGroup:
    key: SgKey
    name: str  # logical id, resource address, parameter/export name: what the user calls it
    origin: SgOrigin
    provenance: Provenance
    tags: tuple[tuple[str, str | Unresolved], ...] = ()
    vpc: str | Unresolved | None = None
    # Directions whose inline rules are authoritative: the tool that deploys the group removes any other
    # rule of that direction (Terraform's aws_security_group ingress/egress arguments).
    has_inline: frozenset[Direction] = frozenset()
    imported_as: str | None = None  # the export name an imported group comes from
    ref: GroupRef | None = None
    aliases: tuple[GroupRef, ...] = ()  # other names for it, e.g. the variable a Terraform module receives it in

    @property
    def complete(self) -> bool:
        """Whether the absence of a rule means the traffic is denied."""
        return self.origin is not SgOrigin.EXTERNAL


@dataclass(frozen=True, slots=True)
class CidrPeer:
    network: IPNetwork

    def __str__(self) -> str:
        return str(self.network)


@dataclass(frozen=True, slots=True)
class SgPeer:
    key: SgKey

    def __str__(self) -> str:
        return self.key


@dataclass(frozen=True, slots=True)
class PrefixListPeer:
    prefix_list: str | Unresolved

    def __str__(self) -> str:
        return f"prefix list {self.prefix_list}"


@dataclass(frozen=True, slots=True)
class NoPeer:
    """A rule written with no CIDR, group or prefix list: EC2 creates nothing for it."""

    def __str__(self) -> str:
        return "no peer"


@dataclass(frozen=True, slots=True)
class UnresolvedPeer:
    value: Unresolved
    # What is known of it: "group" (a security group, so never the internet), "narrow-cidr" (an address
    # range whose prefix length is written and not 0, e.g. "${ip}/32"), "cidr", or "any".
    kind: str = "any"

    @property
    def may_be_internet(self) -> bool:
        return self.kind in ("any", "cidr")

    def __str__(self) -> str:
        return f"unresolved peer ({self.value})"


Peer = CidrPeer | SgPeer | PrefixListPeer | NoPeer | UnresolvedPeer


class RuleForm(str, Enum):
    INLINE = "inline"  # part of the group resource
    STANDALONE = "standalone"  # a rule resource of its own
    IMPLICIT = "implicit"  # created by the platform: EC2 default egress, EKS cluster/remote-access defaults


@dataclass(frozen=True, slots=True)
class Rule:
    """One effective rule: a direction, a protocol, a port interval and one peer."""

    group: SgKey | Unresolved | None  # None: a standalone rule that names no group
    direction: Direction
    protocol: str | Unresolved  # canonical, see net.normalize_protocol
    ports: PortRange | Unresolved
    peer: Peer
    provenance: Provenance
    form: RuleForm = RuleForm.STANDALONE
    description: str = ""
    # Set when the rule exists only under a condition the scan cannot decide.
    condition: Guard | Unresolved | None = None


class NodeGroupKind(str, Enum):
    MANAGED = "managed"
    SELF_MANAGED = "self-managed"


@dataclass(frozen=True, slots=True)
class RemoteAccess:
    """EKS managed node group remote access: EKS makes an SG opening SSH (RDP on Windows)."""

    source_groups: tuple[SgKey | Unresolved, ...]
    windows: bool
    provenance: Provenance


@dataclass(frozen=True, slots=True)
class ClusterLink:
    """How a node group names its cluster: a cluster key, a name, or nothing decidable."""

    cluster_key: str | None = None
    cluster_name: str | None = None
    unresolved: Unresolved | None = None


@dataclass(frozen=True, slots=True)
class NodeGroup:
    key: str
    name: str
    kind: NodeGroupKind
    provenance: Provenance
    cluster: ClusterLink = field(default_factory=ClusterLink)
    # Groups named by the launch template / configuration; None when it names none (or there is none).
    launch_template_groups: tuple[SgKey | Unresolved, ...] | None = None
    launch_template: Provenance | None = None
    remote_access: RemoteAccess | None = None
    tags: tuple[tuple[str, str | Unresolved], ...] = ()
    # Exists only under a condition the scan cannot decide: a guard when named conditions decide it
    # (tried case by case), else why it may not exist.
    condition: Guard | Unresolved | None = None


@dataclass(frozen=True, slots=True)
class Cluster:
    key: str
    name: str | Unresolved
    provenance: Provenance
    cluster_sg: SgKey  # the implicit group EKS creates
    security_groups: tuple[SgKey | Unresolved, ...] = ()  # VPC config groups
    version: str | Unresolved | None = None
    ip_family: str | Unresolved = "ipv4"
    remote_node_networks: tuple[IPNetwork | Unresolved, ...] = ()
    remote_pod_networks: tuple[IPNetwork | Unresolved, ...] = ()
    vpc_config: Provenance | None = None


@dataclass(frozen=True, slots=True)
class FargateProfile:
    key: str
    cluster: ClusterLink
    provenance: Provenance


@dataclass(frozen=True, slots=True)
class Vpc:
    key: str
    cidrs: tuple[IPNetwork, ...]
    provenance: Provenance


@dataclass(frozen=True, slots=True)
class Export:
    """A value a template publishes for others to import (CloudFormation `Outputs.Export.Name`).

    `name` is the export name when it is known; otherwise the canonical text of its expression, with
    `${AWS::StackName}` left in place for the linking step to match against imports.
    """

    name: str
    name_resolved: bool
    value: SgKey | Unresolved
    provenance: Provenance


@dataclass(frozen=True, slots=True)
class Model:
    """Everything one scan found, from every file it read.

    `security_groups` may hold one key more than once (an import seen from two files); a
    DECLARED entry wins over an EXTERNAL one. Every key that a rule, cluster or node group
    names has an entry.
    """

    security_groups: tuple[SecurityGroup, ...] = ()
    rules: tuple[Rule, ...] = ()
    clusters: tuple[Cluster, ...] = ()
    node_groups: tuple[NodeGroup, ...] = ()
    fargate_profiles: tuple[FargateProfile, ...] = ()
    vpcs: tuple[Vpc, ...] = ()
    # Places where a group is attached to something that is neither a cluster nor a node group
    # (an instance, a load balancer, ...), for the sharing policy.
    other_attachments: tuple[tuple[SgKey, Provenance], ...] = ()
    exports: tuple[Export, ...] = ()
    # Parts of the input that were not evaluated (a registry module, say) and may hold clusters,
    # node groups or rules: the scan is incomplete there, and says so.
    unevaluated: tuple[Unresolved, ...] = ()

    def merged(self, other: Model) -> Model:
        return Model(
            security_groups=self.security_groups + other.security_groups,
            rules=self.rules + other.rules,
            clusters=self.clusters + other.clusters,
            node_groups=self.node_groups + other.node_groups,
            fargate_profiles=self.fargate_profiles + other.fargate_profiles,
            vpcs=self.vpcs + other.vpcs,
            other_attachments=self.other_attachments + other.other_attachments,
            exports=self.exports + other.exports,
            unevaluated=self.unevaluated + other.unevaluated,
        )


def referenced_keys(
    rules: Iterable[Rule],
    clusters: Iterable[Cluster],
    node_groups: Iterable[NodeGroup],
    attachments: Iterable[tuple[SgKey, Provenance]] = (),
) -> set[SgKey]:
    """Every group key these elements name: a loader gives each one a `SecurityGroup` entry."""
    used: set[SgKey] = set()
    for rule in rules:
        if isinstance(rule.group, str):
            used.add(rule.group)
        if isinstance(rule.peer, SgPeer):
            used.add(rule.peer.key)
    for cluster in clusters:
        used.update(k for k in cluster.security_groups if isinstance(k, str))
        used.add(cluster.cluster_sg)
    for group in node_groups:
        used.update(k for k in group.launch_template_groups or () if isinstance(k, str))
        if group.remote_access:
            used.update(k for k in group.remote_access.source_groups if isinstance(k, str))
    used.update(key for key, _ in attachments)
    return used

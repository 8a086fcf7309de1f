"""Exposure: what is open too wide (EKS301, EKS302, EKS303)."""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence

from ..findings import Finding
from ..model import (
    CidrPeer,
    Direction,
    Guard,
    Rule,
    RuleForm,
    SecurityGroup,
    SgOrigin,
    SgPeer,
    Unresolved,
    UnresolvedPeer,
    in_case,
)
from ..net import ALL, EVERY_PORT, PortRange, PortSet, covers_whole_internet, parse_ports
from ..policies import Policy
from ..topology import CONTROL_PLANE, ClusterView, Endpoint
from .context import Context


def evaluate_exposure(policy: Policy, ctx: Context) -> Iterator[Finding]:
    """Ingress from the whole internet onto a group of a node group or of a control plane.

    A group that is on a control plane is reported once, under the control-plane policy.
    """
    target = policy.check["target"]
    control_plane_groups = {k for v in ctx.topology.clusters if v.control_plane for k in v.control_plane.groups}
    seen: set[str] = set()
    for view in ctx.topology.clusters:
        endpoints = (
            [view.control_plane]
            if target == CONTROL_PLANE and view.control_plane
            else []
            if target == CONTROL_PLANE
            else [ng.endpoint for ng in view.node_groups]
        )
        for endpoint in endpoints:
            for key in endpoint.groups:
                if key in seen or (target != CONTROL_PLANE and key in control_plane_groups):
                    continue
                seen.add(key)
                group = ctx.topology.group(key)
                if group is not None:
                    yield from _open_rules(policy, ctx, view, group, endpoint.name)


def _open_rules(
    policy: Policy, ctx: Context, view: ClusterView, group: SecurityGroup, attached_to: str
) -> Iterator[Finding]:
    """Services open to the whole internet in every case are violations; in some cases only, or
    through a rule whose source or existence is unknown, they are unverified."""
    rules = ctx.index.rules_of(group.key, Direction.INGRESS)
    per_case = [_open_services(rules, case) for case in ctx.cases]
    always = set.intersection(*(set(services) for services in per_case))
    for service in sorted(always, key=str):
        yield _exposed(policy, ctx, view, group, attached_to, service, per_case[0][service])
    sometimes = set().union(*per_case) - always
    doubtful = [r for r in rules if _may_be_internet(r)]
    if sometimes or doubtful:
        guards = [r.condition.why for r in rules if isinstance(r.condition, Guard)]
        unknowns = [*guards, *(r.peer.value for r in doubtful if isinstance(r.peer, UnresolvedPeer)),
                    *(r.condition for r in doubtful if isinstance(r.condition, Unresolved))]  # fmt: skip
        finding = ctx.unverified(policy, f"{group.name} (on {attached_to})", unknowns, group.provenance, view=view,
                                 peer=f"{group.key}|unverified")  # fmt: skip
        if finding is not None:
            yield finding


Service = tuple[str, str]  # (protocol, ports)


def _open_services(rules: Sequence[Rule], case: dict[str, bool] | None) -> dict[Service, list[Rule]]:
    """(protocol, ports) open to the whole internet, from the union of every rule that admits them:
    0.0.0.0/1 on TCP 400-500 with 128.0.0.0/1 on TCP 450-600 opens TCP 450-500 to everyone."""
    active: list[tuple[str, PortRange, Rule]] = []
    for rule in rules:
        exists, condition = in_case(rule.condition, case)
        if exists and isinstance(rule.peer, CidrPeer) and condition is None and isinstance(rule.protocol, str) \
                and isinstance(rule.ports, PortRange):  # fmt: skip
            active.append((rule.protocol, rule.ports, rule))
    open_all = _open_intervals([(p, r) for proto, p, r in active if proto == ALL])
    found: dict[Service, list[Rule]] = {(ALL, str(p)): rs for p, rs in open_all}
    everything = PortSet.of(p for p, _ in open_all) == EVERY_PORT
    for protocol in sorted({proto for proto, _, _ in active} - {ALL}):
        if everything:
            break  # all traffic is open: the protocol-specific openings are the same finding
        relevant = [(p, r) for proto, p, r in active if proto in (protocol, ALL)]
        for ports, found_rules in _open_intervals(relevant):
            found[(protocol, str(ports))] = found_rules
    return found


def _open_intervals(rules: list[tuple[PortRange, Rule]]) -> list[tuple[PortRange, list[Rule]]]:
    """Maximal port intervals over which the sources of the covering rules add up to the internet."""
    bounds = sorted({p.low for p, _ in rules} | {p.high + 1 for p, _ in rules})
    opened: list[tuple[PortRange, list[Rule]]] = []
    for low, next_low in itertools.pairwise(bounds):
        covering = [r for p, r in rules if p.low <= low <= p.high]
        networks = [r.peer.network for r in covering if isinstance(r.peer, CidrPeer)]
        if not covering or not covers_whole_internet(networks):
            continue
        if opened and opened[-1][0].high == low - 1 and {id(r) for r in opened[-1][1]} == {id(r) for r in covering}:
            opened[-1] = (PortRange(opened[-1][0].low, next_low - 1), covering)
        else:
            opened.append((PortRange(low, next_low - 1), covering))
    return opened


def _may_be_internet(rule: Rule) -> bool:
    """A rule the scan cannot see through: an unknown source, or an internet source under an
    undecidable condition that is not a named one (named ones are tried case by case)."""
    if isinstance(rule.peer, UnresolvedPeer):
        return rule.peer.may_be_internet
    return (
        isinstance(rule.condition, Unresolved)
        and isinstance(rule.peer, CidrPeer)
        and bool(covers_whole_internet([rule.peer.network]))
    )


def _exposed(
    policy: Policy,
    ctx: Context,
    view: ClusterView,
    group: SecurityGroup,
    attached_to: str,
    service: Service,
    rules: list[Rule],
) -> Finding:
    protocol, ports = service
    sources = ", ".join(sorted({str(r.peer) for r in rules}))
    shown = "all traffic" if protocol == "all" else f"{protocol.upper()} {ports}"
    rule = min(rules, key=_by_name)
    remote = group.origin is SgOrigin.REMOTE_ACCESS
    if remote:
        what = (f"{group.name} admits {shown} from {sources} (the whole internet) because remote access "
                "names no source security groups")  # fmt: skip
        fix = "name SourceSecurityGroups / source_security_group_ids in the remote access settings"
    else:
        what = f"{group.name} (on {attached_to}) admits {shown} from {sources}, the whole internet"
        fix = f"restrict the source of this rule to the CIDRs or security groups that need {shown}"
    doc = next((r for r in policy.rows if ("remote access" in r.row.lower()) == remote), policy.doc)
    return ctx.violated(
        policy, f"{what}. To fix: {fix}.", rule.provenance, view=view,
        node_group=None if policy.check["target"] == CONTROL_PLANE else attached_to,
        peer=f"{group.key}|{protocol}|{ports}", fix=fix, doc=doc,
    )  # fmt: skip


def evaluate_forbidden_connectivity(policy: Policy, ctx: Context) -> Iterator[Finding]:
    """Ports the control plane should not reach; only rules written in the code count, since the
    defaults EKS creates (all traffic within the cluster group) are the documented baseline."""
    check = policy.check
    ports = parse_ports(check["ports"])
    if "except" in check:
        ports = ports.difference(parse_ports(check["except"]))
    for view in ctx.topology.clusters:
        cp = view.control_plane
        if cp is None:
            continue
        for ng in view.node_groups:
            for protocol in check["protocols"]:
                yield from _privileged(policy, ctx, view, cp, ng.endpoint, protocol, ports)


def _privileged(
    policy: Policy, ctx: Context, view: ClusterView, cp: Endpoint, node: Endpoint, protocol: str, ports: PortSet
) -> Iterator[Finding]:
    """Violated when the code opens the ports in every case; unverified when only in some."""
    exposures = []
    for case in ctx.cases:
        reach = ctx.as_written.reach(cp, node, protocol, ports, case)
        written = _written_grants(reach.ingress.grants if reach.ingress else ())
        exposures.append((reach.allowed.intersection(PortSet.of(p for _, p in written)), written))
    if all(exposed for exposed, _ in exposures):
        exposed, written = exposures[0]
        rule = min((r for r, p in written if PortSet((p,)).intersection(exposed)), key=_by_name)
        fix = "limit the rule to TCP 443 and 1025-65535 unless something on the nodes serves a privileged port"
        message = (
            f"{cp.name} can reach node group {node.name} on privileged {protocol.upper()} "
            f"{exposed} through this rule. To fix: {fix}."
        )
        yield ctx.violated(policy, message, rule.provenance, view=view, node_group=node.name,
                           peer=f"{node.key}|{protocol}", fix=fix)  # fmt: skip
    elif any(exposed for exposed, _ in exposures):
        subject, guards = f"{cp.name} -> node group {node.name}", ctx.guards_of(cp, node)
        peer = f"{node.key}|{protocol}"
        finding = ctx.unverified(policy, subject, guards, node.provenance, view=view, node_group=node.name, peer=peer)
        if finding is not None:
            yield finding


def _by_name(rule: Rule) -> tuple[str, str, int]:
    """Which of several rules a finding names: by resource name first, so that moving resources
    around in a file does not change the finding's fingerprint."""
    return (rule.provenance.resource, rule.provenance.file, rule.provenance.line)


def _written_grants(grants: tuple[Rule, ...]) -> list[tuple[Rule, PortRange]]:
    """Grants written in the code for a group (not EKS/EC2 defaults, not CIDRs, which EKS301/302 judge)."""
    return [
        (r, r.ports)
        for r in grants
        if r.form is not RuleForm.IMPLICIT and isinstance(r.peer, SgPeer) and isinstance(r.ports, PortRange)
    ]

"""Connectivity requirements: a rule that must exist (EKS101-EKS107), judged per pair of endpoints."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence

from ..findings import Finding, RuleFix
from ..model import Direction, Unresolved, in_case, why_of
from ..net import PortSet, parse_ports
from ..policies import Policy
from ..reachability import Reach
from ..topology import CONTROL_PLANE, NODE_GROUP, ClusterView, Endpoint
from .context import Context

OUTSIDE_VPC = "outside-vpc"


def evaluate_connectivity(policy: Policy, ctx: Context) -> Iterator[Finding]:
    check = policy.check
    ports = parse_ports(check["ports"])
    protocols: Sequence[str] = check["protocols"]
    for view in ctx.topology.clusters:
        for src, dst in endpoint_pairs(view, check["from"], check["to"]):
            if src is None or (dst is None and check["to"] != OUTSIDE_VPC):
                finding = _control_plane_unknown(policy, ctx, view, src or dst)
            else:
                # Only the cases in which both ends exist: a node group under a condition has no
                # requirement where the condition makes it absent.
                cases = [c for c in ctx.cases if _exists(src, c) and (dst is None or _exists(dst, c))]
                finding = _judge_cases(policy, ctx, view, src, dst, cases, [
                    [ctx.index.reach(src, dst, p, ports, case) if dst else ctx.index.reach_outside(src, p, ports, case)
                     for p in protocols]
                    for case in cases
                ])  # fmt: skip
            if finding is not None:
                yield finding


def _judge_cases(
    policy: Policy,
    ctx: Context,
    view: ClusterView,
    src: Endpoint,
    dst: Endpoint | None,
    cases: list[dict[str, bool] | None],
    per_case: list[list[Reach]],
) -> Finding | None:
    """One case: judge it. Several (undecided conditions tried both ways): a gap in every case is a
    violation, no gap in any case is a pass, anything else depends on the conditions. No case: the
    two ends never exist together."""
    if len(per_case) == 1:
        return _judge(policy, ctx, view, src, dst, per_case[0], cases[0])
    verdicts = [
        _judge(policy, ctx, view, src, dst, reaches, case) for reaches, case in zip(per_case, cases, strict=True)
    ]
    if all(v is None for v in verdicts):
        return None
    if all(v is not None and v.status == "violated" for v in verdicts):
        return verdicts[0]
    node = src if src.role == NODE_GROUP else dst
    unknowns = [u for reaches in per_case for r in reaches for u in r.unknowns]
    guards = [*(why_of(e.condition) for e in (src, dst) if e is not None and e.condition), *ctx.guards_of(src, dst)]
    return ctx.unverified(
        policy, _subject(src, dst), [*guards, *unknowns], (node or src).provenance, view=view,
        node_group=node.name if node else None, peer=dst.key if dst else None,
    )  # fmt: skip


def endpoint_pairs(
    view: ClusterView, src_role: str, dst_role: str
) -> Iterator[tuple[Endpoint | None, Endpoint | None]]:
    nodes = [ng.endpoint for ng in view.node_groups]
    cp = view.control_plane
    if src_role == NODE_GROUP and dst_role == CONTROL_PLANE:
        yield from ((n, cp) for n in nodes)
    elif src_role == CONTROL_PLANE and dst_role == NODE_GROUP:
        yield from ((cp, n) for n in nodes)
    elif src_role == NODE_GROUP and dst_role == NODE_GROUP:
        yield from ((a, b) for a in nodes for b in nodes)
    elif src_role == NODE_GROUP and dst_role == OUTSIDE_VPC:
        yield from ((n, None) for n in nodes)


def _exists(end: Endpoint, case: dict[str, bool] | None) -> bool:
    return in_case(end.condition, case)[0]


def _control_plane_unknown(policy: Policy, ctx: Context, view: ClusterView, node: Endpoint | None) -> Finding | None:
    if node is None:
        return None
    why = view.unidentified or Unresolved("the control plane could not be identified", node.provenance)
    return ctx.unverified(
        policy, f"{_describe(node)} and its control plane", [why], node.provenance, view=view, node_group=node.name
    )


def _judge(
    policy: Policy,
    ctx: Context,
    view: ClusterView,
    src: Endpoint,
    dst: Endpoint | None,
    reaches: list[Reach],
    case: dict[str, bool] | None,
) -> Finding | None:
    node = src if src.role == NODE_GROUP else dst
    node_name = node.name if node else None
    subject = _subject(src, dst)
    blocked = [r for r in reaches if r.blocked]
    condition = in_case(src.condition, case)[1] or (in_case(dst.condition, case)[1] if dst else None)
    if blocked and condition is None:
        return _violation(policy, ctx, view, src, dst, reaches, blocked, node_name)
    unknowns = [u for r in reaches for u in r.unknowns] + ([why_of(condition)] if condition else [])
    if blocked or any(r.unknown for r in reaches):
        fallback = (node or src).provenance
        return ctx.unverified(
            policy, subject, unknowns, fallback, view=view, node_group=node_name, peer=dst.key if dst else None
        )
    return None


def _violation(
    policy: Policy,
    ctx: Context,
    view: ClusterView,
    src: Endpoint,
    dst: Endpoint | None,
    reaches: list[Reach],
    blocked: list[Reach],
    node_name: str | None,
) -> Finding:
    wanted = " and ".join(_proto_ports(r.protocol, r.required) for r in reaches)
    egress_missing = _join(_proto_ports(r.protocol, r.blocked_by_egress) for r in blocked if r.blocked_by_egress)
    ingress_missing = _join(_proto_ports(r.protocol, r.blocked_by_ingress) for r in blocked if r.blocked_by_ingress)
    missing = _join(_proto_ports(r.protocol, r.blocked) for r in blocked)
    sides, fixes = [], []
    other_name = ctx.group_name(dst) if dst else "0.0.0.0/0 (or a prefix list / VPC endpoint for AWS services)"
    if egress_missing:
        sides.append(f"the egress of {ctx.group_name(src)}")
        fixes.append(f"an egress rule on {ctx.group_name(src)}: {egress_missing} to {other_name}")
    if ingress_missing and dst:
        sides.append(f"the ingress of {ctx.group_name(dst)}")
        fixes.append(f"an ingress rule on {ctx.group_name(dst)}: {ingress_missing} from {ctx.group_name(src)}")
    # The line points where traffic is stopped: the receiver's group if it blocks, else the sender's.
    target = dst if ingress_missing and dst else src
    group = ctx.fix_group(target)
    where = group.provenance if group else target.provenance
    allowed = [r for r in blocked if r.allowed]
    partial = ""
    if allowed:
        partial = " (only " + _join(_proto_ports(r.protocol, r.allowed) for r in allowed) + " is allowed)"
    fix = "add " + ", and ".join(fixes)
    message = (
        f"{_subject(src, dst)} needs {wanted}, but {missing} is blocked by {' and '.join(sides)}{partial}. "
        f"To fix: {fix}."
    )
    doc = policy.doc_for("ingress" if ingress_missing and dst else "egress")
    return ctx.violated(
        policy, message, where, view=view, node_group=node_name, peer=dst.key if dst else OUTSIDE_VPC, fix=fix,
        doc=doc, rule_fixes=_rule_fixes(ctx, src, dst, blocked),
    )  # fmt: skip


def _rule_fixes(ctx: Context, src: Endpoint, dst: Endpoint | None, blocked: list[Reach]) -> tuple[RuleFix, ...]:
    """The rules that close the gap: egress on the sender's group, ingress on the receiver's."""
    sender, receiver = ctx.fix_group(src), ctx.fix_group(dst) if dst else None
    fixes: list[RuleFix] = []
    for reach in blocked:
        out, into = reach.blocked_by_egress, reach.blocked_by_ingress
        if out and sender is not None and dst is None:
            fixes.append(RuleFix(Direction.EGRESS, sender.key, None, reach.protocol, out, cidr="0.0.0.0/0"))
        elif out and sender is not None and receiver is not None:
            fixes.append(RuleFix(Direction.EGRESS, sender.key, receiver.key, reach.protocol, out))
        if into and receiver is not None and sender is not None:
            fixes.append(RuleFix(Direction.INGRESS, receiver.key, sender.key, reach.protocol, into))
    return tuple(fixes)


def _join(parts: Iterable[str]) -> str:
    items = list(parts)
    if len(items) < 2:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def _subject(src: Endpoint, dst: Endpoint | None) -> str:
    if dst is None:
        return f"{_describe(src)} -> outside the VPC"
    if src.key == dst.key:
        return f"traffic within {_describe(src)}"
    return f"{_describe(src)} -> {_describe(dst)}"


def _describe(endpoint: Endpoint) -> str:
    return endpoint.name if endpoint.role == CONTROL_PLANE else f"node group {endpoint.name}"


def _proto_ports(protocol: str, ports: PortSet) -> str:
    if protocol == "all":
        return "all traffic"
    return f"{protocol.upper()} {ports}"

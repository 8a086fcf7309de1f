"""Two-sided, three-valued reachability between endpoints.

Traffic from A to B on a port flows when some group of A allows it out to B AND some group of B
allows it in from A (groups are stateful: replies need nothing). Each side is computed as port
sets: `allowed` (proven by a known rule), `maybe` (a rule or group the scan cannot see fully);
the rest of the required ports is blocked.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from itertools import product

from .model import (
    CidrPeer,
    Direction,
    Guard,
    NoPeer,
    Peer,
    PrefixListPeer,
    Provenance,
    Rule,
    RuleForm,
    SgKey,
    SgPeer,
    Unresolved,
    UnresolvedPeer,
    in_case,
    why_of,
)
from .net import (
    EVERY_PORT,
    NO_PORTS,
    IPNetwork,
    PortRange,
    PortSet,
    is_whole_internet,
    may_hold_vpc_addresses,
    protocol_matches,
    reaches_outside,
)
from .topology import Endpoint, Topology

YES, MAYBE, NO = "yes", "maybe", "no"
MAX_CASE_CONDITIONS = 4  # up to 16 cases are tried one by one; beyond that, guarded rules are "maybe"


@dataclass(frozen=True, slots=True)
class SideCoverage:
    """What one side (the sender's egress or the receiver's ingress) allows of the required ports."""

    direction: Direction
    required: PortSet
    allowed: PortSet
    maybe: PortSet
    grants: tuple[Rule, ...]  # rules that prove some allowed ports
    unknowns: tuple[Unresolved, ...]  # why some ports are only "maybe"
    passing: PortSet = field(init=False)  # required ports this side allows
    blocking: PortSet = field(init=False)  # required ports this side certainly blocks

    def __post_init__(self) -> None:
        # Computed once per side: sides are cached and shared by many pairs of ends.
        object.__setattr__(self, "passing", self.required.intersection(self.allowed))
        object.__setattr__(self, "blocking", self.required.difference(self.allowed).difference(self.maybe))


@dataclass(frozen=True, slots=True)
class Reach:
    """One requirement between two ends: allowed, blocked (and by which side) and unknown ports."""

    protocol: str
    required: PortSet
    egress: SideCoverage
    ingress: SideCoverage | None  # None for traffic leaving the VPC
    allowed: PortSet = field(init=False)
    blocked_by_egress: PortSet = field(init=False)
    blocked_by_ingress: PortSet = field(init=False)
    blocked: PortSet = field(init=False)
    unknown: PortSet = field(init=False)

    def __post_init__(self) -> None:
        # Computed once: the evaluators ask for these many times per pair. Most pairs are fully
        # allowed, so the set operations are skipped where one operand settles the answer.
        egress, ingress = self.egress, self.ingress
        by_egress = egress.blocking
        by_ingress = ingress.blocking if ingress else NO_PORTS
        if ingress is None or ingress.passing == egress.passing:
            allowed = egress.passing
        else:
            allowed = egress.passing.intersection(ingress.passing)
        if not by_ingress or by_ingress == by_egress:
            blocked = by_egress
        else:
            blocked = by_ingress if not by_egress else by_egress.union(by_ingress)
        unknown = NO_PORTS if allowed == self.required else self.required.difference(allowed).difference(blocked)
        for name, value in (
            ("allowed", allowed),
            ("blocked_by_egress", by_egress),
            ("blocked_by_ingress", by_ingress),
            ("blocked", blocked),
            ("unknown", unknown),
        ):
            object.__setattr__(self, name, value)  # fmt: skip

    @property
    def unknowns(self) -> tuple[Unresolved, ...]:
        found = self.egress.unknowns + (self.ingress.unknowns if self.ingress else ())
        return tuple(dict.fromkeys(found))


class ReachabilityIndex:
    """Rules indexed by (group, direction) once, so each question only looks at its own groups.

    A rule resource on a group whose inline blocks are authoritative for its direction (Terraform:
    the provider removes it at the next apply, then it comes back: EKS305) is only possibly in force
    when `contested_in_force` is False (what a requirement may rely on), and in force when True (what
    an exposure check must not overlook)."""

    def __init__(self, topology: Topology, *, contested_in_force: bool = False) -> None:
        self.topology = topology
        self._contested = {} if contested_in_force else _contested(topology)
        self._by_group: dict[tuple[SgKey, Direction], list[Rule]] = defaultdict(list)
        self._floating: dict[Direction, list[Rule]] = defaultdict(list)
        for rule in topology.rules:
            if isinstance(rule.group, str):
                self._by_group[(rule.group, rule.direction)].append(rule)
            elif isinstance(rule.group, Unresolved):
                self._floating[rule.direction].append(rule)
        self._cases = self._all_cases()
        self._side_cache: dict[tuple[object, ...], _SideRules] = {}
        self._cover_cache: dict[tuple[object, ...], SideCoverage] = {}

    @property
    def has_contested_rules(self) -> bool:
        return bool(self._contested)

    def rules_of(self, group: SgKey, direction: Direction) -> Sequence[Rule]:
        return self._by_group.get((group, direction), ())

    def reach(
        self, src: Endpoint, dst: Endpoint, protocol: str, ports: PortSet, case: dict[str, bool] | None = None
    ) -> Reach:
        egress = self._side(src, Direction.EGRESS, dst, protocol, ports, case)
        ingress = self._side(dst, Direction.INGRESS, src, protocol, ports, case)
        return Reach(protocol, ports, egress, ingress)

    def reach_outside(self, src: Endpoint, protocol: str, ports: PortSet, case: dict[str, bool] | None = None) -> Reach:
        """Egress of `src` to addresses outside the VPC (the internet, AWS APIs, prefix lists)."""
        egress = self._side(src, Direction.EGRESS, None, protocol, ports, case)
        return Reach(protocol, ports, egress, None)

    def cases(self) -> list[dict[str, bool] | None]:
        """Every assignment of the guard conditions, when there are few enough to try them all."""
        return self._cases

    def _all_cases(self) -> list[dict[str, bool] | None]:
        guards = [r.condition for r in self.topology.rules if isinstance(r.condition, Guard)]
        ends = (ng.endpoint for view in self.topology.clusters for ng in view.node_groups)
        guards.extend(e.condition for e in ends if isinstance(e.condition, Guard))
        names = sorted({name for guard in guards for name, _ in guard.terms})
        if not names or len(names) > MAX_CASE_CONDITIONS:
            return [None]
        return [dict(zip(names, values, strict=True)) for values in product((True, False), repeat=len(names))]

    def _side(
        self,
        own: Endpoint,
        direction: Direction,
        other: Endpoint | None,
        protocol: str,
        required: PortSet,
        case: dict[str, bool] | None = None,
    ) -> SideCoverage:
        # The answer depends on the other end only through the groups this side's rules name, so ends
        # that look alike from here (all node groups that share a group, say) share one computation.
        if other is None:
            key: tuple[object, ...] = (own.groups, own.unknown_groups, direction, protocol, required, _case_key(case))
        else:
            side = self._side_rules(own, direction, protocol, case)
            relevant = tuple(k for k in other.groups if k in side.by_peer)
            unknown = other.unknown_groups[0] if other.unknown_groups else None
            key = (own.groups, own.unknown_groups, direction, protocol, required, _case_key(case), relevant, unknown)
        cached = self._cover_cache.get(key)
        if cached is None:
            cached = self._cover(own, direction, other, protocol, required, case)
            self._cover_cache[key] = cached
        return cached

    def _cover(
        self,
        own: Endpoint,
        direction: Direction,
        other: Endpoint | None,
        protocol: str,
        required: PortSet,
        case: dict[str, bool] | None,
    ) -> SideCoverage:
        allowed_ranges: list[PortRange] = []
        grants: list[Rule] = []
        maybes: list[tuple[PortSet, Unresolved]] = []
        for ports, rule, reason in self._matching(own, direction, other, protocol, case):
            if not ports.overlaps(required):
                continue
            if reason is None:
                allowed_ranges.extend(ports.ranges)
                grants.append(rule)
            else:
                maybes.append((ports, reason))
        allowed = PortSet.of(allowed_ranges)
        for key in own.groups:
            group = self.topology.group(key)
            if group is None or not group.complete:
                maybes.append((required, _external(key, group.name if group else key, direction, group)))
        maybes.extend((required, unknown) for unknown in own.unknown_groups)
        # Only what could change the verdict counts: ports already proven allowed need no more evidence.
        open_ports = required.difference(allowed)
        relevant = [(p, why) for p, why in maybes if p.overlaps(open_ports)]
        maybe = PortSet.of(r for p, _ in relevant for r in p.ranges)
        unknowns = tuple(dict.fromkeys(why for _, why in relevant))
        return SideCoverage(direction, required, allowed, maybe.difference(allowed), tuple(grants), unknowns)

    def _matching(
        self, own: Endpoint, direction: Direction, other: Endpoint | None, protocol: str, case: dict[str, bool] | None
    ) -> Iterator[Match]:
        """The rules of `own` that let `protocol` through to/from `other`: (ports, rule, None) when they
        certainly do, (ports, rule, why) when they may."""
        if other is None:
            for rule, condition in self._active(own, direction, case):
                verdict, ports, why = self._rule_grants(rule, None, protocol)
                if verdict != NO:
                    yield ports, rule, _certain(verdict, rule, condition, why)
            return
        side = self._side_rules(own, direction, protocol, case)
        yield from side.fixed
        for key in other.groups:
            yield from side.by_peer.get(key, ())
        if other.unknown_groups:
            why = other.unknown_groups[0]
            known = set(other.groups)
            for key, matches in side.by_peer.items():
                if key not in known:
                    yield from ((ports, rule, why) for ports, rule, _ in matches)

    def _side_rules(
        self, own: Endpoint, direction: Direction, protocol: str, case: dict[str, bool] | None
    ) -> _SideRules:
        """Rules of one side sorted once: those whose verdict does not depend on the other end, and
        group-to-group rules by the group they name (so each question looks only at its own groups)."""
        cache_key = (own.groups, direction, protocol, _case_key(case))
        cached = self._side_cache.get(cache_key)
        if cached is not None:
            return cached
        side = _SideRules()
        for rule, condition in self._active(own, direction, case):
            if isinstance(rule.peer, SgPeer) and not isinstance(rule.protocol, Unresolved) \
                    and not isinstance(rule.ports, Unresolved):  # fmt: skip
                if protocol_matches(rule.protocol, protocol):
                    match = (PortSet((rule.ports,)), rule, _certain(YES, rule, condition, None))
                    side.by_peer.setdefault(rule.peer.key, []).append(match)
                continue
            verdict, ports, why = self._rule_grants(rule, _ANY_END, protocol)
            if verdict != NO:
                side.fixed.append((ports, rule, _certain(verdict, rule, condition, why)))
        self._side_cache[cache_key] = side
        return side

    def _active(
        self, own: Endpoint, direction: Direction, case: dict[str, bool] | None
    ) -> Iterator[tuple[Rule, Unresolved | Guard | None]]:
        """Rules of the side that exist in `case`, with the condition that still applies to them."""
        candidates = [r for g in own.groups for r in self.rules_of(g, direction)]
        candidates.extend(self._floating.get(direction, ()))
        for rule in candidates:
            exists, condition = in_case(rule.condition, case)
            if exists:
                yield rule, condition or self._contested.get(id(rule))

    def _rule_grants(self, rule: Rule, other: Endpoint | None, protocol: str) -> tuple[str, PortSet, Unresolved | None]:
        if isinstance(rule.protocol, Unresolved):
            ports = PortSet((rule.ports,)) if not isinstance(rule.ports, Unresolved) else EVERY_PORT
            return MAYBE, ports, rule.protocol
        if not protocol_matches(rule.protocol, protocol):
            return NO, NO_PORTS, None
        if isinstance(rule.ports, Unresolved):
            return MAYBE, EVERY_PORT, rule.ports
        verdict, why = self._peer_matches(rule.peer, other)
        return verdict, PortSet((rule.ports,)), why

    def _peer_matches(self, peer: Peer, other: Endpoint | None) -> tuple[str, Unresolved | None]:
        if isinstance(peer, NoPeer):
            return NO, None
        if isinstance(peer, UnresolvedPeer):
            return MAYBE, peer.value
        if other is None:
            return self._leaves_vpc(peer)
        if isinstance(peer, SgPeer):
            if peer.key in other.groups:
                return YES, None
            return (MAYBE, other.unknown_groups[0]) if other.unknown_groups else (NO, None)
        if isinstance(peer, PrefixListPeer):
            return MAYBE, None
        return self._cidr_holds_endpoint(peer.network), None

    def _leaves_vpc(self, peer: Peer) -> tuple[str, Unresolved | None]:
        if isinstance(peer, PrefixListPeer):
            return YES, None
        if isinstance(peer, CidrPeer) and reaches_outside(peer.network, self.topology.vpc_cidrs):
            return YES, None
        return NO, None

    def _cidr_holds_endpoint(self, network: IPNetwork) -> str:
        if is_whole_internet(network):
            return YES
        vpcs = [v for v in self.topology.vpc_cidrs if v.version == network.version]
        if vpcs:
            if any(network.supernet_of(v) for v in vpcs):  # type: ignore[arg-type]
                return YES
            return MAYBE if any(network.overlaps(v) for v in vpcs) else NO
        return MAYBE if may_hold_vpc_addresses(network) else NO


Match = tuple[PortSet, Rule, "Unresolved | None"]  # (ports, rule, why it is only possible; None: certain)


@dataclass(slots=True)
class _SideRules:
    fixed: list[Match] = field(default_factory=list)
    by_peer: dict[SgKey, list[Match]] = field(default_factory=dict)


# An end with no groups: rules whose verdict depends on the other end's groups are never asked with it.
_ANY_END = Endpoint(role="", key="", name="", provenance=Provenance("", 0, ""), groups=())


def _contested(topology: Topology) -> dict[int, Unresolved]:
    """Rule resources that inline blocks of their group will remove, by identity, with why."""
    found: dict[int, Unresolved] = {}
    for rule in topology.rules:
        group = topology.group(rule.group) if isinstance(rule.group, str) else None
        if rule.form is RuleForm.STANDALONE and group is not None and rule.direction in group.has_inline:
            found[id(rule)] = Unresolved(
                f"{rule.provenance.resource} is a rule resource on {group.name}, whose inline "
                f"{rule.direction.value} rules are authoritative (the whole {rule.direction.value} of the group): "
                "the rule is removed at the next apply and added back at the one after (EKS305)",
                rule.provenance,
                f"move it into the inline {rule.direction.value} blocks of {group.name}, or move all of them "
                "into rule resources",
            )
    return found


def _case_key(case: dict[str, bool] | None) -> tuple[tuple[str, bool], ...] | None:
    return tuple(sorted(case.items())) if case else None


def _certain(
    verdict: str, rule: Rule, condition: Unresolved | Guard | None, why: Unresolved | None
) -> Unresolved | None:
    """None when the rule certainly grants; otherwise why it only may."""
    if verdict == YES and condition is None and isinstance(rule.group, str):
        return None
    return why or (why_of(condition) if condition is not None else None) or _floating(rule)


def _external(key: SgKey, name: str, direction: Direction, group: object) -> Unresolved:
    from .model import SecurityGroup

    where = group.provenance if isinstance(group, SecurityGroup) else Provenance("", 0, key)
    return Unresolved(
        f"{direction.value} rules of {name} are not all in this scan (the group is created elsewhere)",
        where,
        "scan the template or module that creates it together with this one",
    )


def _floating(rule: Rule) -> Unresolved:
    if isinstance(rule.group, Unresolved):
        return rule.group
    return Unresolved("a rule whose peer cannot be decided", rule.provenance)


def union_ports(reaches: Iterable[Reach]) -> PortSet:
    out = NO_PORTS
    for reach in reaches:
        out = out.union(reach.allowed)
    return out

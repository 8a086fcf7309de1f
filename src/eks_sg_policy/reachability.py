"""Two-sided, three-valued reachability between endpoints.

Traffic from A to B on a port flows when some group of A allows it out to B AND some group of B
allows it in from A (groups are stateful: replies need nothing). Each side is computed as port
sets: `allowed` (proven by a known rule), `maybe` (a rule or group the scan cannot see fully);
the rest of the required ports is blocked.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import product

from .model import (
    CidrPeer,
    Direction,
    Guard,
    NoPeer,
    Peer,
    PrefixListPeer,
    Rule,
    SgKey,
    SgPeer,
    Unresolved,
    UnresolvedPeer,
)
from .net import (
    EVERY_PORT,
    NO_PORTS,
    IPNetwork,
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
    """What one side (the sender's egress or the receiver's ingress) allows."""

    direction: Direction
    allowed: PortSet
    maybe: PortSet
    grants: tuple[Rule, ...]  # rules that prove some allowed ports
    unknowns: tuple[Unresolved, ...]  # why some ports are only "maybe"

    def blocked(self, required: PortSet) -> PortSet:
        return required.difference(self.allowed).difference(self.maybe)


@dataclass(frozen=True, slots=True)
class Reach:
    protocol: str
    required: PortSet
    egress: SideCoverage
    ingress: SideCoverage | None  # None for traffic leaving the VPC

    @property
    def allowed(self) -> PortSet:
        ports = self.required.intersection(self.egress.allowed)
        return ports.intersection(self.ingress.allowed) if self.ingress else ports

    @property
    def blocked_by_egress(self) -> PortSet:
        return self.egress.blocked(self.required)

    @property
    def blocked_by_ingress(self) -> PortSet:
        return self.ingress.blocked(self.required) if self.ingress else NO_PORTS

    @property
    def blocked(self) -> PortSet:
        return self.blocked_by_egress.union(self.blocked_by_ingress)

    @property
    def unknown(self) -> PortSet:
        return self.required.difference(self.allowed).difference(self.blocked)

    @property
    def unknowns(self) -> tuple[Unresolved, ...]:
        found = self.egress.unknowns + (self.ingress.unknowns if self.ingress else ())
        return tuple(dict.fromkeys(found))


class ReachabilityIndex:
    """Rules indexed by (group, direction) once, so each question only looks at its own groups."""

    def __init__(self, topology: Topology) -> None:
        self.topology = topology
        self._by_group: dict[tuple[SgKey, Direction], list[Rule]] = defaultdict(list)
        self._floating: dict[Direction, list[Rule]] = defaultdict(list)
        for rule in topology.rules:
            if isinstance(rule.group, str):
                self._by_group[(rule.group, rule.direction)].append(rule)
            elif isinstance(rule.group, Unresolved):
                self._floating[rule.direction].append(rule)
        self._cases = self._all_cases()

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
        terms = (t for r in self.topology.rules if isinstance(r.condition, Guard) for t in r.condition.terms)
        names = sorted({name for name, _ in terms})
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
        allowed = NO_PORTS
        grants: list[Rule] = []
        maybes: list[tuple[PortSet, Unresolved]] = []
        candidates: list[Rule] = [r for g in own.groups for r in self.rules_of(g, direction)]
        candidates.extend(self._floating.get(direction, ()))
        for rule in candidates:
            condition = rule.condition
            if isinstance(condition, Guard) and case is not None:
                if not condition.holds(case):
                    continue
                condition = None
            verdict, ports, why = self._rule_grants(rule, other, protocol)
            if verdict == NO or not ports.intersection(required):
                continue
            if verdict == YES and condition is None and isinstance(rule.group, str):
                allowed = allowed.union(ports)
                grants.append(rule)
            else:
                reason = why or (condition.why if isinstance(condition, Guard) else condition) or _floating(rule)
                maybes.append((ports, reason))
        for key in own.groups:
            group = self.topology.group(key)
            if group is None or not group.complete:
                maybes.append((required, _external(key, group.name if group else key, direction, group)))
        maybes.extend((required, unknown) for unknown in own.unknown_groups)
        # Only what could change the verdict counts: ports already proven allowed need no more evidence.
        open_ports = required.difference(allowed)
        relevant = [(p, why) for p, why in maybes if p.intersection(open_ports)]
        maybe = NO_PORTS
        for ports, _ in relevant:
            maybe = maybe.union(ports)
        unknowns = tuple(dict.fromkeys(why for _, why in relevant))
        return SideCoverage(direction, allowed, maybe.difference(allowed), tuple(grants), unknowns)

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


def _external(key: SgKey, name: str, direction: Direction, group: object) -> Unresolved:
    from .model import Provenance, SecurityGroup

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

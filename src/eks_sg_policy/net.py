"""Port, protocol and CIDR arithmetic.

Everything that compares ports, protocols or address ranges lives here, so that no other
module ever compares a CIDR as a string or a port as text.
"""

from __future__ import annotations

import ipaddress
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

MIN_PORT = 0
MAX_PORT = 65535

ALL = "all"
TCP = "tcp"
UDP = "udp"
ICMP = "icmp"
ICMPV6 = "icmpv6"

_PROTOCOL_ALIASES: dict[str, str] = {
    "-1": ALL,
    "all": ALL,
    "6": TCP,
    "tcp": TCP,
    "17": UDP,
    "udp": UDP,
    "1": ICMP,
    "icmp": ICMP,
    "58": ICMPV6,
    "icmpv6": ICMPV6,
}

# Protocols whose rules carry a port range; for every other protocol EC2 ignores the ports.
PORTED_PROTOCOLS = frozenset({TCP, UDP})


class NetValueError(ValueError):
    """A protocol, port or CIDR value that EC2 would reject."""


def normalize_protocol(value: object) -> str:
    """Return the canonical protocol name (`all`, `tcp`, `udp`, `icmp`, `icmpv6` or a number).

    Accepts the forms CloudFormation and Terraform use: names in any case, IANA numbers as
    int or str, and `-1` for every protocol.
    """
    if isinstance(value, bool):
        raise NetValueError(f"protocol must be a name or number, not {value!r}")
    text = str(value).strip().lower()
    if text in _PROTOCOL_ALIASES:
        return _PROTOCOL_ALIASES[text]
    if text.isdigit() and 0 <= int(text) <= 255:
        return str(int(text))
    raise NetValueError(f"unknown IP protocol {value!r}")


def protocol_matches(rule_protocol: str, wanted: str) -> bool:
    """Whether a rule for `rule_protocol` lets traffic of protocol `wanted` through."""
    if rule_protocol == ALL:
        return True
    return rule_protocol == wanted


@dataclass(frozen=True, slots=True, order=True)
class PortRange:
    """An inclusive interval of ports."""

    low: int
    high: int

    def __post_init__(self) -> None:
        if not (MIN_PORT <= self.low <= self.high <= MAX_PORT):
            raise NetValueError(f"invalid port range {self.low}-{self.high}")

    def __str__(self) -> str:
        if self.low == self.high:
            return str(self.low)
        if self.low == MIN_PORT and self.high == MAX_PORT:
            return "all ports"
        return f"{self.low}-{self.high}"

    @classmethod
    def single(cls, port: int) -> PortRange:
        return cls(port, port)

    def contains(self, port: int) -> bool:
        return self.low <= port <= self.high


ALL_PORTS = PortRange(MIN_PORT, MAX_PORT)


_PORT_TEXT = re.compile(r"-?[0-9]+")
_PORT_OUT_OF_RANGE = "port out of range (ports are 0-65535)"
_PORT_LIMIT = 10**6  # beyond it a value is refused without being formatted: it may have thousands of digits


def parse_port(value: object) -> int:
    """A port number from an int or a numeric string; -1 (ICMP "any") is not a port."""
    if isinstance(value, str):
        text = value.strip()
        if _PORT_TEXT.fullmatch(text) is None:
            raise NetValueError(f"port must be a number, not {_shorten(value)}")
        sign, digits = ("-", text[1:]) if text.startswith("-") else ("", text)
        digits = digits.lstrip("0") or "0"
        if len(digits) > 6:  # never int() of thousands of digits (Python refuses it)
            raise NetValueError(_PORT_OUT_OF_RANGE)
        return int(sign + digits)
    if isinstance(value, float) and (value.is_integer() or math.isinf(value)):
        if not -_PORT_LIMIT < value < _PORT_LIMIT:
            raise NetValueError(_PORT_OUT_OF_RANGE)
        return int(value)
    if isinstance(value, int) and not isinstance(value, bool):
        if not -_PORT_LIMIT < value < _PORT_LIMIT:
            raise NetValueError(_PORT_OUT_OF_RANGE)
        return value
    raise NetValueError(f"port must be a number, not {_shorten(value)}")


def _shorten(value: object) -> str:
    """`repr(value)`, cut short for a long string (a message quotes it on one line)."""
    if isinstance(value, str) and len(value) > 40:
        return repr(value[:40]) + "..."
    return repr(value)


def port_range(protocol: str, from_port: object, to_port: object) -> PortRange:
    """The port interval of a rule, following EC2: non-TCP/UDP rules cover every port."""
    if protocol not in PORTED_PROTOCOLS:
        return ALL_PORTS
    low, high = parse_port(from_port), parse_port(to_port)
    if low == -1 and high == -1:
        return ALL_PORTS
    if low < MIN_PORT or high > MAX_PORT:
        raise NetValueError(f"port out of range: {low}-{high} (ports are 0-65535)")
    if low > high:
        raise NetValueError(f"FromPort {low} is greater than ToPort {high}")
    return PortRange(low, high)


def parse_ports(text: str) -> PortSet:
    """Parse `"443"`, `"1025-65535"`, `"all"` or comma-separated lists of those."""
    ranges: list[PortRange] = []
    for part in str(text).split(","):
        part = part.strip()
        if part in ("all", "*", ""):
            ranges.append(ALL_PORTS)
        elif "-" in part:
            low, high = part.split("-", 1)
            ranges.append(PortRange(int(low), int(high)))
        else:
            ranges.append(PortRange.single(int(part)))
    return PortSet.of(ranges)


@dataclass(frozen=True, slots=True)
class PortSet:
    """A union of port intervals, kept sorted, disjoint and non-adjacent."""

    ranges: tuple[PortRange, ...] = ()

    @classmethod
    def of(cls, ranges: Iterable[PortRange]) -> PortSet:
        merged: list[PortRange] = []
        for current in sorted(ranges):
            if merged and current.low <= merged[-1].high + 1:
                last = merged[-1]
                merged[-1] = PortRange(last.low, max(last.high, current.high))
            else:
                merged.append(current)
        return cls(tuple(merged))

    def __bool__(self) -> bool:
        return bool(self.ranges)

    def __str__(self) -> str:
        return ", ".join(str(r) for r in self.ranges) if self.ranges else "none"

    def overlaps(self, other: PortSet) -> bool:
        return any(a.low <= b.high and b.low <= a.high for a in self.ranges for b in other.ranges)

    def union(self, other: PortSet) -> PortSet:
        return PortSet.of(self.ranges + other.ranges)

    def intersection(self, other: PortSet) -> PortSet:
        out: list[PortRange] = []
        for a in self.ranges:
            for b in other.ranges:
                low, high = max(a.low, b.low), min(a.high, b.high)
                if low <= high:
                    out.append(PortRange(low, high))
        return PortSet.of(out)

    def difference(self, other: PortSet) -> PortSet:
        """The ports of `self` that `other` does not cover."""
        out: list[PortRange] = []
        for a in self.ranges:
            low = a.low
            for b in other.ranges:
                if b.high < low or b.low > a.high:
                    continue
                if b.low > low:
                    out.append(PortRange(low, b.low - 1))
                low = b.high + 1
                if low > a.high:
                    break
            if low <= a.high:
                out.append(PortRange(low, a.high))
        return PortSet.of(out)

    def covers(self, other: PortSet) -> bool:
        return not other.difference(self)

    def count(self) -> int:
        return sum(r.high - r.low + 1 for r in self.ranges)


NO_PORTS = PortSet()
EVERY_PORT = PortSet((ALL_PORTS,))

# Address space that a VPC can be given (RFC 1918, RFC 6598, and the benchmarking range AWS allows).
_PRIVATE_V4 = tuple(
    ipaddress.IPv4Network(n)
    for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "198.19.0.0/16")
)
# IPv6 VPC blocks are globally unique, so any IPv6 range may hold VPC addresses.

INTERNET_V4 = ipaddress.IPv4Network("0.0.0.0/0")
INTERNET_V6 = ipaddress.IPv6Network("::/0")


def parse_cidr(value: object) -> IPNetwork:
    """Parse a CIDR the way EC2 does: host bits are masked, so `1.0.0.0/0` is `0.0.0.0/0`."""
    if not isinstance(value, str):
        raise NetValueError(f"CIDR must be a string, not {value!r}")
    text = value.strip()
    if "/" not in text:
        raise NetValueError(f"CIDR {value!r} has no prefix length")
    try:
        return ipaddress.ip_network(text, strict=False)
    except ValueError as exc:
        raise NetValueError(f"invalid CIDR {value!r}: {exc}") from None


def is_whole_internet(network: IPNetwork) -> bool:
    """Prefix length 0 after masking: every address of its family."""
    return network.prefixlen == 0


def covers_whole_internet(networks: Iterable[IPNetwork]) -> tuple[int, ...]:
    """The IP versions (4, 6) whose whole address space the union of `networks` covers.

    `0.0.0.0/1` plus `128.0.0.0/1` covers IPv4 as surely as `0.0.0.0/0` does.
    """
    by_version: dict[int, list[IPNetwork]] = {4: [], 6: []}
    for net in networks:
        by_version[net.version].append(net)
    covered: list[int] = []
    for version, nets in by_version.items():
        if not nets:
            continue
        collapsed = list(ipaddress.collapse_addresses(nets))  # type: ignore[type-var]
        if any(n.prefixlen == 0 for n in collapsed):
            covered.append(version)
    return tuple(covered)


def may_hold_vpc_addresses(network: IPNetwork) -> bool:
    """Whether a range can overlap a VPC's addresses when the VPC CIDR is not known."""
    if network.version == 6:
        return True
    return any(network.overlaps(private) for private in _PRIVATE_V4)


def reaches_outside(network: IPNetwork, vpc_cidrs: Iterable[IPNetwork]) -> bool:
    """Whether `network` holds addresses outside every given VPC CIDR (and outside private space
    when no VPC CIDR is known)."""
    inside = [n for n in vpc_cidrs if n.version == network.version]
    if network.version == 4 and not inside:
        inside = list(_PRIVATE_V4)
    if not inside:
        return True
    # As address intervals: walk the VPC blocks in order and see whether they leave a gap in `network`.
    low, high = int(network.network_address), int(network.broadcast_address)
    for block in sorted(inside, key=lambda b: int(b.network_address)):
        first, last = int(block.network_address), int(block.broadcast_address)
        if first > low:
            return True
        low = max(low, last + 1)
        if low > high:
            return False
    return True

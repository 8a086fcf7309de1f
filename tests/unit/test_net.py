"""Port, protocol and CIDR arithmetic, on its own."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given
from hypothesis import strategies as st

from eks_sg_policy.net import (
    ALL_PORTS,
    NetValueError,
    PortRange,
    PortSet,
    covers_whole_internet,
    is_whole_internet,
    may_hold_vpc_addresses,
    normalize_protocol,
    parse_cidr,
    parse_port,
    parse_ports,
    port_range,
    protocol_matches,
    reaches_outside,
)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("-1", "all"),
        (-1, "all"),
        ("ALL", "all"),
        ("tcp", "tcp"),
        ("6", "tcp"),
        (6, "tcp"),
        ("UDP", "udp"),
        ("17", "udp"),
        ("icmp", "icmp"),
        ("1", "icmp"),
        ("58", "icmpv6"),
        ("icmpv6", "icmpv6"),
        ("50", "50"),
    ],
)
def test_protocols_are_normalized(raw: object, expected: str) -> None:
    assert normalize_protocol(raw) == expected


@pytest.mark.parametrize("raw", ["tcpp", "256", True, "", "-2"])
def test_unknown_protocols_are_rejected(raw: object) -> None:
    with pytest.raises(NetValueError):
        normalize_protocol(raw)


def test_all_protocols_rule_matches_every_protocol_and_tcp_only_tcp() -> None:
    assert protocol_matches("all", "tcp") and protocol_matches("all", "udp")
    assert protocol_matches("tcp", "tcp") and not protocol_matches("tcp", "udp")


def test_ports_of_all_protocols_and_icmp_are_ignored() -> None:
    assert port_range("all", 443, 443) == ALL_PORTS
    assert port_range("icmp", -1, -1) == ALL_PORTS
    assert port_range("50", 7, 9) == ALL_PORTS


def test_tcp_ports_are_parsed_from_numbers_and_strings() -> None:
    assert port_range("tcp", "1025", 65535) == PortRange(1025, 65535)
    assert port_range("tcp", 443, "443") == PortRange.single(443)
    assert port_range("tcp", -1, -1) == ALL_PORTS


@pytest.mark.parametrize(("low", "high"), [("abc", 1), (70000, 70000), (500, 400), (-5, 10), (True, 1), (1.5, 2)])
def test_invalid_ports_are_rejected(low: object, high: object) -> None:
    with pytest.raises(NetValueError):
        port_range("tcp", low, high)


def test_port_set_union_merges_overlapping_and_adjacent_ranges() -> None:
    merged = PortSet.of([PortRange(443, 443), PortRange(1025, 2000), PortRange(2001, 65535), PortRange(442, 443)])
    assert merged.ranges == (PortRange(442, 443), PortRange(1025, 65535))


def test_port_set_difference_reports_uncovered_sub_ranges() -> None:
    wanted = parse_ports("1025-65535")
    have = PortSet.of([PortRange(1025, 10249), PortRange(10251, 30000)])
    assert str(wanted.difference(have)) == "10250, 30001-65535"
    assert wanted.difference(PortSet((ALL_PORTS,))) == PortSet()


def test_port_set_covers_and_intersection() -> None:
    assert parse_ports("0-65535").covers(parse_ports("53"))
    assert not parse_ports("54-100").covers(parse_ports("53"))
    assert str(parse_ports("0-1024").intersection(parse_ports("443, 1000-2000"))) == "443, 1000-1024"
    assert parse_ports("all").count() == 65536


def test_parse_ports_accepts_lists_and_all() -> None:
    assert str(parse_ports("443, 10250")) == "443, 10250"
    assert parse_ports("all").ranges == (ALL_PORTS,)


def test_host_bits_are_masked_so_1_0_0_0_slash_0_is_the_internet() -> None:
    assert parse_cidr("1.0.0.0/0") == ipaddress.ip_network("0.0.0.0/0")
    assert is_whole_internet(parse_cidr("1.0.0.0/0"))
    assert is_whole_internet(parse_cidr("::/0"))
    assert not is_whole_internet(parse_cidr("0.0.0.0/1"))


@pytest.mark.parametrize("raw", ["10.0.0.0", "10.0.0.0/33", "banana/8", 5, None, "::/129"])
def test_invalid_cidrs_are_rejected(raw: object) -> None:
    with pytest.raises(NetValueError):
        parse_cidr(raw)


def test_halves_of_the_address_space_cover_the_internet() -> None:
    halves = [parse_cidr("0.0.0.0/1"), parse_cidr("128.0.0.0/1")]
    assert covers_whole_internet(halves) == (4,)
    assert covers_whole_internet([parse_cidr("0.0.0.0/1")]) == ()
    assert covers_whole_internet([parse_cidr("::/1"), parse_cidr("8000::/1"), parse_cidr("10.0.0.0/8")]) == (6,)


def test_ipv4_mapped_ipv6_range_is_not_the_ipv6_internet() -> None:
    mapped = parse_cidr("::ffff:0:0/96")
    assert mapped.version == 6 and not is_whole_internet(mapped)
    assert covers_whole_internet([mapped]) == ()


def test_public_ranges_cannot_hold_vpc_addresses_private_ones_can() -> None:
    assert may_hold_vpc_addresses(parse_cidr("10.1.0.0/16"))
    assert may_hold_vpc_addresses(parse_cidr("100.64.0.0/16"))
    assert not may_hold_vpc_addresses(parse_cidr("203.0.113.7/32"))


def test_reaches_outside_the_vpc() -> None:
    vpc = [parse_cidr("10.0.0.0/16")]
    assert reaches_outside(parse_cidr("0.0.0.0/0"), vpc)
    assert not reaches_outside(parse_cidr("10.0.1.0/24"), vpc)
    assert reaches_outside(parse_cidr("10.0.0.0/8"), vpc)
    # Without a known VPC, private space counts as inside.
    assert not reaches_outside(parse_cidr("192.168.0.0/16"), [])
    assert reaches_outside(parse_cidr("52.94.0.0/16"), [])
    assert reaches_outside(parse_cidr("::/0"), vpc)


def _outside_by_exclusion(network: ipaddress.IPv4Network, vpcs: list[ipaddress.IPv4Network]) -> bool:
    """The definition: what is left of `network` once every VPC block is cut out of it."""
    remaining = [network]
    for block in vpcs:
        remaining = [
            piece
            for whole in remaining
            for piece in (
                [whole]
                if not whole.overlaps(block)
                else []
                if block.supernet_of(whole)
                else list(whole.address_exclude(block))
            )
        ]
    return bool(remaining)


@given(
    st.tuples(st.integers(0, 2**32 - 1), st.integers(4, 32)),
    st.lists(st.tuples(st.integers(0, 2**32 - 1), st.integers(4, 32)), min_size=1, max_size=4),
)
def test_reaches_outside_agrees_with_cutting_out_the_vpc_blocks(
    wanted: tuple[int, int], blocks: list[tuple[int, int]]
) -> None:
    def network(address: int, prefix: int) -> ipaddress.IPv4Network:
        return ipaddress.IPv4Network((address, prefix), strict=False)

    vpcs = [network(*b) for b in blocks]
    target = network(*wanted)
    assert reaches_outside(target, vpcs) is _outside_by_exclusion(target, vpcs)


@pytest.mark.parametrize(
    "value",
    [10**5000, -(10**5000), float("inf"), float("-inf"), 1e300, "1" + "0" * 5000, " 1000000 ", "-9999999"],
    ids=["int-5001-digits", "negative-int", "inf", "-inf", "1e300", "text-5001-digits", "1000000", "-9999999"],
)
def test_ports_far_out_of_range_are_refused_without_formatting_them(value: object) -> None:
    with pytest.raises(NetValueError) as caught:
        parse_port(value)
    assert str(caught.value) == "port out of range (ports are 0-65535)"


@pytest.mark.parametrize(
    "value",
    ["abc", "4-3", "--5", "\u0664\u0664\u0663", "x" * 5000, None, [443], 1.5, float("nan"), True],
    ids=["abc", "4-3", "--5", "arabic-indic-digits", "long-text", "None", "list", "1.5", "nan", "True"],
)
def test_ports_that_are_not_whole_numbers_are_refused_with_a_short_message(value: object) -> None:
    with pytest.raises(NetValueError) as caught:
        parse_port(value)
    assert str(caught.value).startswith("port must be a number, not ") and len(str(caught.value)) < 100


def test_ports_within_reach_are_numbers_and_range_checked_later() -> None:
    written = (443, "443", " 443 ", 443.0, "-1", "070000", "0" * 5000 + "443")
    assert [parse_port(v) for v in written] == [443, 443, 443, 443, -1, 70000, 443]
    with pytest.raises(NetValueError, match="port out of range: 0-70000"):
        port_range("tcp", 0, "070000")

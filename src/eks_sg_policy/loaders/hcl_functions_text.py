"""Terraform's string, number, network and encoding functions.

These receive only known values (the dispatcher in `hcl_functions` returns Unknown before
calling them when an argument holds one) and raise EvalError where Terraform would fail.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import json
import math
import posixpath
import re
from collections.abc import Callable

from .hcl_values import EvalError, check_size, equal, normalize_number, to_bool, to_number, to_text, type_name

Impl = Callable[[list[object]], object]
_FORMAT_VERB = re.compile(r"%(?:\[(\d+)\])?([-+# 0]*)(\d+)?(?:\.(\d+))?([a-zA-Z%])")


def _args(args: list[object], name: str, count: int) -> list[object]:
    if len(args) != count:
        raise EvalError(f"{name}(): expects {count} argument(s), got {len(args)}")
    return args


def _texts(args: list[object], name: str, count: int) -> list[str]:
    return [to_text(a, f"{name}() argument") for a in _args(args, name, count)]


def _format(args: list[object]) -> object:
    if not args:
        raise EvalError("format(): needs a format string")
    spec, values = to_text(args[0], "format string"), args[1:]
    position = 0

    def verb(match: re.Match[str]) -> str:
        nonlocal position
        explicit, flags, width, precision, kind = match.groups()
        if kind == "%":
            return "%"
        index = int(explicit) - 1 if explicit else position
        position = index + 1
        if index >= len(values):
            raise EvalError("format(): not enough arguments")
        return _format_one(values[index], kind, flags, width, precision)

    return _FORMAT_VERB.sub(verb, spec)


def _format_one(value: object, kind: str, flags: str, width: str | None, precision: str | None) -> str:
    if kind in ("d", "f", "e", "g", "x", "X", "o", "b"):
        number = to_number(value, "format() argument")
        if kind == "d":
            text = str(int(number))
        elif kind in ("x", "X", "o", "b"):
            text = format(int(number), kind)
        else:
            text = f"{number:.{precision or 6}{kind}}"
    elif kind == "q":
        text = json.dumps(to_text(value, "format() argument"))
    elif kind == "t":
        text = "true" if to_bool(value, "format() argument") else "false"
    elif kind == "v" and isinstance(value, (list, dict)):
        text = json.dumps(value, sort_keys=True, separators=(",", ":"))
    elif kind in ("s", "v"):
        text = to_text(value, "format() argument")
        text = text[: int(precision)] if precision else text
    else:
        raise EvalError(f"format(): unsupported verb %{kind}")
    if width and int(width) > _MAX_WIDTH:
        raise EvalError(f"format(): width {width} is larger than {_MAX_WIDTH}")
    if width:
        text = text.ljust(int(width)) if "-" in flags else text.rjust(int(width), "0" if "0" in flags else " ")
    return text


def _replace(args: list[object]) -> object:
    text, search, replacement = _texts(args, "replace", 3)
    if len(search) > 1 and search.startswith("/") and search.endswith("/"):
        _linear_enough(search[1:-1])
        try:
            return re.sub(search[1:-1], re.sub(r"\$\{?(\w+)\}?", r"\\g<\1>", replacement), text)
        except re.error as exc:
            raise EvalError(f"replace(): invalid regular expression: {exc}") from None
    return text.replace(search, replacement)


def _substr(args: list[object]) -> object:
    text = to_text(_args(args, "substr", 3)[0])
    offset, length = int(to_number(args[1])), int(to_number(args[2]))
    if offset < 0:
        offset = max(0, len(text) + offset)
    return text[offset:] if length < 0 else text[offset : offset + length]


def _split(args: list[object]) -> object:
    separator, text = _texts(args, "split", 2)
    return text.split(separator) if separator else list(text)


def _trim(args: list[object]) -> object:
    text, chars = _texts(args, "trim", 2)
    return text.strip(chars)


def _min_max(pick: Callable[..., object]) -> Impl:
    def run(args: list[object]) -> object:
        if not args:
            raise EvalError("min()/max(): needs at least one number")
        return pick(to_number(a) for a in args)

    return run


def _range(args: list[object]) -> object:
    numbers = [to_number(a, "range() argument") for a in args]
    if len(numbers) == 1:
        start, stop, step = 0.0, numbers[0], 1.0
    elif len(numbers) in (2, 3):
        start, stop = numbers[0], numbers[1]
        step = numbers[2] if len(numbers) == 3 else (1.0 if stop >= start else -1.0)
    else:
        raise EvalError("range(): expects 1 to 3 arguments")
    if step == 0 or abs((stop - start) / step) > 1024:
        raise EvalError("range(): invalid or too long range")
    out: list[object] = []
    value = start
    while (step > 0 and value < stop) or (step < 0 and value > stop):
        out.append(normalize_number(value))
        value += step
    return out


def _network(text: object, name: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    try:
        return ipaddress.ip_network(to_text(text, f"{name}() prefix"), strict=False)
    except ValueError as exc:
        raise EvalError(f"{name}(): {exc}") from None


def _cidrsubnet(args: list[object]) -> object:
    network = _network(_args(args, "cidrsubnet", 3)[0], "cidrsubnet")
    newbits, netnum = int(to_number(args[1])), int(to_number(args[2]))
    new_prefix = network.prefixlen + newbits
    if newbits < 0 or new_prefix > network.max_prefixlen or not 0 <= netnum < 2**newbits:
        raise EvalError("cidrsubnet(): the subnet does not fit the prefix")
    size = 2 ** (network.max_prefixlen - new_prefix)
    base = int(network.network_address) + netnum * size
    return str(ipaddress.ip_network((base, new_prefix)))


def _cidrsubnets(args: list[object]) -> object:
    if not args:
        raise EvalError("cidrsubnets(): needs a prefix")
    network = _network(args[0], "cidrsubnets")
    out: list[object] = []
    cursor = int(network.network_address)
    for bits in args[1:]:
        prefix = network.prefixlen + int(to_number(bits))
        size = 2 ** (network.max_prefixlen - prefix)
        cursor = -(-cursor // size) * size
        out.append(str(ipaddress.ip_network((cursor, prefix))))
        cursor += size
    return out


def _cidrhost(args: list[object]) -> object:
    network = _network(_args(args, "cidrhost", 2)[0], "cidrhost")
    host = int(to_number(args[1]))
    if not -network.num_addresses <= host < network.num_addresses:
        raise EvalError("cidrhost(): host number out of range")
    offset = host if host >= 0 else network.num_addresses + host
    return str(network.network_address + offset)


def _cidrnetmask(args: list[object]) -> object:
    return str(_network(_args(args, "cidrnetmask", 1)[0], "cidrnetmask").netmask)


def _jsonencode(args: list[object]) -> object:
    value = _args(args, "jsonencode", 1)[0]
    check_size(value)
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


def _jsondecode(args: list[object]) -> object:
    try:
        value: object = json.loads(to_text(_args(args, "jsondecode", 1)[0]))
    except ValueError as exc:
        raise EvalError(f"jsondecode(): {exc}") from None
    return value


def _base64decode(args: list[object]) -> object:
    try:
        return base64.b64decode(to_text(_args(args, "base64decode", 1)[0]), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise EvalError(f"base64decode(): {exc}") from None


def _index(args: list[object]) -> object:
    items, wanted = _args(args, "index", 2)
    if not isinstance(items, list):
        raise EvalError(f"index(): expected a list, got {type_name(items)}")
    for position, item in enumerate(items):
        if equal(item, wanted):
            return position
    raise EvalError("index(): value not in list")


def _bools(args: list[object], name: str) -> list[bool]:
    items = _args(args, name, 1)[0]
    if not isinstance(items, list):
        raise EvalError(f"{name}(): expected a list")
    return [to_bool(item, f"{name}() element") for item in items]


def _regex(args: list[object], every: bool) -> object:
    pattern, text = _texts(args, "regex", 2)
    _linear_enough(pattern)
    try:
        compiled = re.compile(pattern)
    except re.error as exc:
        raise EvalError(f"regex(): {exc}") from None
    matches = list(compiled.finditer(text))
    results = [_match_value(m) for m in matches]
    if every:
        return results
    if not results:
        raise EvalError("regex(): no match")
    return results[0]


# Terraform's regular expressions (RE2) run in linear time; Python's backtrack. A repetition of a group
# that itself repeats can take exponential time on a crafted input: such patterns are not evaluated.
_NESTED_REPETITION = re.compile(r"\((?:[^()\\]|\\.)*[*+}](?:[^()\\]|\\.)*\)\s*[*+{]")
_MAX_WIDTH = 4096


def _linear_enough(pattern: str) -> None:
    if len(pattern) > 1000 or _NESTED_REPETITION.search(pattern):
        raise EvalError("a regular expression with nested repetition is not evaluated")


def _match_value(match: re.Match[str]) -> object:
    if match.re.groupindex:
        return dict(match.groupdict())
    if match.re.groups:
        return list(match.groups())
    return match.group(0)


def _parseint(args: list[object]) -> object:
    text = to_text(_args(args, "parseint", 2)[0], "parseint() number")
    base = int(to_number(args[1], "parseint() base"))
    try:
        return int(text, base)
    except ValueError as exc:
        raise EvalError(f"parseint(): {exc}") from None


def _list_arg(args: list[object], name: str) -> list[object]:
    items = _args(args, name, 1)[0]
    if not isinstance(items, list):
        raise EvalError(f"{name}(): expected a list, got {type_name(items)}")
    return items


def _unary_text(fn: Callable[[str], object], name: str) -> Impl:
    return lambda args: fn(_texts(args, name, 1)[0])


def _binary_text(fn: Callable[[str, str], object], name: str) -> Impl:
    return lambda args: fn(*_texts(args, name, 2))


TEXT_FUNCTIONS: dict[str, Impl] = {
    "format": _format,
    "lower": _unary_text(str.lower, "lower"),
    "upper": _unary_text(str.upper, "upper"),
    "title": _unary_text(str.title, "title"),
    "trimspace": _unary_text(str.strip, "trimspace"),
    "chomp": _unary_text(lambda s: s.rstrip("\r\n"), "chomp"),
    "basename": _unary_text(posixpath.basename, "basename"),
    "dirname": _unary_text(posixpath.dirname, "dirname"),
    "base64encode": _unary_text(lambda s: base64.b64encode(s.encode()).decode(), "base64encode"),
    "base64decode": _base64decode,
    "trimprefix": _binary_text(lambda s, p: s[len(p) :] if p and s.startswith(p) else s, "trimprefix"),
    "trimsuffix": _binary_text(lambda s, p: s[: -len(p)] if p and s.endswith(p) else s, "trimsuffix"),
    "startswith": _binary_text(str.startswith, "startswith"),
    "endswith": _binary_text(str.endswith, "endswith"),
    "strcontains": _binary_text(lambda s, p: p in s, "strcontains"),
    "replace": _replace,
    "substr": _substr,
    "split": _split,
    "trim": _trim,
    "tonumber": lambda args: None if _args(args, "tonumber", 1)[0] is None else to_number(args[0]),
    "tobool": lambda args: None if _args(args, "tobool", 1)[0] is None else to_bool(args[0]),
    "min": _min_max(min),
    "max": _min_max(max),
    "abs": lambda args: abs(to_number(_args(args, "abs", 1)[0])),
    "ceil": lambda args: math.ceil(to_number(_args(args, "ceil", 1)[0])),
    "floor": lambda args: math.floor(to_number(_args(args, "floor", 1)[0])),
    "parseint": _parseint,
    "range": _range,
    "cidrsubnet": _cidrsubnet,
    "cidrsubnets": _cidrsubnets,
    "cidrhost": _cidrhost,
    "cidrnetmask": _cidrnetmask,
    "jsonencode": _jsonencode,
    "jsondecode": _jsondecode,
    "index": _index,
    "alltrue": lambda args: all(_bools(args, "alltrue")),
    "anytrue": lambda args: any(_bools(args, "anytrue")),
    "reverse": lambda args: list(reversed(_list_arg(args, "reverse"))),
    "sort": lambda args: sorted(to_text(v) for v in _list_arg(args, "sort")),
    "sum": lambda args: normalize_number(sum(float(to_number(v)) for v in _list_arg(args, "sum"))),
    "regex": lambda args: _regex(args, every=False),
    "regexall": lambda args: _regex(args, every=True),
}

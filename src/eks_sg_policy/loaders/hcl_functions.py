"""Terraform's built-in functions: dispatch and the collection functions.

Functions marked `keeps_unknown` look at their arguments themselves, so that a list holding one
unknown element stays a list (`concat([aws_security_group.node.id], var.extra)` keeps the node
group's identity). Every other function returns Unknown as soon as an argument holds one.
A function not implemented here returns Unknown, never a guess.
"""

from __future__ import annotations

from collections.abc import Callable

from .hcl_functions_text import TEXT_FUNCTIONS
from .hcl_values import (
    EvalError,
    Ref,
    Unknown,
    check_size,
    equal,
    find_unknown,
    force,
    make_set,
    to_number,
    to_text,
    type_name,
    unknown_from,
)

Impl = Callable[[list[object]], object]


def call_function(name: str, args: list[object]) -> object:
    """Call a function on evaluated arguments; raises EvalError where Terraform would fail."""
    entry = _FUNCTIONS.get(name)
    if entry is None:
        hint = "" if "::" not in name else "provider-defined functions are not evaluated"
        return Unknown(f"function {name}() is not evaluated by this scan", hint)
    impl, keeps_unknown = entry
    args = [force(arg) for arg in args]
    if not keeps_unknown:
        for arg in args:
            found = find_unknown(arg)
            if found is not None:
                return unknown_from(found)
    try:
        return impl(args)
    except (ValueError, TypeError, OverflowError, ZeroDivisionError, IndexError) as exc:
        raise EvalError(f"{name}(): {exc}") from None


def _opaque(value: object) -> Unknown | None:
    """An Unknown for a top-level argument whose shape is unknown, else None."""
    if isinstance(value, (Unknown, Ref)):
        return unknown_from(value)
    return None


def _list(value: object, name: str) -> list[object]:
    if isinstance(value, list):
        return value
    raise EvalError(f"{name}(): expected a list, got {type_name(value)}")


def _map(value: object, name: str) -> dict[str, object]:
    if isinstance(value, dict):
        return value
    raise EvalError(f"{name}(): expected a map or object, got {type_name(value)}")


def _arity(args: list[object], name: str, low: int, high: int | None = None) -> None:
    high = low if high is None else high
    if not low <= len(args) <= high:
        raise EvalError(f"{name}(): wrong number of arguments ({len(args)})")


def _first_opaque(args: list[object]) -> Unknown | None:
    for arg in args:
        found = _opaque(arg)
        if found is not None:
            return found
    return None


def _concat(args: list[object]) -> object:
    if found := _first_opaque(args):
        return found
    out: list[object] = []
    for arg in args:
        out.extend(_list(arg, "concat"))
    return out


def _compact(args: list[object]) -> object:
    _arity(args, "compact", 1)
    if found := _opaque(args[0]):
        return found
    return [v for v in _list(args[0], "compact") if v is not None and v != ""]


def _flatten(args: list[object]) -> object:
    _arity(args, "flatten", 1)
    check_size(args[0])
    if found := _opaque(args[0]):
        return found
    out: list[object] = []

    def walk(items: list[object], depth: int) -> None:
        for item in items:
            item = force(item)
            if isinstance(item, list) and depth < 50:
                walk(item, depth + 1)
            else:
                out.append(item)

    walk(_list(args[0], "flatten"), 0)
    return out


def _distinct(args: list[object]) -> object:
    _arity(args, "distinct", 1)
    if found := _opaque(args[0]):
        return found
    out: list[object] = []
    for item in _list(args[0], "distinct"):
        if not any(equal(item, seen) for seen in out):
            out.append(item)
    return out


def _to_list(args: list[object]) -> object:
    _arity(args, "tolist", 1)
    return args[0] if args[0] is None or _opaque(args[0]) else list(_list(args[0], "tolist"))


def _to_set(args: list[object]) -> object:
    _arity(args, "toset", 1)
    return args[0] if args[0] is None or _opaque(args[0]) else make_set(_list(args[0], "toset"))


def _to_map(args: list[object]) -> object:
    _arity(args, "tomap", 1)
    return args[0] if args[0] is None or _opaque(args[0]) else dict(_map(args[0], "tomap"))


def _to_string(args: list[object]) -> object:
    _arity(args, "tostring", 1)
    value = args[0]
    if value is None or isinstance(value, (str, Ref, Unknown)):
        return value
    return to_text(value, "tostring() argument")


def _length(args: list[object]) -> object:
    _arity(args, "length", 1)
    if found := _opaque(args[0]):
        return found
    value = args[0]
    if isinstance(value, (list, dict, str)):
        return len(value)
    raise EvalError(f"length(): cannot take the length of {type_name(value)}")


def _element(args: list[object]) -> object:
    _arity(args, "element", 2)
    if found := _first_opaque(args):
        return found
    items = _list(args[0], "element")
    if not items:
        raise EvalError("element(): the list is empty")
    position = to_number(args[1], "element() index")
    return items[int(position) % len(items)]


def _coalesce(args: list[object]) -> object:
    for arg in args:
        if isinstance(arg, Unknown):
            return arg
        if arg is not None and arg != "":
            return arg
    raise EvalError("coalesce(): no non-null, non-empty argument")


def _coalescelist(args: list[object]) -> object:
    for arg in args:
        if found := _opaque(arg):
            return found
        if _list(arg, "coalescelist"):
            return arg
    raise EvalError("coalescelist(): no non-empty list")


def _merge(args: list[object]) -> object:
    out: dict[str, object] = {}
    for arg in args:
        if arg is None:
            continue
        if found := _opaque(arg):
            return found
        out.update(_map(arg, "merge"))
    return out


def _lookup(args: list[object]) -> object:
    _arity(args, "lookup", 2, 3)
    if found := _first_opaque(args[:2]):
        return found
    mapping, key = _map(args[0], "lookup"), to_text(args[1], "lookup() key")
    if key in mapping:
        return mapping[key]
    if len(args) == 3:
        return args[2]
    raise EvalError(f"lookup(): no key {key!r} and no default")


def _keys(args: list[object]) -> object:
    _arity(args, "keys", 1)
    return _opaque(args[0]) or sorted(_map(args[0], "keys"))


def _values(args: list[object]) -> object:
    _arity(args, "values", 1)
    if found := _opaque(args[0]):
        return found
    mapping = _map(args[0], "values")
    return [mapping[k] for k in sorted(mapping)]


def _contains(args: list[object]) -> object:
    _arity(args, "contains", 2)
    if found := _opaque(args[0]):
        return found
    items = _list(args[0], "contains")
    if any(equal(item, args[1]) for item in items):
        return True
    found_unknown = find_unknown(items) or find_unknown(args[1])
    return unknown_from(found_unknown) if found_unknown else False


def _one(args: list[object]) -> object:
    _arity(args, "one", 1)
    if args[0] is None or _opaque(args[0]):
        return args[0] if args[0] is None else _opaque(args[0])
    items = _list(args[0], "one")
    if len(items) > 1:
        raise EvalError("one(): the list has more than one element")
    return items[0] if items else None


def _slice(args: list[object]) -> object:
    _arity(args, "slice", 3)
    if found := _first_opaque(args):
        return found
    items = _list(args[0], "slice")
    start, end = int(to_number(args[1])), int(to_number(args[2]))
    if not 0 <= start <= end <= len(items):
        raise EvalError("slice(): index out of range")
    return items[start:end]


def _zipmap(args: list[object]) -> object:
    _arity(args, "zipmap", 2)
    if found := _first_opaque(args):
        return found
    names, values = _list(args[0], "zipmap"), _list(args[1], "zipmap")
    if find_unknown(names):
        return Unknown("zipmap() with unknown keys")
    return {to_text(k, "zipmap() key"): v for k, v in zip(names, values, strict=False)}


def _set_op(kind: str) -> Impl:
    def run(args: list[object]) -> object:
        if found := _first_opaque(args):
            return found
        sets = [make_set(_list(arg, kind)) for arg in args]
        if not sets:
            return []
        result = sets[0]
        for other in sets[1:]:
            if kind == "setunion":
                result = make_set(result + other)
            elif kind == "setintersection":
                result = make_set(v for v in result if any(equal(v, o) for o in other))
            else:
                result = make_set(v for v in result if not any(equal(v, o) for o in other))
        return result

    return run


def _join(args: list[object]) -> object:
    if len(args) < 2:
        raise EvalError("join(): needs a separator and at least one list")
    if found := _first_opaque(args):
        return found
    separator = to_text(args[0], "join() separator")
    items = [item for arg in args[1:] for item in _list(arg, "join")]
    if len(items) == 1 and isinstance(items[0], (Ref, Unknown)):
        return items[0]  # join("", x[*].id) of one element is that element
    if found_unknown := find_unknown(items):
        return unknown_from(found_unknown)
    return separator.join(to_text(item, "join() element") for item in items)


def _legacy_list(args: list[object]) -> object:
    return list(args)


def _legacy_map(args: list[object]) -> object:
    if len(args) % 2:
        raise EvalError("map(): needs key/value pairs")
    if find_unknown(args[0::2]):
        return Unknown("map() with unknown keys")
    return {to_text(args[i], "map() key"): args[i + 1] for i in range(0, len(args), 2)}


def _identity(args: list[object]) -> object:
    _arity(args, "nonsensitive", 1)
    return args[0]


_FUNCTIONS: dict[str, tuple[Impl, bool]] = {
    "concat": (_concat, True),
    "compact": (_compact, True),
    "flatten": (_flatten, True),
    "distinct": (_distinct, True),
    "tolist": (_to_list, True),
    "toset": (_to_set, True),
    "tomap": (_to_map, True),
    "tostring": (_to_string, True),
    "length": (_length, True),
    "element": (_element, True),
    "coalesce": (_coalesce, True),
    "coalescelist": (_coalescelist, True),
    "merge": (_merge, True),
    "lookup": (_lookup, True),
    "keys": (_keys, True),
    "values": (_values, True),
    "contains": (_contains, True),
    "one": (_one, True),
    "slice": (_slice, True),
    "zipmap": (_zipmap, True),
    "setunion": (_set_op("setunion"), True),
    "setintersection": (_set_op("setintersection"), True),
    "setsubtract": (_set_op("setsubtract"), True),
    "join": (_join, True),
    "list": (_legacy_list, True),
    "map": (_legacy_map, True),
    "nonsensitive": (_identity, True),
    "sensitive": (_identity, True),
}
_FUNCTIONS.update({name: (impl, False) for name, impl in TEXT_FUNCTIONS.items()})

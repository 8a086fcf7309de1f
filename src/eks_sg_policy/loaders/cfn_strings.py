"""The string and list intrinsics: Fn::Sub, Fn::Join, Fn::Select, Fn::Split and Fn::FindInMap.

A string some parts of which are only known at deploy time stays a `PartialText` while it is
evaluated, so that a later function (an Fn::Split, an Fn::Select of it) can still use the parts
that are known. Each function takes the `Evaluator` that calls it, the function's argument and its line.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from ..model import Unresolved
from .cfn_tokens import (
    NO_VALUE,
    SUB_VARIABLE,
    AttRef,
    Evaluator,
    Hole,
    ImportRef,
    ParamRef,
    PartialText,
    ResourceRef,
    StackValue,
    as_text,
    is_unknown,
    render,
)
from .cfn_yaml import LineList, LineStr

__all__ = ["FUNCTIONS", "find_in_map", "join", "select", "split", "sub"]


def _parts(ev: Evaluator, value: Any, text: str, line: int) -> list[str | Hole]:
    if isinstance(value, PartialText):
        return list(value.parts)
    plain = as_text(value)
    if plain is not None:
        return [plain]
    if isinstance(value, Unresolved | ResourceRef | AttRef | ParamRef | ImportRef | StackValue):
        return [Hole(value, text)]
    what = f"{text} is not a string"
    return [Hole(Unresolved(what, ev.provenance(line)), text)]


def _text(parts: list[str | Hole], line: int) -> LineStr | PartialText:
    if all(isinstance(p, str) for p in parts):
        return LineStr("".join(p for p in parts if isinstance(p, str)), line)
    merged: list[str | Hole] = []
    for part in parts:
        if isinstance(part, str) and merged and isinstance(merged[-1], str):
            merged[-1] += part
        elif part != "":
            merged.append(part)
    return PartialText(tuple(merged), line)


def sub(ev: Evaluator, arg: Any, line: int) -> LineStr | PartialText:
    variables: Mapping[str, Any] = {}
    if isinstance(arg, list) and len(arg) == 2 and isinstance(arg[0], str) and isinstance(arg[1], dict):
        arg, variables = arg
    elif not isinstance(arg, str):
        raise ev.error("Fn::Sub takes a string or [string, {variables}]", line)
    parts: list[str | Hole] = []
    position = 0
    for match in SUB_VARIABLE.finditer(arg):
        parts.append(arg[position : match.start()])
        position = match.end()
        name = match.group(1)
        if name.startswith("!"):
            parts.append("${" + name[1:] + "}")
            continue
        name = name.strip()
        if name in variables:
            value = ev.evaluate(variables[name])
        elif "." in name and name not in ev.parameters:
            value = ev.get_att(name, line)
        else:
            value = ev.ref(name, line)
        parts.extend(_parts(ev, value, "${" + name + "}", line))
    parts.append(arg[position:])
    return _text(parts, line)


def join(ev: Evaluator, arg: Any, line: int) -> Any:
    if not (isinstance(arg, list) and len(arg) == 2 and isinstance(arg[0], str)):
        raise ev.error("Fn::Join takes [delimiter, [values]]", line)
    delimiter, items = arg
    if isinstance(items, list):
        pairs = [(ev.evaluate(item), render(item)) for item in items]
    else:
        values = ev.finish(ev.evaluate(items))
        if not isinstance(values, list):
            return _text([Hole(values, render(items))], line) if is_unknown(values) else values
        pairs = [(value, render(value)) for value in values]
    parts: list[str | Hole] = []
    for index, (value, text) in enumerate(p for p in pairs if p[0] is not NO_VALUE):
        if index:
            parts.append(delimiter)
        parts.extend(_parts(ev, value, text, line))
    return _text(parts, line)


def _index(ev: Evaluator, node: Any, line: int) -> int | Unresolved:
    index = ev.finish(ev.evaluate(node))
    if isinstance(index, str) and index.strip().isdigit():
        if len(index.strip()) > 9:  # no list is that long; int() of thousands of digits raises
            raise ev.error("Fn::Select index is out of range", line)
        return int(index)
    if isinstance(index, int) and not isinstance(index, bool):
        return index
    if is_unknown(index):
        return ev.unresolved(index, line)
    raise ev.error(f"Fn::Select index must be a number, not {index!r}", line)


def select(ev: Evaluator, arg: Any, line: int) -> Any:
    if not (isinstance(arg, list) and len(arg) == 2):
        raise ev.error("Fn::Select takes [index, [values]]", line)
    index, items = _index(ev, arg[0], line), arg[1]
    if isinstance(index, Unresolved):
        return index
    literal = isinstance(items, list)  # evaluate only the value selected
    if not literal:
        items = ev.finish(ev.evaluate(items))
        if not isinstance(items, list):
            return ev.unresolved(items, line) if is_unknown(items) else items
    if not 0 <= index < len(items):
        raise ev.error(f"Fn::Select index {index} is outside the {len(items)} values", line)
    return ev.evaluate(items[index]) if literal else items[index]


def split(ev: Evaluator, arg: Any, line: int) -> Any:
    if not (isinstance(arg, list) and len(arg) == 2 and isinstance(arg[0], str) and arg[0]):
        raise ev.error("Fn::Split takes [delimiter, string]", line)
    delimiter = arg[0]
    source = ev.evaluate(arg[1])
    if isinstance(source, str):
        return LineList([LineStr(p, line) for p in source.split(delimiter)], line)
    if not isinstance(source, PartialText):
        return ev.unresolved(source, line) if is_unknown(source) else source
    # Split a partly known string where the unknown parts sit between delimiters, as in
    # !Split [",", !Sub "${NodeSecurityGroup},${ExtraGroups}"].
    pieces: list[list[str | Hole]] = [[]]
    for part in source.parts:
        if isinstance(part, Hole):
            pieces[-1].append(part)
            continue
        first, *rest = part.split(delimiter)
        pieces[-1].append(first)
        pieces.extend([chunk] for chunk in rest)
    values: list[Any] = []
    for piece in pieces:
        kept = [p for p in piece if p != ""]
        if len(kept) == 1 and isinstance(kept[0], Hole):
            values.append(kept[0].value)
        else:
            values.append(ev.finish(_text(piece, line)))
    return LineList(values, line, [line] * len(values))


def find_in_map(ev: Evaluator, arg: Any, line: int) -> Any:
    if not (isinstance(arg, list) and len(arg) in (3, 4)):
        raise ev.error("Fn::FindInMap takes [mapping, key, key]", line)
    keys: list[str] = []
    for node in arg[:3]:
        value = ev.finish(ev.evaluate(node))
        text = as_text(value)
        if text is None:
            if is_unknown(value):
                inner = ev.unresolved(value, line)
                return Unresolved(f"Fn::FindInMap key: {inner.what}", inner.provenance, inner.hint)
            raise ev.error(f"Fn::FindInMap key must be a string, not {value!r}", line)
        keys.append(text)
    default = arg[3].get("DefaultValue", NO_VALUE) if len(arg) == 4 and isinstance(arg[3], dict) else NO_VALUE
    current: Any = ev.mappings
    for depth, key in enumerate(keys):
        if not isinstance(current, dict):
            raise ev.error(f"Fn::FindInMap: {'.'.join(keys[:depth])} is not a mapping", line)
        if key not in current:
            if default is not NO_VALUE:
                return ev.evaluate(default)
            where = f"mapping '{keys[0]}'" if depth else "Mappings"
            raise ev.error(f"Fn::FindInMap: {where} has no key '{key}'", line)
        current = current[key]
    return ev.evaluate(current)


FUNCTIONS: dict[str, Callable[[Evaluator, Any, int], Any]] = {
    "Fn::Sub": sub,
    "Fn::Join": join,
    "Fn::Select": select,
    "Fn::Split": split,
    "Fn::FindInMap": find_in_map,
}

"""Circular dependencies between the resources of a template, which CloudFormation rejects.

A resource depends on each resource it names in `DependsOn`, in a `Ref`, in an `Fn::GetAtt` or in
an `Fn::Sub` string (`${Name}`, `${Name.Attribute}`), anywhere in its body and whatever the
conditions: CloudFormation orders resources before it evaluates any `Fn::If`, so both branches
count. A `Ref` to a parameter or a pseudo parameter is no dependency. AWS::Serverless resources
are left out: the SAM transform turns each into several resources, which can break a cycle.

Both the walk over a resource's body and the search for a cycle use explicit stacks, so a template
of thousands of resources, or of deeply nested properties, cannot exhaust the interpreter's stack.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from ..errors import ScanError
from .cfn_yaml import LineDict

__all__ = ["check_dependencies", "dependencies", "find_cycle"]

_SUB_NAME = re.compile(r"\$\{([A-Za-z0-9:.]+)\}")  # `${!Literal}` is text, not a name
_SERVERLESS = "AWS::Serverless::"
_WHITE, _GREY, _BLACK = 0, 1, 2
_SHOWN = 10  # resources a reported cycle names


def check_dependencies(path: str, resources: LineDict) -> None:
    """Raise `ScanError` at the first resource of a circular dependency, with the cycle's path."""
    graph = dependencies(resources)
    cycle = find_cycle(graph)
    if cycle is None:
        return
    order = {name: index for index, name in enumerate(graph)}
    start = min(range(len(cycle)), key=lambda i: order[cycle[i]])
    ordered = cycle[start:] + cycle[:start]  # from the resource written first, whichever was met first
    line = resources.key_lines.get(ordered[0])
    raise ScanError(path, f"circular dependency between resources: {_shown(ordered)}", line=line)


def _shown(cycle: list[str]) -> str:
    """`A -> B -> A`; a cycle through more than `_SHOWN` resources names its first and last ones."""
    names = [*cycle, cycle[0]]
    if len(cycle) > _SHOWN:
        left_out = len(cycle) - _SHOWN + 1
        names = [*cycle[: _SHOWN - 2], f"... {left_out:,} more ...", cycle[-1], cycle[0]]
    return " -> ".join(names)


def dependencies(resources: LineDict) -> dict[str, list[str]]:
    """Each resource (in template order) and the resources it depends on (in order, each once)."""
    names = {str(name) for name, body in resources.items() if _in_graph(body)}
    graph: dict[str, list[str]] = {}
    for name, body in resources.items():
        if str(name) in names:
            graph[str(name)] = list(dict.fromkeys(n for n in _named(body) if n in names))
    return graph


def _in_graph(body: Any) -> bool:
    return isinstance(body, dict) and not str(body.get("Type", "")).startswith(_SERVERLESS)


def _named(body: dict[str, Any]) -> Iterator[str]:
    """The names a resource's body refers to (some may be parameters, pseudo parameters or nothing)."""
    depends_on = body.get("DependsOn")
    listed = [depends_on] if isinstance(depends_on, str) else depends_on if isinstance(depends_on, list) else []
    yield from (str(name) for name in listed if isinstance(name, str))
    stack: list[Any] = [value for key, value in reversed(body.items()) if key != "DependsOn"]
    while stack:
        node = stack.pop()
        if isinstance(node, list):
            stack.extend(reversed(node))
        elif isinstance(node, dict):
            if len(node) == 1:
                yield from _intrinsic_names(*next(iter(node.items())))
            stack.extend(reversed(node.values()))


def _intrinsic_names(key: str, value: Any) -> Iterator[str]:
    if key == "Ref" and isinstance(value, str):
        yield str(value)
    elif key == "Fn::GetAtt":
        target = value[0] if isinstance(value, list) and value else value
        if isinstance(target, str):
            yield str(target).split(".", 1)[0]
    elif key == "Fn::Sub":
        text = value[0] if isinstance(value, list) and value else value
        variables = value[1] if isinstance(value, list) and len(value) == 2 and isinstance(value[1], dict) else {}
        if isinstance(text, str):
            found = (m.group(1).split(".", 1)[0] for m in _SUB_NAME.finditer(text))
            yield from (name for name in found if name not in variables)


def find_cycle(graph: dict[str, list[str]]) -> list[str] | None:
    """One cycle of `graph` as the list of its nodes (A, B for A -> B -> A), or None.

    A depth-first search from each node in order, without recursion: a node is grey while on the
    current path and black once everything it reaches is known to be free of cycles."""
    color = dict.fromkeys(graph, _WHITE)
    for start in graph:
        if color[start] != _WHITE:
            continue
        path: list[str] = [start]
        pending: list[Iterator[str]] = [iter(graph[start])]
        color[start] = _GREY
        while pending:
            target = next(pending[-1], None)
            if target is None:
                color[path.pop()] = _BLACK
                pending.pop()
            elif color[target] == _GREY:
                return path[path.index(target) :]
            elif color[target] == _WHITE:
                color[target] = _GREY
                path.append(target)
                pending.append(iter(graph[target]))
    return None

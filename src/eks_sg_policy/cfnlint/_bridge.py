"""From cfn-lint's decoded template to our findings, and from a finding back to a cfn-lint path.

cfn-lint has already parsed the template (with its own 0-based marks); we convert its nodes to the
loader's line-carrying nodes instead of parsing again, then run the same scan as the command line.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ..api import Report, ScanOptions, evaluate_units
from ..loaders.cfn_yaml import LineDict, LineList, LineStr
from ..loaders.cloudformation import load_cloudformation_document

_RULE_SEVERITY_LETTER = {"error": "E", "warning": "W", "note": "I"}


def rule_id(policy_id: str, severity: str) -> str:
    """EKS102 (error) -> E9102; EKS305 (warning) -> W9305; EKS900 (note) -> I9900."""
    return f"{_RULE_SEVERITY_LETTER[severity]}9{policy_id[-3:]}"


def _line(node: Any, fallback: int) -> int:
    mark = getattr(node, "start_mark", None)
    return int(mark.line) + 1 if mark is not None else fallback


def convert(node: Any, fallback: int = 1) -> Any:
    """cfn-lint's dict_node/list_node/str_node tree -> LineDict/LineList/LineStr (1-based lines)."""
    line = _line(node, fallback)
    if isinstance(node, dict):
        items = {str(k): convert(v, _line(k, line)) for k, v in node.items()}
        return LineDict(items, line=line, key_lines={str(k): _line(k, line) for k in node})
    if isinstance(node, list):
        lines = [_line(item, line) for item in node]
        return LineList([convert(item, ln) for item, ln in zip(node, lines, strict=True)], line=line, item_lines=lines)
    if isinstance(node, str):
        return LineStr(str(node), line)
    return node


def scan_template(filename: str, template: Any) -> Report:
    document = convert(template)
    unit = load_cloudformation_document(filename, document, {})
    return evaluate_units([unit] if unit is not None else [], ScanOptions())


def path_to_line(template: Any, section: str, resource: str, line: int) -> list[str | int]:
    """The deepest path under `section`/`resource` whose node starts on `line` (cfn-lint reports paths)."""
    base: list[str | int] = [section, resource]
    node = template.get(section, {}).get(resource) if isinstance(template, dict) else None
    if node is None:
        return ["Resources"] if section == "Resources" else [section]
    best = base
    for path, child in _walk(node, base):
        if _line(child, -1) == line or (isinstance(path[-1], str) and _key_line(path, template) == line):
            best = path
    return best


def _key_line(path: list[str | int], template: Any) -> int:
    parent: Any = template
    for step in path[:-1]:
        parent = parent[step]
    for key in parent:
        if key == path[-1]:
            return _line(key, -1)
    return -1


def _walk(node: Any, path: list[str | int]) -> Iterator[tuple[list[str | int], Any]]:
    if isinstance(node, dict):
        for key, value in node.items():
            yield [*path, str(key)], value
            yield from _walk(value, [*path, str(key)])
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield [*path, index], value
            yield from _walk(value, [*path, index])

"""`.tf.json` and `.tfvars.json`: a small JSON reader that keeps lines, and the mapping of
Terraform's JSON syntax onto the same blocks and expressions the HCL path produces.

In JSON configuration every string is a template (`"${var.x}"`), except where Terraform reads a
literal (variable defaults, `.tfvars.json` values) or a type (`variable.type`). Which keys of a
resource body are nested blocks cannot be told from JSON alone; the names the model reads are
listed in NESTED_BLOCKS, everything else is an attribute.
"""

from __future__ import annotations

import bisect
import json
import re
from dataclasses import dataclass

from ..errors import ScanError
from . import hcl_ast as ast
from .hcl_expr import HclSyntaxError, parse_expression, parse_template
from .hcl_parse import Attribute, Block

NESTED_BLOCKS = frozenset(
    {
        "ingress", "egress", "vpc_config", "launch_template", "remote_access", "kubernetes_network_config",
        "remote_network_config", "remote_node_networks", "remote_pod_networks", "network_interfaces",
        "mixed_instances_policy", "launch_template_specification", "tag", "scaling_config", "content",
        "lifecycle", "timeouts", "access_config", "encryption_config", "override", "tag_specifications",
    }
)  # fmt: skip
_LABELS = {"resource": 2, "data": 2, "module": 1, "variable": 1, "output": 1, "provider": 1}
_STRING = re.compile(r'"(?:[^"\\\x00-\x1f]|\\.)*"')
_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")


@dataclass(frozen=True, slots=True)
class JValue:
    line: int
    column: int
    value: object  # scalar, list[JValue] or list[tuple[str, int, JValue]] for objects
    kind: str  # scalar, array, object
    end_line: int = 0


class _Reader:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.newlines = [i for i, ch in enumerate(text) if ch == "\n"]

    def where(self, pos: int) -> tuple[int, int]:
        index = bisect.bisect_left(self.newlines, pos)
        return index + 1, pos - (self.newlines[index - 1] if index else -1)

    def fail(self, message: str) -> ScanError:
        line, column = self.where(self.pos)
        return ScanError("", f"JSON syntax error: {message}", line, column)

    def skip(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos] in " \t\r\n":
            self.pos += 1

    def document(self) -> JValue:
        value = self.value(0)
        self.skip()
        if self.pos != len(self.text):
            raise self.fail("unexpected text after the document")
        return value

    def value(self, depth: int) -> JValue:
        if depth > 200:
            raise self.fail("nested too deeply")
        self.skip()
        if self.pos >= len(self.text):
            raise self.fail("unexpected end of file")
        line, column = self.where(self.pos)
        ch = self.text[self.pos]
        if ch == "{":
            members = self.members(depth)
            return JValue(line, column, members, "object", self.where(self.pos)[0])
        if ch == "[":
            elements = self.elements(depth)
            return JValue(line, column, elements, "array", self.where(self.pos)[0])
        if ch == '"':
            return JValue(line, column, self.string(), "scalar")
        for word, literal in (("true", True), ("false", False), ("null", None)):
            if self.text.startswith(word, self.pos):
                self.pos += len(word)
                return JValue(line, column, literal, "scalar")
        match = _NUMBER.match(self.text, self.pos)
        if not match:
            raise self.fail(f"unexpected character {ch!r}")
        self.pos = match.end()
        return JValue(line, column, _number(match.group(0)), "scalar")

    def string(self) -> str:
        match = _STRING.match(self.text, self.pos)
        if not match:
            raise self.fail("unterminated string or invalid character in string")
        try:
            text = json.loads(match.group(0))
        except ValueError as exc:
            raise self.fail(str(exc).split(":")[0]) from None
        self.pos = match.end()
        return str(text)

    def members(self, depth: int) -> list[tuple[str, int, JValue]]:
        self.pos += 1
        items: list[tuple[str, int, JValue]] = []
        self.skip()
        if self.text.startswith("}", self.pos):
            self.pos += 1
            return items
        while True:
            self.skip()
            if not self.text.startswith('"', self.pos):
                raise self.fail("expected a property name")
            key_line = self.where(self.pos)[0]
            key = self.string()
            self.skip()
            if not self.text.startswith(":", self.pos):
                raise self.fail("expected ':'")
            self.pos += 1
            items.append((key, key_line, self.value(depth + 1)))
            self.skip()
            if self.text.startswith(",", self.pos):
                self.pos += 1
            elif self.text.startswith("}", self.pos):
                self.pos += 1
                return items
            else:
                raise self.fail("expected ',' or '}'")

    def elements(self, depth: int) -> list[JValue]:
        self.pos += 1
        items: list[JValue] = []
        self.skip()
        if self.text.startswith("]", self.pos):
            self.pos += 1
            return items
        while True:
            items.append(self.value(depth + 1))
            self.skip()
            if self.text.startswith(",", self.pos):
                self.pos += 1
            elif self.text.startswith("]", self.pos):
                self.pos += 1
                return items
            else:
                raise self.fail("expected ',' or ']'")


def _number(text: str) -> int | float:
    """A JSON number as HCL reads it; an integer with more digits than Python converts is read as
    the float it rounds to (inf, as `1e5000` is), never as an error without a line."""
    try:
        number: int | float = json.loads(text)
    except ValueError:
        return float(text)
    return number


def _members(value: JValue) -> list[tuple[str, int, JValue]]:
    return value.value if value.kind == "object" else []  # type: ignore[return-value]


def _objects(value: JValue) -> list[JValue]:
    if value.kind == "object":
        return [value]
    if value.kind == "array":
        return [v for v in value.value if isinstance(v, JValue) and v.kind == "object"]  # type: ignore[attr-defined]
    return []


def to_expression(value: JValue, templates: bool = True) -> ast.Node:
    """A JSON value as an expression: strings are templates unless `templates` is false."""
    if value.kind == "object":
        members = _members(value)
        _check_unique(members, "key {!r} is set twice in an object")
        items = tuple((ast.Literal(line, key), to_expression(item, templates)) for key, line, item in members)
        return ast.ObjectCons(value.line, items)
    if value.kind == "array":
        elements = tuple(to_expression(v, templates) for v in value.value)  # type: ignore[attr-defined]
        return ast.TupleCons(value.line, elements)
    if isinstance(value.value, str) and templates:
        try:
            return parse_template(value.value, value.line, value.column + 1)
        except HclSyntaxError as exc:
            raise ScanError("", f"invalid template: {exc.message}", value.line, value.column) from None
    return ast.Literal(value.line, value.value)  # type: ignore[arg-type]


def _check_unique(members: list[tuple[str, int, JValue]], message: str) -> None:
    """Refuse a name given twice (Terraform: "Duplicate argument", "Duplicate object attribute") at
    its second line; `message` formats the name."""
    first: dict[str, int] = {}
    for key, line, _value in members:
        if key in first:
            raise ScanError("", f"{message.format(key)} (first at line {first[key]})", line)
        first[key] = line


def _type_expression(value: JValue) -> ast.Node:
    if not isinstance(value.value, str):
        return to_expression(value, templates=False)
    try:
        return parse_expression(value.value, value.line, value.column + 1)
    except HclSyntaxError as exc:
        raise ScanError("", f"invalid type: {exc.message}", value.line, value.column) from None


def _body(block_type: str, labels: tuple[str, ...], value: JValue) -> Block:
    attributes: dict[str, Attribute] = {}
    blocks: list[Block] = []
    for key, line, item in _members(value):
        if key == "//":
            continue
        if key == "dynamic":
            for label, _label_line, spec in _members(item):
                for obj in _objects(spec):
                    blocks.append(_body("dynamic", (label,), obj))
        elif key in NESTED_BLOCKS and _objects(item) and block_type not in ("variable", "output", "locals"):
            blocks.extend(_body(key, (), obj) for obj in _objects(item))
        elif key in attributes:
            first = attributes[key].line
            raise ScanError("", f"attribute {key!r} is set twice (first at line {first})", line)
        elif block_type == "variable" and key == "type":
            attributes[key] = Attribute(key, _type_expression(item), line)
        else:
            literal = block_type == "variable" or key in ("source", "version", "depends_on")
            attributes[key] = Attribute(key, to_expression(item, templates=not literal), line)
    return Block(block_type, labels, attributes, tuple(blocks), value.line, value.end_line or value.line)


def _top_level(document: JValue) -> list[Block]:
    blocks: list[Block] = []
    for block_type, _line, section in _members(document):
        depth = _LABELS.get(block_type)
        if block_type == "locals":
            blocks.extend(_body("locals", (), obj) for obj in _objects(section))
        elif depth == 1:
            for name, _l, spec in _members(section):
                blocks.extend(_body(block_type, (name,), obj) for obj in _objects(spec))
        elif depth == 2:
            for kind, _l, by_name in _members(section):
                for name, _l2, spec in _members(by_name):
                    blocks.extend(_body(block_type, (kind, name), obj) for obj in _objects(spec))
    return blocks


def parse_json_config(text: str, tfvars: bool) -> tuple[list[Block], dict[str, Attribute]]:
    """Blocks of a `.tf.json` file, or the attributes of a `.tfvars.json` file."""
    reader = _Reader(text)
    document = reader.document()
    if document.kind != "object":
        raise ScanError("", "a Terraform JSON file must hold an object", document.line, document.column)
    if tfvars:
        _check_unique(_members(document), "variable {!r} is set twice")
        attributes = {
            key: Attribute(key, to_expression(value, templates=False), line) for key, line, value in _members(document)
        }
        return [], attributes
    return _top_level(document), {}

"""Parse Terraform files (`.tf`, `.tf.json`, `.tfvars`, `.tfvars.json`) into blocks with lines.

Why python-hcl2 7.x and its lark tree rather than `hcl2.loads(with_meta=True)` (or 8.x)?
`loads` re-serializes every expression into a string, and 7.3.1 does so lossily: string
literals inside lists lose their quotes (`concat(["0.0.0.0/0"], x)` comes back as
`concat([0.0.0.0/0], x)`), lists inside conditionals come back as Python reprs, and only
blocks get line numbers. So hcl2 is used as the syntax checker and block/attribute splitter:
its lark parser runs with `propagate_positions`, which gives the exact 1-based line, column
and character span of every block, attribute and expression. The original source text of each
expression is then parsed by our own tokenizer/parser (`hcl_expr`), so values are never
reconstructed and every attribute, list item and object literal has its true line. The lark
tree is public lark API; the grammar rule names are hcl2 7.x's, pinned `>=7.3,<8`.

Parse results are cached per file content (SHA-256) for the life of the process.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..errors import ScanError
from . import hcl_ast as ast
from .hcl_expr import HclSyntaxError, parse_expression

# `name = "${expr}"`: an interpolation-only string, the way Terraform 0.11 wrote every expression.
_LEGACY = re.compile(r'^\s*[\w-]+\s*=\s*\[?"\$\{.*\}"\]?\s*$', re.MULTILINE)
SUPPRESSION_COMMENT = re.compile(r"(?:#|//)\s*eks-sg-policy:skip\s*=\s*(.*)$")


class Attribute:
    """`name = expr` at a 1-based line. HCL expressions are parsed from their source text on
    first use: most attributes of a module (IAM, logging, ...) are never evaluated."""

    __slots__ = ("_expr", "_source", "column", "line", "name")

    def __init__(self, name: str, expr: ast.Node | None, line: int, column: int = 1) -> None:
        self.name = name
        self.line = line
        self.column = column
        self._expr = expr
        self._source: tuple[str, int, int] | None = None

    @classmethod
    def deferred(cls, name: str, source: str, line: int, column: int, at: tuple[int, int]) -> Attribute:
        attribute = cls(name, None, line, column)
        attribute._source = (source, *at)
        return attribute

    @property
    def expr(self) -> ast.Node:
        if self._expr is None:
            source, line, column = self._source or ("null", self.line, 1)
            try:
                self._expr = parse_expression(source, line, column)
            except HclSyntaxError as exc:
                self._expr = ast.Invalid(line, f"{exc.message} (line {exc.line}, column {exc.column})")
            self._source = None
        return self._expr

    def __repr__(self) -> str:
        return f"Attribute({self.name!r}, line={self.line})"


@dataclass(frozen=True, slots=True, eq=False)
class Block:
    type: str
    labels: tuple[str, ...]
    attributes: Mapping[str, Attribute]
    blocks: tuple[Block, ...]
    line: int
    end_line: int

    def children(self, block_type: str) -> list[Block]:
        return [b for b in self.blocks if b.type == block_type]


@dataclass(frozen=True, slots=True, eq=False)
class ParsedFile:
    """One file: its top-level blocks and attributes, and its suppression comments."""

    blocks: tuple[Block, ...] = ()
    attributes: Mapping[str, Attribute] = field(default_factory=dict)
    comments: tuple[tuple[int, str], ...] = ()  # (line, text after "skip=")
    comment_lines: frozenset[int] = frozenset()  # lines holding only a comment


@dataclass(frozen=True, slots=True)
class _Failure:
    message: str
    line: int | None
    column: int | None


_CACHE: dict[str, ParsedFile | _Failure] = {}


def read_text(path: str) -> str:
    try:
        with open(path, encoding="utf-8-sig") as handle:
            return handle.read()
    except (OSError, UnicodeDecodeError) as exc:
        raise ScanError(path, f"cannot read file: {exc}") from None


def parse_file(path: str, text: str | None = None) -> ParsedFile:
    """Parse a Terraform source or variables file; the format follows the file name."""
    if text is None:
        text = read_text(path)
    text = text.replace("\r\n", "\n")
    is_json = path.endswith(".json")
    digest = hashlib.sha256((("json:" if is_json else "hcl:") + text).encode("utf-8")).hexdigest()
    result = _CACHE.get(digest)
    if result is None:
        result = _CACHE[digest] = _parse_uncached(text, is_json, path)
    if isinstance(result, _Failure):
        raise ScanError(path, result.message, result.line, result.column)
    return result


def _parse_uncached(text: str, is_json: bool, path: str) -> ParsedFile | _Failure:
    try:
        if is_json:
            from .hcl_json import parse_json_config

            blocks, attributes = parse_json_config(text, tfvars=".tfvars" in path)
            return ParsedFile(tuple(blocks), attributes)
        return _parse_hcl(text)
    except ScanError as exc:
        return _Failure(exc.message, exc.line, exc.column)
    except HclSyntaxError as exc:
        return _Failure(f"syntax error: {exc.message}", exc.line, exc.column)


def _parse_hcl(text: str) -> ParsedFile | _Failure:
    from hcl2.parser import parser as hcl2_parser
    from lark.exceptions import LarkError, UnexpectedInput

    try:
        tree = hcl2_parser().parse(text + "\n")
    except UnexpectedInput as exc:
        return _syntax_failure(exc, text)
    except LarkError as exc:  # pragma: no cover - lark raises UnexpectedInput for bad input
        return _Failure(f"syntax error: {exc}", None, None)
    attributes, blocks = _HclBody(text).body(tree.children[0])
    comments, comment_lines = _comments(text)
    return ParsedFile(tuple(blocks), attributes, comments, comment_lines)


def _syntax_failure(exc: Any, text: str) -> _Failure:
    line = exc.line if isinstance(exc.line, int) and exc.line > 0 else text.count("\n") + 1
    column = exc.column if isinstance(exc.column, int) and exc.column > 0 else 1
    token = getattr(exc, "token", None)
    if token is not None and str(token) == "":
        what = "end of file"
    elif token is not None:
        what = repr(str(token).split("\n")[0][:40])
    else:
        what = repr(getattr(exc, "char", "?"))
    hint = " (this file looks like Terraform 0.11 syntax, which is not supported)" if _LEGACY.search(text) else ""
    return _Failure(f"syntax error: unexpected {what}{hint}", line, column)


class _HclBody:
    """Walks hcl2's lark tree: body -> attribute | block."""

    def __init__(self, text: str) -> None:
        self.text = text

    def body(self, tree: Any) -> tuple[dict[str, Attribute], list[Block]]:
        attributes: dict[str, Attribute] = {}
        blocks: list[Block] = []
        for child in tree.children:
            kind = getattr(child, "data", None)
            if kind == "attribute":
                attribute = self.attribute(child)
                if attribute.name in attributes:
                    raise ScanError("", f"attribute {attribute.name!r} is set twice", attribute.line, attribute.column)
                attributes[attribute.name] = attribute
            elif kind == "block":
                blocks.append(self.block(child))
        return attributes, blocks

    def attribute(self, tree: Any) -> Attribute:
        name = str(tree.children[0].children[0])
        expr_node = tree.children[-1]
        start, end, line, column = _span(expr_node)
        return Attribute.deferred(name, self.text[start:end], tree.meta.line, tree.meta.column, (line, column))

    def block(self, tree: Any) -> Block:
        block_type = str(tree.children[0].children[0])
        labels: list[str] = []
        for child in tree.children[1:-1]:
            kind = getattr(child, "data", None)
            if kind == "identifier":
                labels.append(str(child.children[0]))
            elif kind == "string":
                start, end, _line, _column = _span(child)
                labels.append(_unquote(self.text[start:end]))
        attributes, blocks = self.body(tree.children[-1])
        return Block(block_type, tuple(labels), attributes, tuple(blocks), tree.meta.line, tree.meta.end_line)


def _span(node: Any) -> tuple[int, int, int, int]:
    if hasattr(node, "meta"):
        meta = node.meta
        return meta.start_pos, meta.end_pos, meta.line, meta.column
    return node.start_pos, node.end_pos, node.line, node.column


def _unquote(text: str) -> str:
    try:
        value = json.loads(text)
    except ValueError:
        return text.strip('"')
    return value if isinstance(value, str) else text.strip('"')


def _comments(text: str) -> tuple[tuple[tuple[int, str], ...], frozenset[int]]:
    if "eks-sg-policy" not in text:
        return (), frozenset()
    found: list[tuple[int, str]] = []
    comment_lines: set[int] = set()
    for number, line in enumerate(text.split("\n"), start=1):
        if line.lstrip().startswith(("#", "//")):
            comment_lines.add(number)
        match = SUPPRESSION_COMMENT.search(line)
        if match:
            found.append((number, match.group(1).strip()))
    return tuple(found), frozenset(comment_lines)


def clear_cache() -> None:
    """Forget cached parse results (tests use it to measure cold parses)."""
    _CACHE.clear()

"""A recursive-descent parser for the body of an HCL native-syntax file: blocks and attributes.

It drives `hcl_expr.Parser` over the whole file, so one tokenizer reads everything. Each attribute
value is parsed where it stands: that is what finds where it ends (the first newline outside
brackets, see `hcl_expr`) and what makes a syntax error anywhere in the file an error of the file,
with its line and column, whether or not anything evaluates that attribute.

The structure follows Terraform: an attribute or a block ends with a newline (or the end of the
file); the `{` of a block is on the line of its type and labels; a block written on one line,
`a { b = 1 }`, holds at most one attribute; a quoted label has no `${` or `%{` sequences.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from ..errors import ScanError
from . import hcl_ast as ast
from .hcl_expr import Parser, Token, shown

__all__ = ["MAX_BLOCK_DEPTH", "Attribute", "Block", "parse_body"]

MAX_BLOCK_DEPTH = 100


class Attribute:
    """`name = expr`, the name at a 1-based line and column."""

    __slots__ = ("column", "expr", "line", "name")

    def __init__(self, name: str, expr: ast.Node, line: int, column: int = 1) -> None:
        self.name = name
        self.expr = expr
        self.line = line
        self.column = column

    def __repr__(self) -> str:
        return f"Attribute({self.name!r}, line={self.line})"


@dataclass(frozen=True, slots=True, eq=False)
class Block:
    type: str
    labels: tuple[str, ...]
    attributes: Mapping[str, Attribute]
    blocks: tuple[Block, ...]
    line: int
    end_line: int  # the line of the closing brace

    def children(self, block_type: str) -> list[Block]:
        return [b for b in self.blocks if b.type == block_type]


@dataclass(slots=True)
class _Body:
    attributes: dict[str, Attribute]
    blocks: list[Block]


def parse_body(text: str) -> tuple[dict[str, Attribute], list[Block]]:
    """The top-level attributes and blocks of `text`; raises HclSyntaxError, or ScanError for an
    attribute set twice (file name left empty), with 1-based positions."""
    return _BodyParser(text).parse()


class _BodyParser:
    def __init__(self, text: str) -> None:
        self.parser = Parser(text)
        self.parser.end_name = "end of file"
        self.depth = 0

    def parse(self) -> tuple[dict[str, Attribute], list[Block]]:
        try:
            body = self._items(None)
        except RecursionError:
            raise self.parser.error("blocks and expressions are nested too deeply") from None
        return body.attributes, body.blocks

    # -- bodies ---------------------------------------------------------------------------
    def _items(self, block: Token | None) -> _Body:
        """Attributes and blocks, one a line, up to the `}` closing `block` (not consumed) or
        the end of the file."""
        parser = self.parser
        body = _Body({}, [])
        while True:
            token = parser.peek()
            if token.kind == "eof":
                if block is None:
                    return body
                line = parser.line_at(block.start)
                raise parser.unexpected(token, f": block {shown(block.text)} of line {line} is not closed")
            if block is not None and token.kind == "punct" and token.text == "}":
                return body
            kind = self._item(body, token)
            after = parser.peek()
            if not (after.newline_before or after.kind == "eof"):
                raise parser.unexpected(after, f": {kind} {shown(token.text)} must end with a newline")

    def _item(self, body: _Body, name: Token) -> str:
        """Parse the attribute or block starting at `name`; says which it was."""
        parser = self.parser
        if name.kind != "ident":
            raise parser.unexpected(name, ": expected an attribute or a block")
        after = parser.peek_at(name.end)
        if after.newline_before or after.kind == "eof":
            raise parser.error(f"expected '=' or a block after {shown(name.text)}", name.end)
        if after.kind == "punct" and after.text == "=":
            self._add(body, self._attribute(name, after))
            return "attribute"
        body.blocks.append(self._block(name))
        return "block"

    def _add(self, body: _Body, attribute: Attribute) -> None:
        if attribute.name in body.attributes:
            raise ScanError("", f"attribute {attribute.name!r} is set twice", attribute.line, attribute.column)
        body.attributes[attribute.name] = attribute

    def _attribute(self, name: Token, equals: Token) -> Attribute:
        parser = self.parser
        parser.pos = equals.end
        value = parser.peek()
        if value.newline_before or value.kind == "eof":
            raise parser.error(f"expected a value for {shown(name.text)} after '=', on the same line", equals.end)
        expr = parser.nested(True, parser.expression)
        return Attribute(name.text, expr, parser.line_at(name.start), parser.column_at(name.start))

    # -- blocks ---------------------------------------------------------------------------
    def _block(self, head: Token) -> Block:
        parser = self.parser
        parser.pos = head.end
        labels = self._labels(head)
        opening = parser.advance()  # the `{` that `_labels` stopped at
        self.depth += 1
        if self.depth > MAX_BLOCK_DEPTH:
            raise parser.error(f"blocks are nested more than {MAX_BLOCK_DEPTH} deep", opening.start)
        body = self._block_body(head)
        self.depth -= 1
        closing = parser.expect("}")
        line, end_line = parser.line_at(head.start), parser.line_at(closing.start)
        return Block(head.text, tuple(labels), body.attributes, tuple(body.blocks), line, end_line)

    def _labels(self, head: Token) -> list[str]:
        """The labels after the block type, up to the `{` on the same line."""
        parser = self.parser
        labels: list[str] = []
        while True:
            token = parser.peek()
            if token.newline_before or token.kind == "eof":
                raise parser.error(f"expected '{{' on the line of block {shown(head.text)}", parser.pos)
            if token.kind == "punct" and token.text == "{":
                return labels
            if token.kind == "ident":
                parser.pos = token.end
                labels.append(token.text)
            elif token.kind == "quote":
                labels.append(self._quoted_label(token))
            else:
                raise parser.unexpected(token, f" after {shown(head.text)}: expected '=' or a block")

    def _quoted_label(self, quote: Token) -> str:
        parser = self.parser
        parser.pos = quote.end
        label = parser.templates.quoted(parser.line_at(quote.start))
        parts = label.parts if isinstance(label, ast.Template) else ()
        if not all(isinstance(part, str) for part in parts):
            raise parser.error("a block label cannot contain '${' or '%{' sequences", quote.start)
        return "".join(str(part) for part in parts)

    def _block_body(self, head: Token) -> _Body:
        """After `{`: one attribute on the same line (or nothing), or items on their own lines."""
        parser = self.parser
        first = parser.peek()
        if first.newline_before or first.kind == "eof" or (first.kind == "punct" and first.text == "}"):
            return self._items(head)
        body = _Body({}, [])
        after = parser.peek_at(first.end)
        if first.kind != "ident" or after.kind != "punct" or after.text != "=":
            raise parser.unexpected(first, ": a block on one line can hold only a single attribute")
        self._add(body, self._attribute(first, after))
        closing = parser.peek()
        if closing.newline_before or closing.kind == "eof":
            raise parser.error(f"expected '}}' to close block {shown(head.text)} on its line", parser.pos)
        if closing.kind != "punct" or closing.text != "}":
            raise parser.unexpected(closing, ": a block on one line can hold only a single attribute")
        return body

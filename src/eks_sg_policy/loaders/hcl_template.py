"""String templates: quoted strings, heredocs and `.tf.json` strings.

The scanner reads characters of the parser's text directly and hands each `${ ... }` and
`%{ ... }` back to the expression parser, so nested quotes and braces need no special care.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from . import hcl_ast as ast

if TYPE_CHECKING:
    from .hcl_expr import Parser

_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", '"': '"', "\\": "\\"}
_MARKER_LINE = re.compile(r"[ \t]*([A-Za-z_][A-Za-z0-9_-]*)[ \t]*\r?$")
_QUOTED_TEXT = re.compile(r'[^"\\$%\n]+')  # a run of characters that mean themselves in a quoted string
_RAW_TEXT = re.compile(r"[^$%]+")  # the same in a heredoc or a bare template


@dataclass(slots=True)
class _Interp:
    node: ast.Node
    strip_left: bool
    strip_right: bool


@dataclass(slots=True)
class _Directive:
    keyword: str  # if, else, endif, for, endfor
    line: int
    pos: int
    strip_left: bool
    strip_right: bool
    condition: ast.Node | None = None
    key_var: str | None = None
    value_var: str = ""


_Item = str | _Interp | _Directive


class TemplateScanner:
    def __init__(self, parser: Parser) -> None:
        self.parser = parser

    # -- entry points ---------------------------------------------------------------------
    def quoted(self, line: int) -> ast.Node:
        items = self._scan(quoted=True, end=len(self.parser.text))
        return ast.Template(line, self._build(items, line))

    def raw(self, line: int) -> ast.Node:
        items = self._scan(quoted=False, end=len(self.parser.text))
        return ast.Template(line, self._build(items, line))

    def heredoc(self, opener: str, line: int) -> ast.Node:
        parser = self.parser
        strip_indent = opener.startswith("<<-")
        marker = opener.strip().lstrip("<-").strip()
        body_start = parser.pos
        pos = body_start
        while True:
            if pos >= len(parser.text):
                raise parser.error(f"heredoc {marker} is not closed", body_start)
            eol = parser.text.find("\n", pos)
            eol = len(parser.text) if eol < 0 else eol
            found = _MARKER_LINE.match(parser.text, pos, eol)
            if found and found.group(1) == marker:
                break
            pos = eol + 1
        parser.pos = body_start
        items = self._scan(quoted=False, end=pos)
        parser.pos = eol
        if strip_indent:
            items = _dedent(items)
        return ast.Template(line, self._build(items, line))

    # -- scanning -------------------------------------------------------------------------
    def _scan(self, quoted: bool, end: int) -> list[_Item]:
        parser = self.parser
        text = parser.text
        items: list[_Item] = []
        buf: list[str] = []
        pos = parser.pos
        while True:
            if pos >= end:
                if quoted:
                    raise parser.error("unterminated string", pos)
                break
            ch = text[pos]
            if quoted and ch == '"':
                pos += 1
                break
            if quoted and ch == "\\":
                decoded, pos = self._escape(pos)
                buf.append(decoded)
            elif text.startswith(("$${", "%%{"), pos):
                buf.append(text[pos + 1 : pos + 3])
                pos += 3
            elif text.startswith(("${", "%{"), pos):
                if buf:
                    items.append("".join(buf))
                    buf = []
                parser.pos = pos + 2
                items.append(self._sequence(ch))
                pos = parser.pos
            elif quoted and ch == "\n":
                raise parser.error(
                    "unterminated string (a quoted string ends on its line: write \\n, or use a heredoc)", pos
                )
            elif run := (_QUOTED_TEXT if quoted else _RAW_TEXT).match(text, pos, end):
                buf.append(run.group(0))
                pos = run.end()
            else:
                buf.append(ch)
                pos += 1
        if buf:
            items.append("".join(buf))
        parser.pos = pos
        return items

    def _sequence(self, opener: str) -> _Item:
        """The `${ ... }` or `%{ ... }` that `opener` starts; newlines inside it are blanks."""
        if opener == "$":
            return self.parser.nested(False, self._interpolation)
        return self.parser.nested(False, self._directive)

    def _escape(self, pos: int) -> tuple[str, int]:
        text = self.parser.text
        code = text[pos + 1 : pos + 2]
        if code in _ESCAPES:
            return _ESCAPES[code], pos + 2
        width = {"u": 4, "U": 8}.get(code)
        if width:
            digits = text[pos + 2 : pos + 2 + width]
            if len(digits) == width and all(c in "0123456789abcdefABCDEF" for c in digits):
                return chr(int(digits, 16)), pos + 2 + width
        raise self.parser.error(f"invalid escape sequence \\{code}", pos)

    def _strip_open(self) -> bool:
        parser = self.parser
        if parser.text.startswith("~", parser.pos):
            parser.pos += 1
            return True
        return False

    def _close(self) -> bool:
        parser = self.parser
        strip = parser.accept("~")
        parser.expect("}")
        return strip

    def _interpolation(self) -> _Interp:
        strip_left = self._strip_open()
        node = self.parser.expression()
        return _Interp(node, strip_left, self._close())

    def _directive(self) -> _Directive:
        parser = self.parser
        start = parser.pos - 2
        strip_left = self._strip_open()
        line = parser.line_at(parser.pos)
        keyword = parser.expect_ident()
        directive = _Directive(keyword, line, start, strip_left, False)
        if keyword == "if":
            directive.condition = parser.expression()
        elif keyword == "for":
            first = parser.expect_ident()
            second = parser.expect_ident() if parser.accept(",") else None
            if not parser.is_keyword("in"):
                raise parser.error("expected 'in' in template for directive")
            parser.advance()
            directive.condition = parser.expression()
            directive.key_var, directive.value_var = (first, second) if second else (None, first)
        elif keyword not in ("else", "endif", "endfor"):
            raise parser.error(f"unknown template directive {keyword!r}")
        directive.strip_right = self._close()
        return directive

    # -- structure ------------------------------------------------------------------------
    def _build(self, items: list[_Item], line: int) -> tuple[str | ast.Node, ...]:
        items = _apply_strip_markers(items)
        parts, rest = self._block(items, 0, ())
        if rest != len(items):
            stray = items[rest]
            assert isinstance(stray, _Directive)
            raise self.parser.error(f"unexpected template directive {stray.keyword!r}", stray.pos)
        return tuple(parts)

    def _block(self, items: list[_Item], index: int, stops: tuple[str, ...]) -> tuple[list[str | ast.Node], int]:
        parts: list[str | ast.Node] = []
        while index < len(items):
            item = items[index]
            if isinstance(item, str):
                if item:
                    parts.append(item)
            elif isinstance(item, _Interp):
                parts.append(item.node)
            elif item.keyword in stops:
                return parts, index
            elif item.keyword == "if":
                node, index = self._if(items, index, item)
                parts.append(node)
                continue
            elif item.keyword == "for":
                node, index = self._for(items, index, item)
                parts.append(node)
                continue
            else:
                return parts, index
            index += 1
        return parts, index

    def _if(self, items: list[_Item], index: int, head: _Directive) -> tuple[ast.Node, int]:
        then_parts, index = self._block(items, index + 1, ("else", "endif"))
        else_parts: list[str | ast.Node] = []
        if index < len(items) and _keyword(items[index]) == "else":
            else_parts, index = self._block(items, index + 1, ("endif",))
        if index >= len(items) or _keyword(items[index]) != "endif":
            raise self.parser.error("template if directive without endif", head.pos)
        assert head.condition is not None
        return ast.TemplateIf(head.line, head.condition, tuple(then_parts), tuple(else_parts)), index + 1

    def _for(self, items: list[_Item], index: int, head: _Directive) -> tuple[ast.Node, int]:
        body, index = self._block(items, index + 1, ("endfor",))
        if index >= len(items) or _keyword(items[index]) != "endfor":
            raise self.parser.error("template for directive without endfor", head.pos)
        assert head.condition is not None
        node = ast.TemplateFor(head.line, head.key_var, head.value_var, head.condition, tuple(body))
        return node, index + 1


def _keyword(item: _Item) -> str:
    return item.keyword if isinstance(item, _Directive) else ""


def _apply_strip_markers(items: list[_Item]) -> list[_Item]:
    out = list(items)
    for i, item in enumerate(out):
        if isinstance(item, str):
            continue
        if item.strip_left and i > 0 and isinstance(out[i - 1], str):
            out[i - 1] = str(out[i - 1]).rstrip()
        if item.strip_right and i + 1 < len(out) and isinstance(out[i + 1], str):
            out[i + 1] = str(out[i + 1]).lstrip()
    return out


def _dedent(items: list[_Item]) -> list[_Item]:
    """`<<-` heredocs: remove the smallest indentation of any non-blank line from every line."""
    text = "".join(item if isinstance(item, str) else "\0" for item in items)
    lines = [ln for ln in text.split("\n") if ln.strip(" \t")]
    indent = min((len(ln) - len(ln.lstrip(" \t")) for ln in lines), default=0)
    out: list[_Item] = []
    at_line_start = True
    for item in items:
        if not isinstance(item, str):
            out.append(item)
            at_line_start = False
            continue
        chars: list[str] = []
        removed = 0
        for ch in item:
            if at_line_start and ch in " \t" and removed < indent:
                removed += 1
                continue
            at_line_start = ch == "\n"
            removed = 0
            chars.append(ch)
        out.append("".join(chars))
    return out

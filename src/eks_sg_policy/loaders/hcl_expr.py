"""A tokenizer and precedence-climbing parser for HCL expressions and string templates.

The input is a whole `.tf` file, read by `hcl_body` one attribute value at a time, a lone
expression (a `-var` value, a `.tf.json` expression) or a `.tf.json` string, which is a template.
Operator precedence follows the HCL native syntax specification: `||` < `&&` < `== !=` <
`< > <= >=` < `+ -` < `* / %` < unary.

Newlines: inside `( )`, `[ ]`, template interpolations and `for` expressions they are spaces.
Where `newline_ends` is set (an attribute value, an object item) a newline ends the expression,
as in Terraform: an operator, `?` or `:` with its operand on the next line is an error there (the
expression must be wrapped in parentheses to span lines).
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable
from typing import NamedTuple, TypeVar

from . import hcl_ast as ast
from .hcl_template import TemplateScanner

MAX_DEPTH = 120
SPLAT_ELEMENT = "[*]"  # the name a nested splat binds each element to (no HCL name can clash)
_T = TypeVar("_T")

_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")
_WORD = re.compile(r"[A-Za-z0-9_.-]*")
_PUNCT = (
    "...", "==", "!=", "<=", ">=", "&&", "||", "=>", "::",
    "<", ">", "+", "-", "*", "/", "%", "!", "?", ":", "=", "(", ")", "[", "]", "{", "}", ",", ".", "~",
)  # fmt: skip
_TOKEN = re.compile(  # the group that matched is the token's kind
    r'(?P<quote>")'
    r"|(?P<heredoc><<-?[A-Za-z_][A-Za-z0-9_-]*[ \t]*\r?\n)"
    r"|(?P<ident>[A-Za-z_][A-Za-z0-9_-]*)"
    r"|(?P<number>[0-9]+(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?)"
    r"|(?P<punct>" + "|".join(re.escape(punct) for punct in _PUNCT) + ")"
)
_BLANK = re.compile(r"[ \t\r]*(?:(\n)[ \t\r\n]*)?")  # group 1: a newline
_BINARY_PRECEDENCE = {
    "||": 1, "&&": 2, "==": 3, "!=": 3, "<": 4, ">": 4, "<=": 4, ">=": 4,
    "+": 5, "-": 5, "*": 6, "/": 6, "%": 6,
}  # fmt: skip


class HclSyntaxError(Exception):
    """An expression this parser cannot read, with its 1-based position."""

    def __init__(self, message: str, line: int, column: int) -> None:
        super().__init__(message)
        self.message = message
        self.line = line
        self.column = column


class Token(NamedTuple):
    kind: str  # ident, number, punct, quote, heredoc, eof
    text: str
    start: int
    end: int
    newline_before: bool


def shown(text: str) -> str:
    """Source text as a message quotes it: its first line, at most 40 characters."""
    return repr(text.split("\n", 1)[0][:40])


class Parser:
    """Parses expressions; positions are offsets into `text`."""

    def __init__(self, text: str, line: int = 1, column: int = 1) -> None:
        self.text = text
        self.pos = 0
        self.base_line = line
        self.base_column = column
        self.depth = 0
        self.newline_ends = False
        self.end_name = "end of expression"
        self._newlines = [match.start() for match in re.finditer("\n", text)]
        self._cache: dict[int, Token] = {}
        self.templates = TemplateScanner(self)

    # -- positions and errors -------------------------------------------------------------
    def line_at(self, pos: int) -> int:
        return self.base_line + bisect.bisect_left(self._newlines, pos)

    def column_at(self, pos: int) -> int:
        index = bisect.bisect_left(self._newlines, pos)
        if index == 0:
            return self.base_column + pos
        return pos - self._newlines[index - 1]

    def error(self, message: str, pos: int | None = None) -> HclSyntaxError:
        at = self.pos if pos is None else pos
        return HclSyntaxError(message, self.line_at(at), self.column_at(at))

    def describe(self, token: Token) -> str:
        return shown(token.text) if token.kind != "eof" else self.end_name

    def unexpected(self, token: Token, after: str = "") -> HclSyntaxError:
        return self.error(f"unexpected {self.describe(token)}{after}", token.start)

    # -- tokens ---------------------------------------------------------------------------
    def _skip_space(self, pos: int) -> tuple[int, bool]:
        """Skip blanks and comments from `pos`; says whether they held a newline."""
        text, newline = self.text, False
        while True:
            blank = _BLANK.match(text, pos)
            assert blank is not None  # it matches the empty string
            newline = newline or blank.group(1) is not None
            pos = blank.end()
            if text.startswith(("#", "//"), pos):
                end = text.find("\n", pos)
                pos = len(text) if end < 0 else end
            elif text.startswith("/*", pos):
                end = text.find("*/", pos + 2)
                if end < 0:
                    raise self.error("unterminated comment", pos)
                newline = newline or "\n" in text[pos:end]
                pos = end + 2
            else:
                return pos, newline

    def peek_at(self, pos: int) -> Token:
        cached = self._cache.get(pos)
        if cached is None:
            cached = self._cache[pos] = self._lex(pos)
        return cached

    def _lex(self, origin: int) -> Token:
        pos, newline = self._skip_space(origin)
        text = self.text
        if pos >= len(text):
            return Token("eof", "", pos, pos, newline)
        match = _TOKEN.match(text, pos)
        if match is None or match.lastgroup is None:
            raise self.error(f"unexpected character {text[pos]!r}", pos)
        kind, end = match.lastgroup, match.end()
        if kind == "number" and _IDENT.match(text, end):  # `2xlarge`: neither a number nor a name
            word = _WORD.match(text, pos)
            raise self.error(f"unexpected {shown(word.group(0) if word else text[pos])}", pos)
        return Token(kind, match.group(0), pos, end, newline)

    def peek(self) -> Token:
        return self.peek_at(self.pos)

    def peek2(self) -> Token:
        return self.peek_at(self.peek().end)

    def advance(self) -> Token:
        token = self.peek()
        self.pos = token.end
        return token

    def accept(self, punct: str) -> bool:
        token = self.peek()
        if token.kind == "punct" and token.text == punct:
            self.pos = token.end
            return True
        return False

    def expect(self, punct: str) -> Token:
        token = self.peek()
        if token.kind != "punct" or token.text != punct:
            raise self.error(f"expected {punct!r}, found {self.describe(token)}", token.start)
        self.pos = token.end
        return token

    def expect_ident(self) -> str:
        token = self.peek()
        if token.kind != "ident":
            raise self.error(f"expected a name, found {self.describe(token)}", token.start)
        self.pos = token.end
        return token.text

    def is_punct(self, punct: str) -> bool:
        token = self.peek()
        return token.kind == "punct" and token.text == punct

    def is_keyword(self, word: str, token: Token | None = None) -> bool:
        token = token or self.peek()
        return token.kind == "ident" and token.text == word

    def ends_here(self, token: Token) -> bool:
        """Whether `token` starts a new line where a newline ends the expression."""
        return token.newline_before and self.newline_ends

    def nested(self, newline_ends: bool, parse: Callable[[], _T]) -> _T:
        """Run `parse` with newlines ending expressions or not, as `newline_ends` says."""
        outer = self.newline_ends
        self.newline_ends = newline_ends
        try:
            return parse()
        finally:
            self.newline_ends = outer

    def _same_line(self, operator: str) -> None:
        """Where a newline ends the expression, the operand of `operator` starts on its line."""
        token = self.peek()
        if self.ends_here(token) and token.kind != "eof":
            raise self._wrapped(f"the operand of {operator!r}", self.pos)

    def _wrapped(self, what: str, pos: int) -> HclSyntaxError:
        return self.error(
            f"{what} is on the next line: an expression spans lines only inside parentheses, brackets or braces",
            pos,
        )

    # -- grammar --------------------------------------------------------------------------
    def parse_all(self) -> ast.Node:
        node = self.expression()
        token = self.peek()
        if token.kind != "eof":
            raise self.unexpected(token, " after expression")
        return node

    def expression(self) -> ast.Node:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self.error("expression nested too deeply")
        try:
            condition = self.binary(1)
            if self.ends_here(self.peek()) or not self.accept("?"):
                return condition
            self._same_line("?")
            if_true = self.expression()
            if self.ends_here(self.peek()) and self.is_punct(":"):
                raise self._wrapped("the ':' of a conditional", self.peek().start)
            self.expect(":")
            self._same_line(":")
            if_false = self.expression()
            return ast.Conditional(condition.line, condition, if_true, if_false)
        finally:
            self.depth -= 1

    def binary(self, min_precedence: int) -> ast.Node:
        left = self.unary()
        while True:
            token = self.peek()
            precedence = _BINARY_PRECEDENCE.get(token.text, 0) if token.kind == "punct" else 0
            if precedence < min_precedence or self.ends_here(token):
                return left
            self.pos = token.end
            self._same_line(token.text)
            right = self.binary(precedence + 1)
            left = ast.Binary(left.line, token.text, left, right)

    def unary(self) -> ast.Node:
        token = self.peek()
        if token.kind == "punct" and token.text in ("!", "-"):
            self.pos = token.end
            self.depth += 1
            if self.depth > MAX_DEPTH:
                raise self.error("expression nested too deeply")
            try:
                operand = self.unary()
            finally:
                self.depth -= 1
            line = self.line_at(token.start)
            if token.text == "-" and isinstance(operand, ast.Literal) and _is_number(operand.value):
                return ast.Literal(line, -operand.value)  # type: ignore[operator]
            return ast.Unary(line, token.text, operand)
        return self.postfix(self.primary())

    def postfix(self, node: ast.Node) -> ast.Node:
        while True:
            token = self.peek()
            if token.kind != "punct" or self.ends_here(token):
                return node
            if token.text == ".":
                node = self._dot(node, token)
            elif token.text == "[" and not token.newline_before:
                node = self._bracket(node, token)
            else:
                return node

    def _dot(self, node: ast.Node, dot: Token) -> ast.Node:
        self.pos = dot.end
        after = self.peek()
        if after.kind == "punct" and after.text == "*":
            self.pos = after.end
            steps: list[ast.SplatAttr | ast.SplatIndex] = []
            while self.is_punct(".") and self.peek2().kind == "ident" and not self.ends_here(self.peek()):
                self.advance()
                steps.append(ast.SplatAttr(self.expect_ident()))
            return ast.Splat(node.line, node, tuple(steps))
        if after.kind == "number" and after.text.isdigit():
            self.pos = after.end
            return ast.Index(node.line, node, ast.Literal(node.line, int(after.text)))
        return ast.GetAttr(node.line, node, self.expect_ident())

    def _bracket(self, node: ast.Node, bracket: Token) -> ast.Node:
        self.pos = bracket.end
        if self.is_punct("*") and self.peek2().text == "]":
            self.advance()
            self.advance()
            return self._full_splat(node)
        key = self.nested(False, self._index_key)
        return ast.Index(node.line, node, key)

    def _index_key(self) -> ast.Node:
        key = self.expression()
        self.expect("]")
        return key

    def _full_splat(self, target: ast.Node) -> ast.Node:
        """The steps after `target[*]`. A further `[*]` splats each element again, as HCL does:
        `a[*].b[*].c` is `[for e in a[*].b : e[*].c]`, a list of lists."""
        segments = [tuple(self._splat_steps())]
        while self._at_full_splat():
            for _ in range(3):
                self.advance()
            segments.append(tuple(self._splat_steps()))
        line = target.line
        element = ast.Variable(line, SPLAT_ELEMENT)
        sources = [target] + [element] * (len(segments) - 1)
        node: ast.Node = ast.Splat(line, sources[-1], segments[-1])
        for source, steps in zip(reversed(sources[:-1]), reversed(segments[:-1]), strict=True):
            node = ast.ForExpr(line, None, SPLAT_ELEMENT, ast.Splat(line, source, steps), node, None, None, False)
        return node

    def _at_full_splat(self) -> bool:
        """Whether `[*]` comes next, on the same line."""
        bracket = self.peek()
        if bracket.kind != "punct" or bracket.text != "[" or bracket.newline_before:
            return False
        star = self.peek_at(bracket.end)
        return star.text == "*" and self.peek_at(star.end).text == "]"

    def _splat_steps(self) -> list[ast.SplatAttr | ast.SplatIndex]:
        steps: list[ast.SplatAttr | ast.SplatIndex] = []
        while not (self._at_full_splat() or self.ends_here(self.peek())):
            if self.is_punct(".") and self.peek2().kind == "ident":
                self.advance()
                steps.append(ast.SplatAttr(self.expect_ident()))
            elif self.is_punct(".") and self.peek2().kind == "number":
                self.advance()
                steps.append(ast.SplatIndex(ast.Literal(0, int(self.advance().text))))
            elif self.is_punct("[") and not self.peek().newline_before:
                self.advance()
                steps.append(ast.SplatIndex(self.nested(False, self._index_key)))
            else:
                break
        return steps

    def primary(self) -> ast.Node:
        token = self.peek()
        line = self.line_at(token.start)
        if token.kind == "number":
            self.pos = token.end
            return ast.Literal(line, _number(token.text))
        if token.kind == "ident":
            return self._identifier(token, line)
        if token.kind == "quote":
            self.pos = token.end
            return self.templates.quoted(line)
        if token.kind == "heredoc":
            self.pos = token.end
            return self.templates.heredoc(token.text, line)
        if token.kind == "punct" and token.text == "(":
            self.pos = token.end
            return self.nested(False, self._parenthesized)
        if token.kind == "punct" and token.text == "[":
            self.pos = token.end
            return self.nested(False, lambda: self._tuple(line))
        if token.kind == "punct" and token.text == "{":
            self.pos = token.end
            return self._object(line)
        raise self.unexpected(token)

    def _parenthesized(self) -> ast.Node:
        inner = self.expression()
        self.expect(")")
        return inner

    def _identifier(self, token: Token, line: int) -> ast.Node:
        self.pos = token.end
        name = token.text
        if name in ("true", "false"):
            return ast.Literal(line, name == "true")
        if name == "null":
            return ast.Literal(line, None)
        if self.is_punct("::"):
            while self.accept("::"):
                name += "::" + self.expect_ident()
        after = self.peek()
        if after.kind == "punct" and after.text == "(" and not after.newline_before:
            self.pos = after.end
            return self.nested(False, lambda: self._call(name, line))
        return ast.Variable(line, name)

    def _call(self, name: str, line: int) -> ast.Node:
        args: list[ast.Node] = []
        expand = False
        while not self.accept(")"):
            args.append(self.expression())
            if self.accept("..."):
                expand = True
            if not self.accept(","):
                self.expect(")")
                break
        return ast.Call(line, name, tuple(args), expand)

    def _tuple(self, line: int) -> ast.Node:
        if self.is_keyword("for") and self.peek2().kind == "ident":
            return self._for(line, "]")
        items: list[ast.Node] = []
        while not self.accept("]"):
            items.append(self.expression())
            if not self.accept(","):
                self.expect("]")
                break
        return ast.TupleCons(line, tuple(items))

    def _object(self, line: int) -> ast.Node:
        if self.is_keyword("for") and self.peek2().kind == "ident":
            return self.nested(False, lambda: self._for(line, "}"))
        return self.nested(True, lambda: self._object_items(line))

    def _object_items(self, line: int) -> ast.Node:
        """`{ key = value, ... }`: items end with a comma or a newline; each is on one line."""
        items: list[tuple[ast.Node, ast.Node]] = []
        while not self.accept("}"):
            key = self._object_key()
            self._key_value_separator()
            items.append((key, self.expression()))
            after = self.peek()
            if not (self.accept(",") or after.newline_before or self.is_punct("}")):
                raise self.unexpected(after, ": object items are separated by a comma or a newline")
        return ast.ObjectCons(line, tuple(items))

    def _key_value_separator(self) -> None:
        """The `=` (or `:`) of an object item, on the line of its key and of its value."""
        separator = self.peek()
        if separator.newline_before:
            raise self.error("expected '=' after object key, on the same line")
        if not (self.accept("=") or self.accept(":")):
            raise self.error(f"expected '=' after object key, found {self.describe(separator)}", separator.start)
        if self.peek().newline_before:
            raise self.error("expected a value after '=', on the same line", separator.end)

    def _object_key(self) -> ast.Node:
        token = self.peek()
        after = self.peek2()
        if token.kind == "ident" and after.kind == "punct" and after.text in ("=", ":"):
            self.pos = token.end
            return ast.Literal(self.line_at(token.start), token.text)
        return self.expression()

    def _for(self, line: int, closer: str) -> ast.Node:
        self.advance()  # for
        first = self.expect_ident()
        second = self.expect_ident() if self.accept(",") else None
        if not self.is_keyword("in"):
            raise self.error("expected 'in' in for expression")
        self.advance()
        collection = self.expression()
        self.expect(":")
        key: ast.Node | None = None
        value = self.expression()
        if closer == "}":
            self.expect("=>")
            key, value = value, self.expression()
        grouping = closer == "}" and self.accept("...")
        condition = None
        if self.is_keyword("if"):
            self.advance()
            condition = self.expression()
        self.expect(closer)
        key_var, value_var = (first, second) if second is not None else (None, first)
        return ast.ForExpr(line, key_var, value_var, collection, value, key, condition, grouping)


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _number(text: str) -> int | float:
    if all(ch.isdigit() for ch in text):
        try:
            return int(text)
        except ValueError:  # more digits than Python converts: as large as `1e5000`, which is inf
            return float(text)
    value = float(text)
    return int(value) if value.is_integer() and abs(value) < 2**63 else value


def parse_expression(text: str, line: int = 1, column: int = 1) -> ast.Node:
    """Parse one HCL expression; raises HclSyntaxError with an absolute line and column."""
    return Parser(text, line, column).parse_all()


def parse_template(text: str, line: int = 1, column: int = 1) -> ast.Node:
    """Parse a bare template (a `.tf.json` string): `${...}` and `%{...}` are active, no escapes."""
    parser = Parser(text, line, column)
    return parser.templates.raw(line)

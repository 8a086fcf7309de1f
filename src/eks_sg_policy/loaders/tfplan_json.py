"""A strict JSON reader that remembers lines, for Terraform plan JSON.

Objects come back as `JsonObject` (a dict with the line of its `{` and of each key), arrays as
`JsonArray` (a list with the line of its `[` and of each item); strings, numbers, booleans and null
are plain Python values. JSON strings cannot hold a raw newline, so the current line is counted in
the whitespace between tokens only. `terraform show -json` writes the whole plan on one line (every
line is then 1); a pretty-printed plan (`jq .`) gives every resource its own lines.
"""

from __future__ import annotations

import json
import re

__all__ = ["JsonArray", "JsonError", "JsonObject", "parse_json"]

_WS = re.compile(r"[ \t\n\r]*")
_PLAIN_STRING = re.compile(r'"([^"\\\x00-\x1f]*)"')
_STRING = re.compile(r'"(?:[^"\\\x00-\x1f]|\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4}))*"')
_PLAIN_KEY = re.compile(r'"([^"\\\x00-\x1f]*)"([ \t\n\r]*):([ \t\n\r]*)')
_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?")
_LITERALS: dict[str, object] = {"true": True, "false": False, "null": None}


class JsonObject(dict[str, object]):
    """A JSON object with the 1-based line of its `{` and of each of its keys."""

    __slots__ = ("key_lines", "line")

    def __init__(self, line: int = 0) -> None:
        super().__init__()
        self.line = line
        self.key_lines: dict[str, int] = {}

    def line_of(self, key: str) -> int:
        """The line where `key` is written, else the line of the object."""
        return self.key_lines.get(key, self.line)


class JsonArray(list[object]):
    """A JSON array with the 1-based line of its `[` and of each item."""

    __slots__ = ("item_lines", "line")

    def __init__(self, line: int = 0) -> None:
        super().__init__()
        self.line = line
        self.item_lines: list[int] = []

    def line_of(self, index: int) -> int:
        return self.item_lines[index] if 0 <= index < len(self.item_lines) else self.line


class JsonError(Exception):
    """Text that is not JSON: what is wrong, with its 1-based line and column."""

    def __init__(self, message: str, line: int, column: int) -> None:
        super().__init__(message)
        self.message = message
        self.line = line
        self.column = column


def parse_json(text: str) -> object:
    """Parse one JSON document (RFC 8259, no NaN or Infinity)."""
    return _Parser(text).document()


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.line = 1

    def document(self) -> object:
        pos = self._ws(0)
        value, pos = self._value(pos)
        pos = self._ws(pos)
        if pos != len(self.text):
            raise self._error("extra data after the JSON value", pos)
        return value

    def _ws(self, pos: int) -> int:
        match = _WS.match(self.text, pos)
        end = match.end() if match else pos
        if end > pos:
            self.line += self.text.count("\n", pos, end)
        return end

    def _error(self, message: str, pos: int) -> JsonError:
        start = self.text.rfind("\n", 0, pos) + 1
        line = self.text.count("\n", 0, pos) + 1
        return JsonError(message, line, pos - start + 1)

    def _value(self, pos: int) -> tuple[object, int]:
        char = self.text[pos : pos + 1]
        if char == "{":
            return self._object(pos)
        if char == "[":
            return self._array(pos)
        if char == '"':
            return self._string(pos)
        number = _NUMBER.match(self.text, pos)
        if number and number.end() > pos:
            raw = number.group(0)
            if number.group(1) or number.group(2):
                return float(raw), number.end()
            return _integer(raw), number.end()
        for word, value in _LITERALS.items():
            if self.text.startswith(word, pos):
                return value, pos + len(word)
        if not char:
            raise self._error("unexpected end of the document", pos)
        raise self._error(f"expected a JSON value, found {char!r}", pos)

    def _string(self, pos: int) -> tuple[str, int]:
        plain = _PLAIN_STRING.match(self.text, pos)
        if plain:
            return plain.group(1), plain.end()
        full = _STRING.match(self.text, pos)
        if full is None:
            raise self._error("invalid string (unterminated, a control character or a bad escape)", pos)
        decoded: str = json.loads(full.group(0))
        return decoded, full.end()

    def _object(self, pos: int) -> tuple[JsonObject, int]:
        obj = JsonObject(self.line)
        pos = self._ws(pos + 1)
        if self.text[pos : pos + 1] == "}":
            return obj, pos + 1
        while True:
            if self.text[pos : pos + 1] != '"':
                raise self._error("expected a property name in double quotes", pos)
            key_line = self.line
            fast = _PLAIN_KEY.match(self.text, pos)  # the common case: `"key": ` in one match
            if fast is not None:
                key = fast.group(1)
                self.line += self.text.count("\n", fast.end(1), fast.end())
                pos = fast.end()
            else:
                key, pos = self._string(pos)
                pos = self._ws(pos)
                if self.text[pos : pos + 1] != ":":
                    raise self._error("expected ':' after a property name", pos)
                pos = self._ws(pos + 1)
            value, pos = self._value(pos)
            obj[key] = value
            obj.key_lines[key] = key_line
            pos = self._ws(pos)
            char = self.text[pos : pos + 1]
            if char == "}":
                return obj, pos + 1
            if char != ",":
                raise self._error("expected ',' or '}' in an object", pos)
            pos = self._ws(pos + 1)

    def _array(self, pos: int) -> tuple[JsonArray, int]:
        array = JsonArray(self.line)
        pos = self._ws(pos + 1)
        if self.text[pos : pos + 1] == "]":
            return array, pos + 1
        while True:
            array.item_lines.append(self.line)
            value, pos = self._value(pos)
            array.append(value)
            pos = self._ws(pos)
            char = self.text[pos : pos + 1]
            if char == "]":
                return array, pos + 1
            if char != ",":
                raise self._error("expected ',' or ']' in an array", pos)
            pos = self._ws(pos + 1)


def _integer(raw: str) -> int | float:
    """An integer; one with more digits than Python converts is read as the float it rounds to
    (inf, like `1e5000`), for the attribute that holds it to reject with its own line."""
    try:
        return int(raw)
    except ValueError:
        return float(raw)

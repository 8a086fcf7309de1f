"""Read CloudFormation YAML and JSON into plain Python values that remember their 1-based lines.

The shape is the one cfn-lint produces (short-form tags become `{"Fn::X": ...}`, `!Ref` becomes
`{"Ref": ...}`), built with PyYAML's safe loader (libyaml when present) so that the CLI never pays
for importing cfn-lint. Mappings, sequences and strings come back as `LineDict`, `LineList` and
`LineStr`; ints, bools and None stay plain. Numbers with a fraction and timestamps keep their source
text (CloudFormation reads them as strings, and `1.10` must not become `1.1`), and so do integers
with more digits than Python converts.
"""

from __future__ import annotations

import gc
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import yaml

from ..errors import ScanError
from ..textfile import decode

__all__ = [
    "LineDict",
    "LineList",
    "LineStr",
    "decode",
    "item_lines",
    "load",
    "looks_like_cloudformation",
    "strings",
    "template_resources",
]


class LineDict(dict[str, Any]):
    """A mapping with the line where it starts and the line of each key."""

    __slots__ = ("key_lines", "line")

    def __init__(self, items: Any = (), line: int = 0, key_lines: dict[str, int] | None = None) -> None:
        super().__init__(items)
        self.line = line
        self.key_lines: dict[str, int] = key_lines if key_lines is not None else {}


class LineList(list[Any]):
    """A sequence with the line where it starts and the line of each item."""

    __slots__ = ("item_lines", "line")

    def __init__(self, items: Any = (), line: int = 0, item_lines: list[int] | None = None) -> None:
        super().__init__(items)
        self.line = line
        self.item_lines: list[int] = item_lines if item_lines is not None else []


class LineStr(str):
    """A string with the line where it was written."""

    __slots__ = ("line",)
    line: int

    def __new__(cls, value: str, line: int = 0) -> LineStr:
        obj = super().__new__(cls, value)
        obj.line = line
        return obj


if TYPE_CHECKING:
    _BaseLoader = yaml.SafeLoader
else:
    _BaseLoader = yaml.CSafeLoader if yaml.__with_libyaml__ else yaml.SafeLoader

_ALIAS_MESSAGE = "YAML aliases are not allowed in CloudFormation templates"
_BARE_TAGS = frozenset({"Ref", "Condition"})


class _AliasFound(Exception):
    pass


def _line(node: yaml.Node) -> int:
    return int(node.start_mark.line) + 1


def _integer(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> int | LineStr:
    """A YAML integer; one with more digits than Python converts (thousands) keeps its source text,
    like a number with a fraction, for the property that reads it to reject with its own line."""
    try:
        return int(loader.construct_yaml_int(node))
    except ValueError:
        return LineStr(str(node.value), _line(node))


def load(file: str, text: str, loader: type[yaml.SafeLoader] | None = None) -> Any:
    """Parse one YAML or JSON document; raise `ScanError` with the 1-based line on any problem."""
    text = text.removeprefix("\ufeff")
    cls = loader or _BaseLoader
    try:
        return _load_once(file, text, cls)
    except _SyntaxError as first:
        # JSON is YAML except for tabs between tokens and the `\/` escape: retry with those rewritten.
        normalized = _normalize_json(text) if text.lstrip().startswith(("{", "[")) else text
        if normalized == text:
            raise
        try:
            return _load_once(file, normalized, cls)
        except _SyntaxError:
            raise first from None


class _SyntaxError(ScanError):
    """The text is not YAML at all (as opposed to YAML that CloudFormation rejects)."""


def _load_once(file: str, text: str, cls: type[yaml.SafeLoader]) -> Any:
    loader = cls(text)
    # Building creates many containers and no cycles: the cyclic collector would only rescan them.
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _Builder(file, loader).document()
    except _AliasFound:
        raise ScanError(file, _ALIAS_MESSAGE, line=_alias_line(text, cls)) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or exc.context or "invalid YAML"
        if exc.problem and exc.context:
            where = f" that starts at line {exc.context_mark.line + 1}" if exc.context_mark else ""
            problem = f"{problem} ({exc.context}{where})"
        if mark is None:
            raise _SyntaxError(file, problem) from None
        raise _SyntaxError(file, problem, line=mark.line + 1, column=mark.column + 1) from None
    except yaml.reader.ReaderError as exc:
        line = text[: exc.position].count("\n") + 1
        raise _SyntaxError(
            file, f"character #x{exc.character:04x} is not allowed in YAML ({exc.reason})", line
        ) from None
    except yaml.YAMLError as exc:
        raise _SyntaxError(file, str(exc)) from None
    finally:
        loader.dispose()
        if collecting:
            gc.enable()


MAX_DEPTH = 500  # mappings and sequences inside each other; real templates stay under 20
_ONE_DOCUMENT = "a template is one YAML document, but found another one here"
_STR, _INT, _MERGE = "tag:yaml.org,2002:str", "tag:yaml.org,2002:int", "tag:yaml.org,2002:merge"
_RAW = frozenset({"tag:yaml.org,2002:float", "tag:yaml.org,2002:timestamp"})


class _Open:
    """A mapping or sequence being read: its value, the key waiting for its value, the tag that
    wraps it (`!GetAZs {...}`) and the line it starts on."""

    __slots__ = ("key", "key_line", "line", "tag", "value")

    def __init__(self, value: LineDict | LineList, tag: str | None, line: int) -> None:
        self.value, self.tag, self.line = value, tag, line
        self.key: LineStr | None = None
        self.key_line = 0


class _Builder:
    """Values straight from the parser's events, without a node tree (the whole document as nodes
    costs as much memory as the values) and without PyYAML's per-node constructor dispatch (its
    constructors serve only booleans, nulls, integers and rarer scalar types). Iterative: nesting
    depth costs no interpreter stack, and `MAX_DEPTH` bounds it."""

    def __init__(self, file: str, loader: yaml.SafeLoader) -> None:
        self.file, self.loader = file, loader
        self.implicit = loader.yaml_implicit_resolvers

    def document(self) -> Any:
        next_event: Callable[[], Any] = self.loader.get_event
        next_event()  # stream start
        if isinstance(next_event(), yaml.StreamEndEvent):
            return None  # no document at all (the document start was just read otherwise)
        value = self._value(next_event)
        next_event()  # document end
        extra = next_event()
        if not isinstance(extra, yaml.StreamEndEvent):
            mark = extra.start_mark
            raise ScanError(self.file, _ONE_DOCUMENT, line=mark.line + 1, column=mark.column + 1)
        return value

    def _value(self, next_event: Callable[[], Any]) -> Any:
        stack: list[_Open] = []
        while True:
            event = next_event()
            kind = type(event)
            line = event.start_mark.line + 1
            top = stack[-1] if stack else None
            if top is not None and top.key is None and kind is not yaml.MappingEndEvent and isinstance(top.value, dict):
                self._key(top, event, kind, line)
                continue
            if kind is yaml.ScalarEvent:
                value = self._scalar(event, line)
            elif kind is yaml.MappingStartEvent or kind is yaml.SequenceStartEvent:
                if len(stack) >= MAX_DEPTH:
                    raise ScanError(self.file, "nesting too deep", line=line)
                container = LineDict(line=line) if kind is yaml.MappingStartEvent else LineList(line=line)
                tag = event.tag
                stack.append(_Open(container, tag if tag and tag != "!" and tag[0] == "!" else None, line))
                continue
            elif kind is yaml.MappingEndEvent or kind is yaml.SequenceEndEvent:
                done = stack.pop()
                value, line = done.value, done.line
                if done.tag is not None:
                    value = _intrinsic(done.tag, value, line)
            elif kind is yaml.AliasEvent:
                raise _AliasFound
            else:  # pragma: no cover - the parser yields nothing else inside a document
                raise ScanError(self.file, f"unexpected YAML event {kind.__name__}", line=line)
            if not stack:
                return value
            self._place(stack[-1], value, line)

    def _key(self, into: _Open, event: Any, kind: type, line: int) -> None:
        """The event where a mapping expects its next key."""
        if kind is yaml.AliasEvent:
            raise _AliasFound
        if kind is not yaml.ScalarEvent:
            raise ScanError(self.file, "a mapping key must be a plain string", line=line)
        if event.tag is None and self._resolve(event.value, event.implicit) == _MERGE:
            raise ScanError(self.file, "YAML merge keys (<<) are not allowed in CloudFormation templates", line=line)
        into.key, into.key_line = LineStr(event.value, line), line

    def _place(self, into: _Open, value: Any, line: int) -> None:
        container = into.value
        if isinstance(container, LineList):
            container.append(value)
            container.item_lines.append(line)
            return
        key, into.key = into.key, None
        assert key is not None  # a value follows its key
        if key in container:
            first = container.key_lines[key]
            raise ScanError(self.file, f"duplicate key '{key}' (first at line {first})", line=into.key_line)
        container[key] = value
        container.key_lines[key] = into.key_line

    def _scalar(self, event: Any, line: int) -> Any:
        tag, text = event.tag, event.value
        if tag is None or tag == "!":
            tag = self._resolve(text, event.implicit)
        if tag == _STR:
            return LineStr(text, line)
        if tag[0] == "!":
            return _intrinsic(tag, LineStr(text, line), line)
        if tag in _RAW:
            return LineStr(text, line)
        if tag == _MERGE:
            raise ScanError(self.file, "YAML merge keys (<<) are not allowed in CloudFormation templates", line=line)
        node = yaml.ScalarNode(tag, text, event.start_mark, event.end_mark, event.style)
        if tag == _INT:
            return _integer(self.loader, node)
        return self.loader.construct_object(node, deep=True)  # bool, null and the rare others

    def _resolve(self, text: str, implicit: tuple[bool, bool]) -> str:
        """PyYAML's implicit tag of a scalar (`BaseResolver.resolve`), without its per-call lists."""
        if not implicit[0]:
            return _STR  # quoted
        for tag, pattern in self.implicit.get(text[0] if text else "", ()):
            if pattern.match(text):
                return str(tag)
        return _STR


def _intrinsic(tag: str, value: Any, line: int) -> LineDict:
    """`!Ref X`, `!GetAtt A.B`, `!Sub [...]`: the long form `{"Fn::X": value}`."""
    suffix = tag[1:]
    name = suffix if suffix in _BARE_TAGS else f"Fn::{suffix}"
    if suffix == "GetAtt" and isinstance(value, LineStr) and "." in value:
        resource, attribute = value.split(".", 1)
        value = LineList([LineStr(resource, line), LineStr(attribute, line)], line=line, item_lines=[line, line])
    return LineDict({name: value}, line=line, key_lines={name: line})


def _alias_line(text: str, cls: type[yaml.SafeLoader]) -> int | None:
    for event in yaml.parse(text, Loader=cls):
        if isinstance(event, yaml.AliasEvent):
            return int(getattr(event.start_mark, "line", -1)) + 1
    return None


def _normalize_json(text: str) -> str:
    """Rewrite what JSON allows and YAML does not, keeping every line where it was: tabs
    between tokens become spaces and `\\/` inside strings becomes `/`."""
    out: list[str] = []
    in_string = False
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if in_string:
            if ch == "\\" and i + 1 < n:
                out.append("/" if text[i + 1] == "/" else text[i : i + 2])
                i += 2
                continue
            if ch == '"':
                in_string = False
            out.append(ch)
        elif ch == '"':
            in_string = True
            out.append(ch)
        else:
            out.append(" " if ch == "\t" else ch)
        i += 1
    return "".join(out)


_SNIFF = re.compile(r"AWSTemplateFormatVersion|[\"']?Type[\"']?\s*:\s*[\"']?(?:AWS|Custom)::")


def looks_like_cloudformation(text: str) -> bool:
    """A cheap textual guess, used to tell a broken template from a YAML/JSON file of another kind."""
    return _SNIFF.search(text) is not None


def template_resources(file: str, document: Any) -> LineDict | None:
    """The Resources mapping of a template (the document itself for a Resources-only fragment,
    whose top-level values are `{Type: AWS::...}`); None when the document is not CloudFormation."""
    if not isinstance(document, LineDict):
        return None
    declared = "AWSTemplateFormatVersion" in document
    if "Resources" in document:
        resources = document["Resources"]
        if isinstance(resources, LineDict) and (declared or _typed(resources)):
            return resources
        if declared:
            raise ScanError(file, "Resources must be a mapping of resources", line=document.key_lines["Resources"])
        return None
    if declared:
        raise ScanError(file, "the template has no Resources", line=document.key_lines["AWSTemplateFormatVersion"])
    if document and all(isinstance(v, dict) and isinstance(v.get("Type"), str) for v in document.values()):
        return document if _typed(document) else None
    return None


def _typed(node: LineDict) -> bool:
    return any(isinstance(v, dict) and str(v.get("Type", "")).startswith(("AWS::", "Custom::")) for v in node.values())


def item_lines(value: list[Any], line: int) -> list[int]:
    """The line of each item of a list, `line` for each when the list does not know them."""
    lines = getattr(value, "item_lines", None)
    return list(lines) if lines is not None and len(lines) == len(value) else [line] * len(value)


def strings(node: Any) -> str:
    """Every string in a node, one per line (to sniff user data)."""
    if isinstance(node, dict | list):
        return "\n".join(strings(v) for v in (node.values() if isinstance(node, dict) else node))
    return node if isinstance(node, str) else ""

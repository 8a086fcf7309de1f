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


def _make_loader(base: type[yaml.SafeLoader]) -> type[yaml.SafeLoader]:
    """A loader class over `base` (libyaml or pure Python) with the CloudFormation constructors."""

    class Loader(base):  # type: ignore[valid-type,misc]
        file = ""

        def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
            # Without aliases every node is constructed exactly once; a second visit is an alias.
            if node in self.constructed_objects or node in self.recursive_objects:
                raise _AliasFound
            return super().construct_object(node, deep=deep)

    def construct_map(loader: Any, node: yaml.MappingNode) -> LineDict:
        result = LineDict(line=_line(node))
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                raise ScanError(
                    loader.file,
                    "YAML merge keys (<<) are not allowed in CloudFormation templates",
                    line=_line(key_node),
                )
            if not isinstance(key_node, yaml.ScalarNode):
                raise ScanError(loader.file, "a mapping key must be a plain string", line=_line(key_node))
            if key_node in loader.constructed_objects:
                raise _AliasFound
            loader.constructed_objects[key_node] = None
            key = LineStr(key_node.value, _line(key_node))
            if key in result:
                first = result.key_lines[key]
                raise ScanError(loader.file, f"duplicate key '{key}' (first at line {first})", line=_line(key_node))
            result[key] = loader.construct_object(value_node)
            result.key_lines[key] = key.line
        return result

    def construct_seq(loader: Any, node: yaml.SequenceNode) -> LineList:
        items = [loader.construct_object(child) for child in node.value]
        return LineList(items, line=_line(node), item_lines=[_line(child) for child in node.value])

    def construct_str(loader: Any, node: yaml.ScalarNode) -> LineStr:
        return LineStr(loader.construct_scalar(node), _line(node))

    def construct_raw(loader: Any, node: yaml.ScalarNode) -> LineStr:
        return LineStr(str(node.value), _line(node))

    def construct_int(loader: Any, node: yaml.ScalarNode) -> int | LineStr:
        return _integer(loader, node)

    def construct_tag(loader: Any, suffix: str, node: yaml.Node) -> LineDict:
        name = suffix if suffix in _BARE_TAGS else f"Fn::{suffix}"
        value: Any
        if isinstance(node, yaml.ScalarNode):
            value = construct_str(loader, node)
            if suffix == "GetAtt" and "." in value:
                resource, attribute = value.split(".", 1)
                value = LineList(
                    [LineStr(resource, value.line), LineStr(attribute, value.line)],
                    line=value.line,
                    item_lines=[value.line, value.line],
                )
        elif isinstance(node, yaml.SequenceNode):
            value = construct_seq(loader, node)
        else:
            value = construct_map(loader, node)  # type: ignore[arg-type]
        return LineDict({name: value}, line=_line(node), key_lines={name: _line(node)})

    Loader.add_constructor("tag:yaml.org,2002:map", construct_map)
    Loader.add_constructor("tag:yaml.org,2002:seq", construct_seq)
    Loader.add_constructor("tag:yaml.org,2002:str", construct_str)
    Loader.add_constructor("tag:yaml.org,2002:int", construct_int)
    Loader.add_constructor("tag:yaml.org,2002:float", construct_raw)
    Loader.add_constructor("tag:yaml.org,2002:timestamp", construct_raw)
    Loader.add_multi_constructor("!", construct_tag)
    return Loader


def _integer(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> int | LineStr:
    """A YAML integer; one with more digits than Python converts (thousands) keeps its source text,
    like a number with a fraction, for the property that reads it to reject with its own line."""
    try:
        return int(loader.construct_yaml_int(node))
    except ValueError:
        return LineStr(str(node.value), _line(node))


_Loader = _make_loader(_BaseLoader)


def load(file: str, text: str, loader: type[yaml.SafeLoader] | None = None) -> Any:
    """Parse one YAML or JSON document; raise `ScanError` with the 1-based line on any problem."""
    text = text.removeprefix("\ufeff")
    cls = loader or _Loader
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
    loader.file = file  # type: ignore[attr-defined]
    # Building creates many containers and no cycles: the cyclic collector would only rescan them.
    collecting = gc.isenabled()
    gc.disable()
    try:
        node = loader.get_single_node()
        return None if node is None else _Builder(file, loader).build(node)
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
    except RecursionError:
        raise ScanError(file, "nesting too deep") from None
    finally:
        loader.dispose()
        if collecting:
            gc.enable()


_STR, _MAP, _SEQ = "tag:yaml.org,2002:str", "tag:yaml.org,2002:map", "tag:yaml.org,2002:seq"
_INT = "tag:yaml.org,2002:int"
_RAW = frozenset({"tag:yaml.org,2002:float", "tag:yaml.org,2002:timestamp"})


class _Builder:
    """Values straight from the composed node tree: the same result as `_Loader`'s constructors,
    without PyYAML's per-node constructor dispatch (the cost that dominates large templates)."""

    def __init__(self, file: str, loader: yaml.SafeLoader) -> None:
        self.file, self.loader = file, loader
        self.seen: set[int] = set()

    def build(self, node: yaml.Node) -> Any:
        if id(node) in self.seen:  # the composer resolves an alias to the node it names
            raise _AliasFound
        self.seen.add(id(node))
        tag = node.tag
        if tag == _STR:
            return LineStr(node.value, node.start_mark.line + 1)
        if tag == _MAP:
            return self.mapping(node)  # type: ignore[arg-type]
        if tag == _SEQ:
            return self.sequence(node)  # type: ignore[arg-type]
        if tag in _RAW:
            return LineStr(str(node.value), node.start_mark.line + 1)
        if tag == _INT:
            return _integer(self.loader, node)  # type: ignore[arg-type]
        if tag.startswith("!"):
            return self.intrinsic(tag[1:], node)
        return self.loader.construct_object(node, deep=True)  # int, bool, null and the rare others

    def mapping(self, node: yaml.MappingNode) -> LineDict:
        result = LineDict(line=node.start_mark.line + 1)
        key_lines = result.key_lines
        for key_node, value_node in node.value:
            line = key_node.start_mark.line + 1
            if key_node.tag == "tag:yaml.org,2002:merge":
                raise ScanError(
                    self.file, "YAML merge keys (<<) are not allowed in CloudFormation templates", line=line
                )
            if not isinstance(key_node, yaml.ScalarNode):
                raise ScanError(self.file, "a mapping key must be a plain string", line=line)
            if id(key_node) in self.seen:
                raise _AliasFound
            self.seen.add(id(key_node))
            key = LineStr(key_node.value, line)
            if key in result:
                raise ScanError(self.file, f"duplicate key '{key}' (first at line {key_lines[key]})", line=line)
            result[key] = self.build(value_node)
            key_lines[key] = line
        node.value = []  # built: let the nodes go now rather than hold the whole tree to the end
        return result

    def sequence(self, node: yaml.SequenceNode) -> LineList:
        items = [self.build(child) for child in node.value]
        lines = [c.start_mark.line + 1 for c in node.value]
        node.value = []  # built: let the nodes go now rather than hold the whole tree to the end
        return LineList(items, line=node.start_mark.line + 1, item_lines=lines)

    def intrinsic(self, suffix: str, node: yaml.Node) -> LineDict:
        name = suffix if suffix in _BARE_TAGS else f"Fn::{suffix}"
        line = node.start_mark.line + 1
        value: Any
        if isinstance(node, yaml.ScalarNode):
            value = LineStr(self.loader.construct_scalar(node), line)
            if suffix == "GetAtt" and "." in value:
                resource, attribute = value.split(".", 1)
                value = LineList(
                    [LineStr(resource, line), LineStr(attribute, line)], line=line, item_lines=[line, line]
                )
        elif isinstance(node, yaml.SequenceNode):
            value = self.sequence(node)
        else:
            value = self.mapping(node)  # type: ignore[arg-type]
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

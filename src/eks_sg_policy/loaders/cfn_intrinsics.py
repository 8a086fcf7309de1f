"""Resolve CloudFormation intrinsic functions as far as the template and `--param` allow.

`Resolver.resolve(node)` gives plain values (containers keep their lines: `LineDict`, `LineList`)
or one of the tokens below, which say what a value *is* when its text is only known at deploy
time: the id of a resource, an attribute, a parameter nobody gave, an export of another stack.
Anything else that cannot be computed becomes a `model.Unresolved` that says what, where and how
to settle it. `NO_VALUE` (`AWS::NoValue`) means "property absent": it disappears from mappings and
lists, and a caller that gets it for a property treats the property as not written.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from enum import Enum
from typing import Any

from .. import net
from ..errors import ScanError
from ..model import Provenance, Unresolved
from .cfn_yaml import LineDict, LineList, LineStr


@dataclass(frozen=True, slots=True)
class ResourceRef:
    logical_id: str  # `Ref` of a resource: its physical id


@dataclass(frozen=True, slots=True)
class AttRef:
    logical_id: str  # `Fn::GetAtt` of a resource attribute
    attribute: str


@dataclass(frozen=True, slots=True)
class ParamRef:
    name: str  # a parameter with no value (no Default, no --param), or one read from SSM at deploy time


@dataclass(frozen=True, slots=True)
class ImportRef:
    name: str  # `Fn::ImportValue`: the export name, or the canonical text of a name not computable
    name_resolved: bool = True


class NoValue(Enum):
    NO_VALUE = "AWS::NoValue"


NO_VALUE = NoValue.NO_VALUE
Token = ResourceRef | AttRef | ParamRef | ImportRef
_PSEUDO = "AccountId NotificationARNs Partition Region StackId StackName URLSuffix"
PSEUDO_PARAMETERS = frozenset(f"AWS::{name}" for name in _PSEUDO.split())
MAX_DEPTH = 100
_SUB_VARIABLE = re.compile(r"\$\{([^}]*)\}")


@dataclass(frozen=True, slots=True)
class _Hole:
    value: Token | Unresolved
    text: str  # how the value is written, e.g. "${ClusterName}"


@dataclass(frozen=True, slots=True)
class _Text:
    """A string some parts of which are only known at deploy time (an Fn::Sub or Fn::Join)."""

    parts: tuple[str | _Hole, ...]
    line: int

    @property
    def text(self) -> str:
        return "".join(p if isinstance(p, str) else p.text for p in self.parts)


def is_intrinsic(node: object) -> bool:
    return isinstance(node, dict) and len(node) == 1 and _function_name(node) is not None


def _function_name(node: Mapping[str, Any]) -> str | None:
    (key,) = node.keys()
    return key if key == "Ref" or str(key).startswith("Fn::") else None


def _render(node: object) -> str:
    """The canonical text of an expression, used to compare identical unresolved values."""
    if isinstance(node, dict) and len(node) == 1:
        (key, arg), *_ = node.items()
        if key == "Ref" and isinstance(arg, str):
            return "${" + arg + "}"
        if key == "Fn::GetAtt" and isinstance(arg, list) and all(isinstance(a, str) for a in arg):
            return "${" + ".".join(arg) + "}"
        if key == "Fn::GetAtt" and isinstance(arg, str):
            return "${" + arg + "}"
        if key == "Fn::Sub" and isinstance(arg, str):
            return arg
    return "${" + json.dumps(node, sort_keys=True, separators=(",", ":"), default=str) + "}"


def _as_text(value: object) -> str | None:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return str(value)
    return None


def _unknown(value: object) -> bool:
    if isinstance(value, list):
        return any(_unknown(v) for v in value)
    return isinstance(value, Unresolved | ResourceRef | AttRef | ParamRef | ImportRef | _Text | NoValue)


class Resolver:
    """Intrinsic-function evaluation for one template (Parameters, Mappings, Conditions, Resources)."""

    def __init__(
        self, file: str, template: Mapping[str, Any], params: Mapping[str, str], resources: Mapping[str, Any]
    ) -> None:
        self.file = file
        self.parameters = self._section(template, "Parameters")
        self.mappings = self._section(template, "Mappings")
        self.conditions = self._section(template, "Conditions")
        self.resources = resources
        self.overrides = dict(params)
        self._condition_cache: dict[str, bool | None] = {}
        # Conditions taken as true or false while a resource is read once per case (see `assuming`),
        # and the undecided conditions that `Fn::If` met, so that the loader knows which cases to try.
        self._assumed: dict[str, bool] = {}
        self.undecided_ifs: dict[str, int] = {}  # condition -> line of the first Fn::If on it
        self._visiting: list[str] = []
        self._depth = 0
        self._resource = ""
        self._functions: dict[str, Callable[[Any, int], Any]] = {
            "Ref": self._ref,
            "Fn::GetAtt": self._get_att,
            "Fn::Sub": self._sub,
            "Fn::Join": self._join,
            "Fn::Select": self._select,
            "Fn::Split": self._split,
            "Fn::FindInMap": self._find_in_map,
            "Fn::If": self._if,
            "Fn::ImportValue": self._import_value,
            "Fn::Base64": lambda arg, line: self._eval(arg),
            "Fn::Cidr": self._cidr,
            "Fn::Length": self._length,
        }
        for name, decl in self.parameters.items():
            if not isinstance(decl, dict):
                raise ScanError(file, f"parameter {name} must be a mapping", line=self.parameter_line(name))

    def _section(self, template: Mapping[str, Any], name: str) -> LineDict:
        section = template.get(name)
        if section is None:
            return LineDict()
        if not isinstance(section, LineDict):
            line = getattr(template, "key_lines", {}).get(name)
            raise ScanError(self.file, f"{name} must be a mapping", line=line)
        return section

    # --- public API -----------------------------------------------------------------------

    def resolve(self, node: object, resource: str = "") -> Any:
        """The value of `node`: plain data, a token, `NO_VALUE`, or an `Unresolved`."""
        saved, self._resource = self._resource, resource
        try:
            return self._finish(self._eval(node))
        except RecursionError:
            raise ScanError(self.file, "nesting too deep", line=getattr(node, "line", None)) from None
        finally:
            self._resource = saved

    def canonical(self, node: object, resource: str = "") -> str:
        """The text of a value when known, else a canonical rendering of its expression, so that
        two identical unresolved expressions compare equal (e.g. `${AWS::StackName}`)."""
        saved, self._resource = self._resource, resource
        try:
            value = self._eval(node)
        finally:
            self._resource = saved
        if isinstance(value, _Text):
            return value.text
        text = _as_text(value)
        return text if text is not None else _render(node)

    def condition(self, name: str, line: int, resource: str = "") -> bool | None:
        """A named condition, three-valued: None when it cannot be decided."""
        if not isinstance(name, str) or name not in self.conditions:
            raise ScanError(self.file, f"unknown condition '{name}'", line=line)
        if name in self._assumed:
            return self._assumed[name]
        if name in self._condition_cache and not self._assumed:
            return self._condition_cache[name]
        if name in self._visiting:
            cycle = " -> ".join([*self._visiting[self._visiting.index(name) :], name])
            raise ScanError(self.file, f"conditions refer to each other: {cycle}", line=line)
        if len(self._visiting) > MAX_DEPTH:
            raise ScanError(self.file, "conditions nested too deep", line=line)
        saved, self._resource = self._resource, resource or self._resource
        self._visiting.append(name)
        try:
            result = self._eval_condition(self.conditions[name], self.conditions.key_lines.get(name, line))
        except RecursionError:
            raise ScanError(self.file, "nesting too deep", line=line) from None
        finally:
            self._visiting.pop()
            self._resource = saved
        if not self._assumed:
            self._condition_cache[name] = result
        return result

    @contextmanager
    def assuming(self, values: dict[str, bool]) -> Iterator[None]:
        """Read values as if the named (undecidable) conditions had these values."""
        saved, self._assumed = self._assumed, {**self._assumed, **values}
        try:
            yield
        finally:
            self._assumed = saved

    def resource_condition(self, logical_id: str) -> tuple[bool | None, str | None]:
        """Whether a resource exists (three-valued) and the name of the condition that decides it."""
        resource = self.resources.get(logical_id)
        if not isinstance(resource, dict) or "Condition" not in resource:
            return True, None
        name = resource["Condition"]
        line = getattr(resource, "key_lines", {}).get("Condition", 0)
        return self.condition(name, line, logical_id), str(name)

    def condition_hint(self, name: str) -> str:
        """`--param` settings that would decide a condition."""
        names: list[str] = []
        self._collect_refs(self.conditions.get(name), names, set())
        missing = [n for n in names if self._has_no_value(n)]
        return " ".join(f"--param {n}=VALUE" for n in missing)

    def parameter_line(self, name: str) -> int:
        return int(self.parameters.key_lines.get(name, 0))

    def unresolved(self, value: object, line: int, resource: str = "") -> Unresolved:
        """Why a token or partial string has no text before deployment."""
        prov = Provenance(self.file, line, resource or self._resource)
        if isinstance(value, Unresolved):
            return value
        if isinstance(value, _Text):
            hole = next(p for p in value.parts if isinstance(p, _Hole))
            inner = self.unresolved(hole.value, value.line, resource)
            return Unresolved(f'{inner.what} (in "{value.text}")', prov, inner.hint)
        if isinstance(value, ParamRef):
            return Unresolved(f"parameter {value.name} has no value", prov, f"--param {value.name}=VALUE")
        if isinstance(value, ResourceRef):
            return Unresolved(f"the id of {value.logical_id} is only known after deployment", prov)
        if isinstance(value, AttRef):
            what = f"{value.logical_id}.{value.attribute} is only known after deployment"
            return Unresolved(what, prov)
        if isinstance(value, ImportRef):
            hint = "scan the stack that exports it in the same run"
            return Unresolved(f"export '{value.name}' comes from another stack", prov, hint)
        return Unresolved(f"unexpected value {value!r}", prov)

    # --- evaluation -----------------------------------------------------------------------

    def _prov(self, line: int) -> Provenance:
        return Provenance(self.file, line, self._resource)

    def _finish(self, value: Any) -> Any:
        return self.unresolved(value, value.line) if isinstance(value, _Text) else value

    def _eval(self, node: Any) -> Any:
        line = int(getattr(node, "line", 0))
        if self._depth >= MAX_DEPTH:
            raise ScanError(self.file, "values nested too deep", line=line or None)
        self._depth += 1
        try:
            if isinstance(node, dict):
                if len(node) == 1 and (fn := _function_name(node)) is not None:
                    call = self._functions.get(fn)
                    if call is None:
                        return Unresolved(f"{fn} is not evaluated by eks-sg-policy", self._prov(line))
                    return call(node[fn], line)
                return self._eval_mapping(node, line)
            if isinstance(node, list):
                return self._eval_list(node, line)
            return node
        finally:
            self._depth -= 1

    def _eval_mapping(self, node: Mapping[str, Any], line: int) -> LineDict:
        key_lines = getattr(node, "key_lines", {})
        out = LineDict(line=line)
        for key, child in node.items():
            value = self._finish(self._eval(child))
            if value is not NO_VALUE:
                out[key] = value
                out.key_lines[key] = key_lines.get(key, line)
        return out

    def _eval_list(self, node: list[Any], line: int) -> LineList:
        item_lines = getattr(node, "item_lines", [])
        out = LineList(line=line)
        for index, child in enumerate(node):
            value = self._finish(self._eval(child))
            if value is not NO_VALUE:
                out.append(value)
                out.item_lines.append(item_lines[index] if index < len(item_lines) else line)
        return out

    def _error(self, message: str, line: int) -> ScanError:
        return ScanError(self.file, message, line=line or None)

    def _has_no_value(self, name: str) -> bool:
        if name in PSEUDO_PARAMETERS:
            return name not in self.overrides
        return name in self.parameters and isinstance(self._parameter(name), ParamRef)

    def _parameter(self, name: str) -> Any:
        decl = self.parameters[name]
        ptype = str(decl.get("Type", "String"))
        raw: object = self.overrides.get(name)
        if raw is None:
            if ptype.startswith("AWS::SSM::Parameter::Value<") or "Default" not in decl:
                return ParamRef(str(name))  # an SSM parameter's Default is its path, not its value
            raw = decl["Default"]
            if isinstance(raw, list):
                raw = ",".join(str(_as_text(v)) for v in raw)
        text = LineStr(str(_as_text(raw)), self.parameter_line(name))
        if ptype.startswith("List<") or ptype == "CommaDelimitedList":
            return [LineStr(part.strip(), text.line) for part in text.split(",")]
        return text

    def _ref(self, arg: Any, line: int) -> Any:
        if not isinstance(arg, str):
            raise self._error("Ref takes the name of a parameter or resource", line)
        if arg == "AWS::NoValue":
            return NO_VALUE
        if arg in self.parameters:
            return self._parameter(arg)
        if arg in PSEUDO_PARAMETERS:
            if arg in self.overrides:
                return LineStr(self.overrides[arg], line)
            return Unresolved(f"{arg} is only known at deploy time", self._prov(line), f"--param {arg}=VALUE")
        if arg in self.resources:
            return self._resource_token(ResourceRef(str(arg)), line)
        raise self._error(f"Ref to undefined parameter or resource '{arg}'", line)

    def _resource_token(self, token: ResourceRef | AttRef, line: int) -> Any:
        exists, name = self.resource_condition(token.logical_id)
        if exists is False:
            what = f"{token.logical_id} is not created (condition {name} is false)"
            return Unresolved(what, self._prov(line), self.condition_hint(str(name)))
        return token

    def _get_att(self, arg: Any, line: int) -> Any:
        if isinstance(arg, str) and "." in arg:
            resource, attribute = arg.split(".", 1)
        elif isinstance(arg, list) and len(arg) == 2 and isinstance(arg[0], str):
            resource, attribute = arg[0], self.resolve(arg[1], self._resource)
            if not isinstance(attribute, str):
                return self.unresolved(attribute, line) if _unknown(attribute) else attribute
        else:
            raise self._error("Fn::GetAtt takes [resource, attribute] or 'resource.attribute'", line)
        if resource not in self.resources:
            raise self._error(f"Fn::GetAtt of undefined resource '{resource}'", line)
        return self._resource_token(AttRef(str(resource), str(attribute)), line)

    def _parts(self, value: Any, text: str, line: int) -> list[str | _Hole]:
        if isinstance(value, _Text):
            return list(value.parts)
        plain = _as_text(value)
        if plain is not None:
            return [plain]
        if isinstance(value, Unresolved | ResourceRef | AttRef | ParamRef | ImportRef):
            return [_Hole(value, text)]
        what = f"{text} is not a string"
        return [_Hole(Unresolved(what, self._prov(line)), text)]

    def _text(self, parts: list[str | _Hole], line: int) -> LineStr | _Text:
        if all(isinstance(p, str) for p in parts):
            return LineStr("".join(p for p in parts if isinstance(p, str)), line)
        merged: list[str | _Hole] = []
        for part in parts:
            if isinstance(part, str) and merged and isinstance(merged[-1], str):
                merged[-1] += part
            elif part != "":
                merged.append(part)
        return _Text(tuple(merged), line)

    def _sub(self, arg: Any, line: int) -> LineStr | _Text:
        variables: Mapping[str, Any] = {}
        if isinstance(arg, list) and len(arg) == 2 and isinstance(arg[0], str) and isinstance(arg[1], dict):
            arg, variables = arg
        elif not isinstance(arg, str):
            raise self._error("Fn::Sub takes a string or [string, {variables}]", line)
        parts: list[str | _Hole] = []
        position = 0
        for match in _SUB_VARIABLE.finditer(arg):
            parts.append(arg[position : match.start()])
            position = match.end()
            name = match.group(1)
            if name.startswith("!"):
                parts.append("${" + name[1:] + "}")
                continue
            name = name.strip()
            if name in variables:
                value = self._eval(variables[name])
            elif "." in name and name not in self.parameters:
                value = self._get_att(name, line)
            else:
                value = self._ref(name, line)
            parts.extend(self._parts(value, "${" + name + "}", line))
        parts.append(arg[position:])
        return self._text(parts, line)

    def _join(self, arg: Any, line: int) -> Any:
        if not (isinstance(arg, list) and len(arg) == 2 and isinstance(arg[0], str)):
            raise self._error("Fn::Join takes [delimiter, [values]]", line)
        delimiter, items = arg
        if isinstance(items, list):
            pairs = [(self._eval(item), _render(item)) for item in items]
        else:
            values = self._finish(self._eval(items))
            if not isinstance(values, list):
                return self._text([_Hole(values, _render(items))], line) if _unknown(values) else values
            pairs = [(value, _render(value)) for value in values]
        parts: list[str | _Hole] = []
        for index, (value, text) in enumerate(p for p in pairs if p[0] is not NO_VALUE):
            if index:
                parts.append(delimiter)
            parts.extend(self._parts(value, text, line))
        return self._text(parts, line)

    def _index(self, node: Any, line: int) -> int | Unresolved:
        index = self._finish(self._eval(node))
        if isinstance(index, str) and index.strip().isdigit():
            return int(index)
        if isinstance(index, int) and not isinstance(index, bool):
            return index
        if _unknown(index):
            return self.unresolved(index, line)
        raise self._error(f"Fn::Select index must be a number, not {index!r}", line)

    def _select(self, arg: Any, line: int) -> Any:
        if not (isinstance(arg, list) and len(arg) == 2):
            raise self._error("Fn::Select takes [index, [values]]", line)
        index, items = self._index(arg[0], line), arg[1]
        if isinstance(index, Unresolved):
            return index
        literal = isinstance(items, list)  # evaluate only the value selected
        if not literal:
            items = self._finish(self._eval(items))
            if not isinstance(items, list):
                return self.unresolved(items, line) if _unknown(items) else items
        if not 0 <= index < len(items):
            raise self._error(f"Fn::Select index {index} is outside the {len(items)} values", line)
        return self._eval(items[index]) if literal else items[index]

    def _split(self, arg: Any, line: int) -> Any:
        if not (isinstance(arg, list) and len(arg) == 2 and isinstance(arg[0], str) and arg[0]):
            raise self._error("Fn::Split takes [delimiter, string]", line)
        delimiter = arg[0]
        source = self._eval(arg[1])
        if isinstance(source, str):
            return LineList([LineStr(p, line) for p in source.split(delimiter)], line)
        if not isinstance(source, _Text):
            return self.unresolved(source, line) if _unknown(source) else source
        # Split a partly known string where the unknown parts sit between delimiters, as in
        # !Split [",", !Sub "${NodeSecurityGroup},${ExtraGroups}"].
        pieces: list[list[str | _Hole]] = [[]]
        for part in source.parts:
            if isinstance(part, _Hole):
                pieces[-1].append(part)
                continue
            first, *rest = part.split(delimiter)
            pieces[-1].append(first)
            pieces.extend([chunk] for chunk in rest)
        values: list[Any] = []
        for piece in pieces:
            kept = [p for p in piece if p != ""]
            if len(kept) == 1 and isinstance(kept[0], _Hole):
                values.append(kept[0].value)
            else:
                values.append(self._finish(self._text(piece, line)))
        return LineList(values, line, [line] * len(values))

    def _find_in_map(self, arg: Any, line: int) -> Any:
        if not (isinstance(arg, list) and len(arg) in (3, 4)):
            raise self._error("Fn::FindInMap takes [mapping, key, key]", line)
        keys: list[str] = []
        for node in arg[:3]:
            value = self._finish(self._eval(node))
            text = _as_text(value)
            if text is None:
                if _unknown(value):
                    inner = self.unresolved(value, line)
                    return Unresolved(f"Fn::FindInMap key: {inner.what}", inner.provenance, inner.hint)
                raise self._error(f"Fn::FindInMap key must be a string, not {value!r}", line)
            keys.append(text)
        default = arg[3].get("DefaultValue", NO_VALUE) if len(arg) == 4 and isinstance(arg[3], dict) else NO_VALUE
        current: Any = self.mappings
        for depth, key in enumerate(keys):
            if not isinstance(current, dict):
                raise self._error(f"Fn::FindInMap: {'.'.join(keys[:depth])} is not a mapping", line)
            if key not in current:
                if default is not NO_VALUE:
                    return self._eval(default)
                where = f"mapping '{keys[0]}'" if depth else "Mappings"
                raise self._error(f"Fn::FindInMap: {where} has no key '{key}'", line)
            current = current[key]
        return self._eval(current)

    def _if(self, arg: Any, line: int) -> Any:
        if not (isinstance(arg, list) and len(arg) == 3 and isinstance(arg[0], str)):
            raise self._error("Fn::If takes [condition, value if true, value if false]", line)
        decided = self.condition(arg[0], line, self._resource)
        if decided is None:
            self.undecided_ifs.setdefault(arg[0], line)
            what = f"Fn::If on condition {arg[0]} cannot be decided"
            return Unresolved(what, self._prov(line), self.condition_hint(arg[0]))
        return self._eval(arg[1] if decided else arg[2])

    def _import_value(self, arg: Any, line: int) -> ImportRef:
        value = self._eval(arg)
        text = _as_text(value)
        if text is not None:
            return ImportRef(text, True)
        return ImportRef(value.text if isinstance(value, _Text) else _render(arg), False)

    def _cidr(self, arg: Any, line: int) -> Any:
        values = self.resolve(arg, self._resource) if isinstance(arg, list) and len(arg) == 3 else None
        if not isinstance(values, list):
            raise self._error("Fn::Cidr takes [ip block, count, cidr bits]", line)
        if _unknown(values):
            return Unresolved("Fn::Cidr of a value known only at deploy time", self._prov(line))
        try:
            block, count, bits = net.parse_cidr(values[0]), int(str(values[1])), int(str(values[2]))
            subnets = block.subnets(new_prefix=block.max_prefixlen - bits)
            return LineList([LineStr(str(n), line) for _, n in zip(range(count), subnets, strict=False)], line)
        except ValueError as exc:  # net.NetValueError included
            raise self._error(f"Fn::Cidr: {exc}", line) from None

    def _length(self, arg: Any, line: int) -> Any:
        values = self._finish(self._eval(arg))
        if isinstance(values, list):
            return len(values)
        return self.unresolved(values, line) if _unknown(values) else self._error("Fn::Length of a non-list", line)

    # --- conditions -----------------------------------------------------------------------

    def _eval_condition(self, node: Any, line: int) -> bool | None:
        line = int(getattr(node, "line", 0)) or line
        if isinstance(node, bool):
            return node
        if not (isinstance(node, dict) and len(node) == 1):
            raise self._error("a condition must be Fn::Equals, Fn::And, Fn::Or, Fn::Not or Condition", line)
        ((fn, arg),) = node.items()
        if fn == "Condition":
            return self.condition(arg, line)
        if fn == "Fn::Equals":
            if not (isinstance(arg, list) and len(arg) == 2):
                raise self._error("Fn::Equals takes two values", line)
            left, right = (self._finish(self._eval(v)) for v in arg)
            if _unknown(left) or _unknown(right):
                return None
            return _equal_text(left) == _equal_text(right)
        if fn == "Fn::Not":
            if not (isinstance(arg, list) and len(arg) == 1):
                raise self._error("Fn::Not takes one condition", line)
            value = self._eval_condition(arg[0], line)
            return None if value is None else not value
        if fn in ("Fn::And", "Fn::Or"):
            if not (isinstance(arg, list) and 2 <= len(arg) <= 10):
                raise self._error(f"{fn} takes 2 to 10 conditions", line)
            values = [self._eval_condition(v, line) for v in arg]
            decisive: bool = fn == "Fn::Or"  # a True decides an Or, a False decides an And
            if decisive in values:
                return decisive
            return None if None in values else not decisive
        raise self._error(f"{fn} cannot be used in a condition", line)

    def _collect_refs(self, node: Any, names: list[str], seen: set[str]) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key in ("Ref", "Condition") and isinstance(value, str):
                    if key == "Ref" and value not in names:
                        names.append(value)
                    elif key == "Condition" and value not in seen and value in self.conditions:
                        seen.add(value)
                        self._collect_refs(self.conditions[value], names, seen)
                else:
                    self._collect_refs(value, names, seen)
        elif isinstance(node, list):
            for item in node:
                self._collect_refs(item, names, seen)
        elif isinstance(node, str) and "${" in node:
            names.extend(m.strip() for m in _SUB_VARIABLE.findall(node) if m.strip() not in names)


def _equal_text(value: object) -> object:
    if isinstance(value, list):
        return [_equal_text(v) for v in value]
    text = _as_text(value)
    return text if text is not None else value

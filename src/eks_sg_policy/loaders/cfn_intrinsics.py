"""Resolve CloudFormation intrinsic functions as far as the template and `--param` allow.

`Resolver.resolve(node)` gives plain values (containers keep their lines: `LineDict`, `LineList`)
or one of the tokens of `cfn_tokens`, which say what a value *is* when its text is only known at
deploy time: the id of a resource, an attribute, a parameter nobody gave, an export of another stack,
a value another template of a nested-stack system hands over.
Anything else that cannot be computed becomes a `model.Unresolved` that says what, where and how
to settle it. `NO_VALUE` (`AWS::NoValue`) means "property absent": it disappears from mappings and
lists, and a caller that gets it for a property treats the property as not written.

This module evaluates `Ref`, `Fn::GetAtt` and the functions that are neither strings nor conditions;
`cfn_strings` has Fn::Sub, Fn::Join, Fn::Select, Fn::Split and Fn::FindInMap, and `cfn_conditions`
the Conditions section and Fn::If.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from functools import partial
from typing import Any

from .. import net
from ..errors import ScanError
from ..model import Provenance, Unresolved
from . import cfn_strings
from .cfn_conditions import Conditions
from .cfn_tokens import (
    MAX_DEPTH,
    NO_VALUE,
    PSEUDO_PARAMETERS,
    AttRef,
    ImportRef,
    NoValue,
    ParamRef,
    PartialText,
    ResourceRef,
    StackValue,
    Token,
    as_text,
    function_name,
    is_intrinsic,
    is_unknown,
    render,
)
from .cfn_yaml import LineDict, LineList, LineStr

__all__ = [
    "MAX_DEPTH",
    "NO_VALUE",
    "PSEUDO_PARAMETERS",
    "AttRef",
    "ImportRef",
    "NoValue",
    "ParamRef",
    "Resolver",
    "ResourceRef",
    "Token",
    "is_intrinsic",
]


class Resolver:
    """Intrinsic-function evaluation for one template (Parameters, Mappings, Conditions, Resources).

    `params` are `--param` values; `bound` the values the parent stack passes to a nested template
    (text, a list, or a token: a `StackValue`, an `ImportRef`, an `Unresolved`), which win over them.
    `stack_output`, when set, gives the value of `Fn::GetAtt <NestedStack>.Outputs.<Name>`.
    """

    def __init__(
        self,
        file: str,
        template: Mapping[str, Any],
        params: Mapping[str, str],
        resources: Mapping[str, Any],
        bound: Mapping[str, Any] | None = None,
    ) -> None:
        self.file = file
        self.bound = dict(bound or {})
        self.stack_output: Callable[[str, str, int], Any] | None = None
        self.parameters = self._section(template, "Parameters")
        self.mappings = self._section(template, "Mappings")
        self.conditions = self._section(template, "Conditions")
        self.resources = resources
        self.overrides = dict(params)
        self._conditions = Conditions(file, self.conditions, self)
        self._depth = 0
        self._resource = ""
        self._functions: dict[str, Callable[[Any, int], Any]] = {
            "Ref": self.ref,
            "Fn::GetAtt": self.get_att,
            **{name: partial(function, self) for name, function in cfn_strings.FUNCTIONS.items()},
            "Fn::If": self._conditions.fn_if,
            "Fn::ImportValue": self._import_value,
            "Fn::Base64": lambda arg, line: self.evaluate(arg),
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
        with self._reading(resource):
            try:
                return self.finish(self.evaluate(node))
            except RecursionError:
                raise ScanError(self.file, "nesting too deep", line=getattr(node, "line", None)) from None

    def canonical(self, node: object, resource: str = "") -> str:
        """The text of a value when known, else a canonical rendering of its expression, so that
        two identical unresolved expressions compare equal (e.g. `${AWS::StackName}`)."""
        with self._reading(resource):
            value = self.evaluate(node)
        if isinstance(value, PartialText):
            return value.text
        text = as_text(value)
        return text if text is not None else render(node)

    def condition(self, name: str, line: int, resource: str = "") -> bool | None:
        """A named condition, three-valued: None when it cannot be decided."""
        with self._reading(resource or self._resource):
            return self._conditions.condition(name, line)

    def assuming(self, values: dict[str, bool]) -> AbstractContextManager[None]:
        """Read values as if the named (undecidable) conditions had these values."""
        return self._conditions.assuming(values)

    @property
    def undecided_ifs(self) -> dict[str, int]:
        """The undecided conditions that `Fn::If` met: condition -> line of the first Fn::If on it."""
        return self._conditions.undecided_ifs

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
        return self._conditions.hint(name)

    def parameter_line(self, name: str) -> int:
        return int(self.parameters.key_lines.get(name, 0))

    def unresolved(self, value: object, line: int, resource: str = "") -> Unresolved:
        """Why a token or partial string has no text before deployment."""
        prov = Provenance(self.file, line, resource or self._resource)
        if isinstance(value, Unresolved):
            return value
        if isinstance(value, PartialText):
            hole = next(p for p in value.parts if not isinstance(p, str))
            inner = self.unresolved(hole.value, value.line, resource)
            return Unresolved(f'{inner.what} (in "{value.text}")', prov, inner.hint)
        if isinstance(value, ParamRef):
            return Unresolved(f"parameter {value.name} has no value", prov, f"--param {value.name}=VALUE")
        if isinstance(value, ResourceRef):
            return Unresolved(f"the id of {value.logical_id} is only known after deployment", prov)
        if isinstance(value, AttRef):
            what = f"{value.logical_id}.{value.attribute} is only known after deployment"
            return Unresolved(what, prov)
        if isinstance(value, StackValue):
            return value.why
        if isinstance(value, ImportRef):
            hint = "scan the stack that exports it in the same run"
            return Unresolved(f"export '{value.name}' comes from another stack", prov, hint)
        return Unresolved(f"unexpected value {value!r}", prov)

    # --- evaluation (the `cfn_tokens.Evaluator` the function modules call back) -----------

    @contextmanager
    def _reading(self, resource: str) -> Iterator[None]:
        """Evaluate for `resource`: the resource the `Unresolved` values made meanwhile name."""
        saved, self._resource = self._resource, resource
        try:
            yield
        finally:
            self._resource = saved

    def provenance(self, line: int) -> Provenance:
        return Provenance(self.file, line, self._resource)

    def finish(self, value: Any) -> Any:
        """A value as `resolve` gives it: a partly known string becomes its `Unresolved`."""
        return self.unresolved(value, value.line) if isinstance(value, PartialText) else value

    def evaluate(self, node: Any) -> Any:
        """The value of `node`, a partly known string left as a `PartialText`."""
        line = int(getattr(node, "line", 0))
        if self._depth >= MAX_DEPTH:
            raise ScanError(self.file, "values nested too deep", line=line or None)
        self._depth += 1
        try:
            if isinstance(node, dict):
                if len(node) == 1 and (fn := function_name(node)) is not None:
                    call = self._functions.get(fn)
                    if call is None:
                        return Unresolved(f"{fn} is not evaluated by eks-sg-policy", self.provenance(line))
                    return call(node[fn], line)
                return self._evaluate_mapping(node, line)
            if isinstance(node, list):
                return self._evaluate_list(node, line)
            return node
        finally:
            self._depth -= 1

    def _evaluate_mapping(self, node: Mapping[str, Any], line: int) -> LineDict:
        key_lines = getattr(node, "key_lines", {})
        out = LineDict(line=line)
        for key, child in node.items():
            value = self.finish(self.evaluate(child))
            if value is not NO_VALUE:
                out[key] = value
                out.key_lines[key] = key_lines.get(key, line)
        return out

    def _evaluate_list(self, node: list[Any], line: int) -> LineList:
        item_lines = getattr(node, "item_lines", [])
        out = LineList(line=line)
        for index, child in enumerate(node):
            value = self.finish(self.evaluate(child))
            if value is not NO_VALUE:
                out.append(value)
                out.item_lines.append(item_lines[index] if index < len(item_lines) else line)
        return out

    def error(self, message: str, line: int) -> ScanError:
        return ScanError(self.file, message, line=line or None)

    def has_no_value(self, name: str) -> bool:
        """Whether `Ref` of a parameter or pseudo parameter has no value here (nor from --param)."""
        if name in PSEUDO_PARAMETERS:
            return name not in self.overrides
        return name in self.parameters and isinstance(self._parameter(name), ParamRef)

    def _parameter(self, name: str) -> Any:
        decl = self.parameters[name]
        ptype = str(decl.get("Type", "String"))
        listed = ptype.startswith("List<") or ptype == "CommaDelimitedList"
        raw: object = self.bound.get(name, self.overrides.get(name))
        if is_unknown(raw) or isinstance(raw, list):  # handed over by the parent stack
            if not listed or isinstance(raw, list):
                return raw
            return LineList([raw], self.parameter_line(name), [self.parameter_line(name)])
        if raw is None:
            if ptype.startswith("AWS::SSM::Parameter::Value<") or "Default" not in decl:
                return ParamRef(str(name))  # an SSM parameter's Default is its path, not its value
            raw = decl["Default"]
            if isinstance(raw, list):
                raw = ",".join(str(as_text(v)) for v in raw)
        text = LineStr(str(as_text(raw)), self.parameter_line(name))
        if listed:
            return [LineStr(part.strip(), text.line) for part in text.split(",")]
        return text

    # --- Ref, Fn::GetAtt and the other functions ------------------------------------------

    def ref(self, arg: Any, line: int) -> Any:
        if not isinstance(arg, str):
            raise self.error("Ref takes the name of a parameter or resource", line)
        if arg == "AWS::NoValue":
            return NO_VALUE
        if arg in self.parameters:
            return self._parameter(arg)
        if arg in PSEUDO_PARAMETERS:
            if arg in self.overrides:
                return LineStr(self.overrides[arg], line)
            return Unresolved(f"{arg} is only known at deploy time", self.provenance(line), f"--param {arg}=VALUE")
        if arg in self.resources:
            return self._resource_token(ResourceRef(str(arg)), line)
        raise self.error(f"Ref to undefined parameter or resource '{arg}'", line)

    def _resource_token(self, token: ResourceRef | AttRef, line: int) -> Any:
        exists, name = self.resource_condition(token.logical_id)
        if exists is False:
            what = f"{token.logical_id} is not created (condition {name} is false)"
            return Unresolved(what, self.provenance(line), self.condition_hint(str(name)))
        return token

    def get_att(self, arg: Any, line: int) -> Any:
        if isinstance(arg, str) and "." in arg:
            resource, attribute = arg.split(".", 1)
        elif isinstance(arg, list) and len(arg) == 2 and isinstance(arg[0], str):
            resource, attribute = arg[0], self.resolve(arg[1], self._resource)
            if not isinstance(attribute, str):
                return self.unresolved(attribute, line) if is_unknown(attribute) else attribute
        else:
            raise self.error("Fn::GetAtt takes [resource, attribute] or 'resource.attribute'", line)
        if resource not in self.resources:
            raise self.error(f"Fn::GetAtt of undefined resource '{resource}'", line)
        token = self._resource_token(AttRef(str(resource), str(attribute)), line)
        if self.stack_output is not None and isinstance(token, AttRef) and token.attribute.startswith("Outputs."):
            return self.stack_output(token.logical_id, token.attribute[len("Outputs.") :], line)
        return token

    def _import_value(self, arg: Any, line: int) -> ImportRef:
        value = self.evaluate(arg)
        text = as_text(value)
        if text is not None:
            return ImportRef(text, True)
        return ImportRef(value.text if isinstance(value, PartialText) else render(arg), False)

    def _cidr(self, arg: Any, line: int) -> Any:
        values = self.resolve(arg, self._resource) if isinstance(arg, list) and len(arg) == 3 else None
        if not isinstance(values, list):
            raise self.error("Fn::Cidr takes [ip block, count, cidr bits]", line)
        if is_unknown(values):
            return Unresolved("Fn::Cidr of a value known only at deploy time", self.provenance(line))
        try:
            block, count, bits = net.parse_cidr(values[0]), _cidr_number(values[1]), _cidr_number(values[2])
            subnets = block.subnets(new_prefix=block.max_prefixlen - bits)
            return LineList([LineStr(str(n), line) for _, n in zip(range(count), subnets, strict=False)], line)
        except ValueError as exc:  # net.NetValueError included
            raise self.error(f"Fn::Cidr: {exc}", line) from None

    def _length(self, arg: Any, line: int) -> Any:
        values = self.finish(self.evaluate(arg))
        if isinstance(values, list):
            return len(values)
        return self.unresolved(values, line) if is_unknown(values) else self.error("Fn::Length of a non-list", line)


def _cidr_number(value: Any) -> int:
    """A count or a number of bits of Fn::Cidr (at most 256 subnets, at most 128 bits)."""
    text = str(value).strip()
    if not text.isdigit() or len(text) > 3:
        raise ValueError(f"count and cidr bits must be small whole numbers, not {text[:20]!r}")
    return int(text)

"""The values CloudFormation intrinsics evaluate to when their text is not known before deployment.

Tokens say what a value *is* when its text is only known at deploy time: the id of a resource
(`ResourceRef`), an attribute (`AttRef`), a parameter nobody gave (`ParamRef`), an export of another
stack (`ImportRef`), a value another template of the same nested-stack system hands over
(`StackValue`). `NO_VALUE` (`AWS::NoValue`) means "property absent". While a value is being evaluated,
a string some parts of which are unknown is a `PartialText` of plain parts and `Hole`s.

`Evaluator` is what the function modules (`cfn_strings`, `cfn_conditions`) ask of the resolver that
calls them, so that they depend on this module only.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any, Protocol

from ..errors import ScanError
from ..model import GroupRef, Provenance, Unresolved
from .cfn_yaml import LineDict

__all__ = [
    "MAX_DEPTH",
    "NO_VALUE",
    "PSEUDO_PARAMETERS",
    "SUB_VARIABLE",
    "AttRef",
    "Evaluator",
    "Hole",
    "ImportRef",
    "NoValue",
    "ParamRef",
    "PartialText",
    "ResourceRef",
    "StackValue",
    "Token",
    "as_text",
    "equal_text",
    "function_name",
    "is_intrinsic",
    "is_unknown",
    "render",
]


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


@dataclass(frozen=True, slots=True)
class StackValue:
    """A value one template of a nested-stack system hands another (a parameter value the parent
    passes, an output the child returns) whose text is only known at deploy time. It names the same
    thing in both templates: the key of the security group it is the id of, or of the cluster it is
    the name of, so that rules written on either side meet."""

    why: Unresolved  # what a use of its text reports
    group: str | None = None  # key of the security group whose id it is
    cluster: str | None = None  # key of the cluster whose name it is
    name: str = ""  # what the receiving template calls it: a parameter, `Stack.Outputs.Name`
    ref: GroupRef | None = None  # how the receiving template refers to it, for fix snippets


class NoValue(Enum):
    NO_VALUE = "AWS::NoValue"


NO_VALUE = NoValue.NO_VALUE
Token = ResourceRef | AttRef | ParamRef | ImportRef | StackValue
_PSEUDO = "AccountId NotificationARNs Partition Region StackId StackName URLSuffix"
PSEUDO_PARAMETERS = frozenset(f"AWS::{name}" for name in _PSEUDO.split())
MAX_DEPTH = 100
SUB_VARIABLE = re.compile(r"\$\{([^}]*)\}")


@dataclass(frozen=True, slots=True)
class Hole:
    value: Token | Unresolved
    text: str  # how the value is written, e.g. "${ClusterName}"


@dataclass(frozen=True, slots=True)
class PartialText:
    """A string some parts of which are only known at deploy time (an Fn::Sub or Fn::Join)."""

    parts: tuple[str | Hole, ...]
    line: int

    @property
    def text(self) -> str:
        return "".join(p if isinstance(p, str) else p.text for p in self.parts)


class Evaluator(Protocol):
    """What an intrinsic function needs of the resolver that evaluates it."""

    @property
    def parameters(self) -> LineDict: ...

    @property
    def mappings(self) -> LineDict: ...

    def evaluate(self, node: Any) -> Any: ...

    def finish(self, value: Any) -> Any: ...

    def error(self, message: str, line: int) -> ScanError: ...

    def provenance(self, line: int) -> Provenance: ...

    def unresolved(self, value: object, line: int, resource: str = "") -> Unresolved: ...

    def ref(self, arg: Any, line: int) -> Any: ...

    def get_att(self, arg: Any, line: int) -> Any: ...

    def has_no_value(self, name: str) -> bool: ...


def is_intrinsic(node: object) -> bool:
    return isinstance(node, dict) and len(node) == 1 and function_name(node) is not None


def function_name(node: Mapping[str, Any]) -> str | None:
    (key,) = node.keys()
    return key if key == "Ref" or str(key).startswith("Fn::") else None


def render(node: object) -> str:
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


def as_text(value: object) -> str | None:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return str(value)
    return None


def is_unknown(value: object) -> bool:
    if isinstance(value, list):
        return any(is_unknown(v) for v in value)
    return isinstance(
        value, Unresolved | ResourceRef | AttRef | ParamRef | ImportRef | StackValue | PartialText | NoValue
    )


def equal_text(value: object) -> object:
    if isinstance(value, list):
        return [equal_text(v) for v in value]
    text = as_text(value)
    return text if text is not None else value

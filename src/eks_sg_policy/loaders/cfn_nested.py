"""Nested stacks: a template and the templates its `AWS::CloudFormation::Stack` resources name,
evaluated as one system.

A nested stack whose `TemplateURL` names a local file (`cfn_template_url`) is read as a template of
its own, with the values the parent passes in `Parameters`, before the parent's other resources; its
model joins the parent's. Data flows one way per step: the parent's values into the child's
parameters, then the child's outputs into the parent's `Fn::GetAtt <Stack>.Outputs.<Name>`. A value
crosses as plain text when it is known, otherwise as a `StackValue` that carries the key of the group
(or cluster) it names, so that rules written on either side meet on one group; what neither template
can decide stays unknown.

Guarded: a template that nests itself (directly or through others), nesting deeper than
`NestedStacks.max_depth` and more than `NestedStacks.max_stacks` stacks in one system are not read,
and said so (EKS900).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ..discovery import DEFAULT_MAX_FILE_SIZE, read_regular_file
from ..errors import ScanError
from ..model import GroupRef, Guard, Model, Unresolved
from ..textfile import decode
from . import cfn_yaml
from .base import LoadedUnit
from .cfn_context import CLUSTER, STACK, VPC, TemplateContext
from .cfn_groups import resource_group_key
from .cfn_template_url import Located, locate
from .cfn_tokens import (
    NO_VALUE,
    PSEUDO_PARAMETERS,
    AttRef,
    ImportRef,
    ParamRef,
    ResourceRef,
    StackValue,
    as_text,
    function_name,
    render,
)
from .cfn_yaml import LineDict, LineList, LineStr

__all__ = ["Child", "NestedStacks", "Nesting", "NotEvaluated", "read_stack", "stack_output"]

# Pseudo parameters a nested stack shares with its parent; its stack name and id are its own.
_SHARED_PSEUDO = PSEUDO_PARAMETERS - {"AWS::StackName", "AWS::StackId"}


@dataclass(frozen=True, slots=True)
class NestedStacks:
    """How a scan follows nested stacks: the tree their templates must lie in, and files named for URLs."""

    root: str
    template_urls: Mapping[str, str] = field(default_factory=dict)  # TemplateURL as written -> file
    max_file_size: int = DEFAULT_MAX_FILE_SIZE
    max_depth: int = 10
    max_stacks: int = 100


@dataclass(slots=True)
class Nesting:
    """What a template read in a system of nested stacks knows of the system."""

    options: NestedStacks
    load: Callable[[TemplateContext], LoadedUnit]  # the loader of one template's resources
    chain: tuple[str, ...]  # the templates from the top one to this one (resolved paths)
    shown: tuple[str, ...]  # the same, as the scan shows paths
    read: list[int]  # how many nested stacks the system has read so far (shared)


@dataclass(frozen=True, slots=True)
class Child:
    ctx: TemplateContext
    unit: LoadedUnit
    guard: Guard | None = None  # the stack exists only under an undecided condition of its parent

    def model(self) -> Model:
        """What the stack adds to its parent's system: under its condition, when it has one, so that
        the engine judges each case (a rule of the stack exists in the cases where the stack does)."""
        model = self.unit.model
        if self.guard is None:
            return model
        guard = self.guard
        rules = tuple(replace(r, condition=_also_under(r.condition, guard)) for r in model.rules)
        node_groups = tuple(replace(n, condition=_also_under(n.condition, guard)) for n in model.node_groups)
        return replace(model, rules=rules, node_groups=node_groups)


def _also_under(condition: Guard | Unresolved | None, guard: Guard) -> Guard | Unresolved:
    if condition is None:
        return guard
    if isinstance(condition, Guard):
        return Guard((*guard.terms, *condition.terms), condition.why)
    return condition  # already only possibly there


@dataclass(frozen=True, slots=True)
class NotEvaluated:
    why: str
    hint: str
    always: bool  # said whatever the stack looks like (a cycle, a limit), not only when it looks EKS-related


def read_stack(ctx: TemplateContext, lid: str) -> Child | NotEvaluated:
    """The nested stack `lid` read as a template of its own, once; or why it is not."""
    known = ctx.stacks.get(lid)
    if known is not None:
        return known
    if lid in ctx.reading:
        return NotEvaluated("its parameters depend on its own outputs", "", True)
    ctx.reading.add(lid)
    try:
        result = _read(ctx, lid)
    finally:
        ctx.reading.discard(lid)
    ctx.stacks[lid] = result
    return result


def stack_output(ctx: TemplateContext, stack: str, name: str, line: int) -> Any:
    """`Fn::GetAtt <stack>.Outputs.<name>`: the output's value as the nested template gives it."""
    token = AttRef(stack, f"Outputs.{name}")
    if ctx.types.get(stack) != STACK or ctx.nesting is None:
        return token
    child = read_stack(ctx, stack)
    if isinstance(child, NotEvaluated):
        return token
    outputs = child.ctx.document.get("Outputs")
    output = outputs.get(name) if isinstance(outputs, LineDict) else None
    if not isinstance(outputs, LineDict) or not isinstance(output, LineDict) or "Value" not in output:
        # CloudFormation fails the stack operation on an attribute the nested stack does not have.
        message = f"Fn::GetAtt {stack}.Outputs.{name}: {child.ctx.path} declares no output {name}"
        raise ScanError(ctx.path, message, line=line or None)
    at = outputs.key_lines.get(name, 0)
    value = child.ctx.r.resolve(output["Value"], name)
    written = f"{stack}.Outputs.{name}"
    return _carry(child.ctx, name, value, at, written, GroupRef("attribute", written), line)


def _read(ctx: TemplateContext, lid: str) -> Child | NotEvaluated:
    nesting = ctx.nesting
    assert nesting is not None
    guard = ctx.guards.get(lid)  # the stack exists only under a condition the scan cannot decide
    props = ctx.props(lid)
    url = _written_url(ctx, lid, props.get("TemplateURL"))
    if url is None:
        return NotEvaluated("its TemplateURL is computed at deploy time", "", False)
    settle = f"--template-url '{url}=FILE' (or config template-urls)"
    found = locate(url, ctx.path, nesting.options.root, nesting.options.template_urls)
    if not isinstance(found, Located):
        return NotEvaluated(f"{url}: {found.why}", settle, False)
    real = str(Path(found.path).resolve())
    if real in nesting.chain:
        cycle = " -> ".join([*nesting.shown[nesting.chain.index(real) :], found.path])
        return NotEvaluated(
            f"{found.path} nests itself ({cycle})",
            "point its TemplateURL at another template: a stack cannot contain itself",
            True,
        )
    if len(nesting.chain) > nesting.options.max_depth:
        why = f"stacks are nested more than {nesting.options.max_depth} levels deep here"
        return NotEvaluated(why, "flatten the nesting, or scan the deeper templates on their own", True)
    if nesting.read[0] >= nesting.options.max_stacks:
        why = f"the system has more than {nesting.options.max_stacks} nested stacks"
        return NotEvaluated(why, "scan the nested templates on their own", True)
    named = url in nesting.options.template_urls  # a file the user named may lie outside the tree
    root = None if named else Path(nesting.options.root).resolve()
    try:
        data = read_regular_file(Path(found.path), nesting.options.max_file_size, root)
    except ScanError as error:
        return NotEvaluated(f"{found.path}: {error.message}", settle, True)
    document = cfn_yaml.load(found.path, decode(found.path, data))
    resources = cfn_yaml.template_resources(found.path, document)
    if resources is None:
        return NotEvaluated(f"{found.path} is not a CloudFormation template", settle, True)
    nesting.read[0] += 1
    shared = {k: v for k, v in ctx.r.overrides.items() if k in _SHARED_PSEUDO}
    child = TemplateContext(
        found.path, document, resources, shared, _bindings(ctx, lid, props, document), f"{ctx.ns}>{lid}"
    )
    child.nesting = Nesting(
        nesting.options, nesting.load, (*nesting.chain, real), (*nesting.shown, found.path), nesting.read
    )
    ctx.notes.append(
        f"{ctx.path}:{ctx.line(lid)}: nested stack {lid}: template {url} read from {found.path} ({found.how})"
    )
    return Child(child, nesting.load(child), guard)


def _written_url(ctx: TemplateContext, lid: str, node: Any) -> str | None:
    """The URL as written: a string, the string of an Fn::Sub, the parts of an Fn::Join (what is not
    text as `${...}`), or what another intrinsic resolves to; None when nothing says it."""
    if isinstance(node, str):
        return str(node)
    if isinstance(node, dict) and len(node) == 1 and function_name(node) == "Fn::Sub":
        arg = node["Fn::Sub"]
        text = arg[0] if isinstance(arg, list) and arg else arg
        return str(text) if isinstance(text, str) else None
    if isinstance(node, dict) and len(node) == 1 and function_name(node) == "Fn::Join":
        arg = node["Fn::Join"]
        if isinstance(arg, list) and len(arg) == 2 and isinstance(arg[0], str) and isinstance(arg[1], list):
            return str(arg[0]).join(str(p) if isinstance(p, str) else render(p) for p in arg[1])
    value = ctx.r.resolve(node, lid) if node is not None else None
    return str(value) if isinstance(value, str) else None


def _bindings(ctx: TemplateContext, lid: str, props: LineDict, document: Any) -> dict[str, Any]:
    """The child's parameters as the parent passes them, in a form that means the same in the child."""
    given = ctx.mapping(lid, props, "Parameters")
    if not isinstance(given, LineDict):
        return {}
    declared = document.get("Parameters") if isinstance(document, LineDict) else None
    out: dict[str, Any] = {}
    for name, node in given.items():
        if not isinstance(declared, LineDict) or name not in declared:
            continue  # CloudFormation rejects a parameter the template does not declare
        line = given.key_lines.get(name, ctx.line(lid))
        value = ctx.r.resolve(node, lid)
        if value is not NO_VALUE and value is not None:
            value = _carry(ctx, lid, value, line, str(name), GroupRef("parameter", str(name)), None)
            out[str(name)] = _allowed(ctx, lid, value, line, str(name), declared[name])
    return out


def _allowed(ctx: TemplateContext, lid: str, value: Any, line: int, name: str, decl: Any) -> Any:
    """A text CloudFormation would refuse (not one of the parameter's AllowedValues) is not what is
    deployed: a transform of the parent (e.g. a placeholder it resolves) replaces it, so it is unknown."""
    allowed = decl.get("AllowedValues") if isinstance(decl, LineDict) else None
    if not isinstance(value, str) or not isinstance(allowed, list):
        return value
    texts = [as_text(v) for v in allowed]
    if value in texts:
        return value
    what = f"{lid} passes {value!r} to parameter {name}, which allows only {', '.join(map(str, texts))}"
    return Unresolved(what, ctx.prov(lid, line), "pass a value the parameter allows")


def _carry(ctx: TemplateContext, lid: str, value: Any, line: int, name: str, ref: GroupRef, at: int | None) -> Any:
    """`value`, read in `ctx`, as a value that means the same in another template of the system:
    text as text (on line `at` of the receiving template when given), a list item by item, anything
    else as the `StackValue` of the group or cluster it names, or as unknown."""
    if isinstance(value, list):
        items = [_carry(ctx, lid, v, line, name, ref, at) for v in value]
        if all(isinstance(i, str) for i in items):
            return LineStr(",".join(items), at or line)
        return LineList(items, at or line, [at or line] * len(items))
    text = as_text(value)
    if text is not None:
        return LineStr(text, at or getattr(value, "line", 0) or line)
    if isinstance(value, Unresolved) or (isinstance(value, ImportRef) and value.name_resolved):
        return value
    if isinstance(value, StackValue):
        return replace(value, name=name, ref=ref)
    why = ctx.unknown(lid, value, line)
    if isinstance(value, ResourceRef) and ctx.types.get(value.logical_id) == CLUSTER:
        cluster_name = ctx.text(value.logical_id, ctx.props(value.logical_id), "Name")
        if isinstance(cluster_name, str):
            return LineStr(cluster_name, at or line)
        return StackValue(why, cluster=f"cfn:{ctx.ns}:{value.logical_id}", name=name, ref=ref)
    if isinstance(value, ResourceRef) and ctx.types.get(value.logical_id) == VPC:
        return StackValue(why, group=f"cfn:{ctx.ns}:{value.logical_id}", name=name, ref=ref)
    if isinstance(value, ResourceRef | AttRef):
        return StackValue(why, group=resource_group_key(ctx, value), name=name, ref=ref)
    if isinstance(value, ParamRef):
        ptype = str(ctx.r.parameters.get(value.name, {}).get("Type", ""))
        listed = ptype.startswith(("List<", "CommaDelimited"))
        return StackValue(why, group=None if listed else f"param:{ctx.ns}:{value.name}", name=name, ref=ref)
    if isinstance(value, ImportRef):
        return StackValue(why, group=f"import:{ctx.ns}:{value.name}", name=name, ref=ref)
    return why

"""CloudFormation template -> model: security groups, rules, clusters, node groups, suppressions.

The walk over a template's resources is here; what each kind of resource gives is read by
`cfn_groups` (security groups, rules, groups attached to other resources), `cfn_nodes` (clusters,
node groups, launch templates) and `cfn_outputs` (exports, nested stacks, suppressions), all through
the `cfn_context.TemplateContext` of the template. Group keys are described in `cfn_groups`.

With `NestedStacks` given, the nested stacks whose templates are local files are read first
(`cfn_nested`), and their models, suppressions and files join the template's unit.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from .. import net
from ..model import Direction, Guard, Model, Unresolved, Vpc
from . import cfn_yaml
from .base import LoadedUnit
from .cfn_context import CLUSTER, LAUNCH_CONFIGURATION, LAUNCH_TEMPLATE, SECURITY_GROUP, STACK, VPC, TemplateContext
from .cfn_dependencies import check_dependencies
from .cfn_groups import other_resource, rule_resource, security_group
from .cfn_nested import Child, NestedStacks, Nesting, stack_output
from .cfn_nodes import auto_scaling_group, cluster, fargate_profile, managed_node_group
from .cfn_outputs import exports, nested_stack, suppressions
from .cfn_tokens import ResourceRef

__all__ = ["NestedStacks", "load_cloudformation", "load_cloudformation_document"]


def load_cloudformation(
    path: str, text: str, params: Mapping[str, str], nested: NestedStacks | None = None
) -> LoadedUnit | None:
    """The model of one template; None when the file parses but is not CloudFormation. Nested stacks
    are read only with `nested`; without it they are reported as not evaluated."""
    return load_cloudformation_document(path, cfn_yaml.load(path, text), params, nested)


def load_cloudformation_document(
    path: str, document: Any, params: Mapping[str, str], nested: NestedStacks | None = None
) -> LoadedUnit | None:
    """The same for a template already parsed into `LineDict`/`LineList`/`LineStr` nodes."""
    resources = cfn_yaml.template_resources(path, document)
    if resources is None:
        return None
    ctx = TemplateContext(path, document, resources, params)
    if nested is not None:
        ctx.nesting = Nesting(nested, _load_nested, (str(Path(path).resolve()),), (path,), [0])
    check_dependencies(path, resources)
    return _load(ctx)


def _load_nested(ctx: TemplateContext) -> LoadedUnit:
    check_dependencies(ctx.path, ctx.resources)
    return _load(ctx)


# --- VPCs ---------------------------------------------------------------------------------


def _vpc_cidr_block(ctx: TemplateContext, lid: str) -> None:
    props = ctx.props(lid)
    target = ctx.value(lid, props, "VpcId")
    if isinstance(target, ResourceRef) and ctx.types.get(target.logical_id) == VPC:
        for key in ("CidrBlock", "Ipv6CidrBlock"):
            if key in props:
                _add_cidr(ctx, target.logical_id, lid, ctx.value(lid, props, key))


def _add_cidr(ctx: TemplateContext, vpc: str, lid: str, value: Any) -> None:
    cidrs, _ = ctx.vpcs.setdefault(vpc, ([], True))
    if not isinstance(value, str):  # one unknown block leaves the VPC's address space unknown
        ctx.vpcs[vpc] = (cidrs, False)
        return
    try:
        cidrs.append(net.parse_cidr(value))
    except net.NetValueError as exc:
        raise ctx.error(lid, f"CidrBlock: {exc}", None) from None


# What each type of resource gives; a cluster is read first, and any other type by `other_resource`.
_HANDLERS: dict[str, Callable[[TemplateContext, str], None]] = {
    SECURITY_GROUP: security_group,
    "AWS::EC2::SecurityGroupIngress": lambda ctx, lid: rule_resource(ctx, lid, Direction.INGRESS),
    "AWS::EC2::SecurityGroupEgress": lambda ctx, lid: rule_resource(ctx, lid, Direction.EGRESS),
    "AWS::EKS::Nodegroup": managed_node_group,
    "AWS::AutoScaling::AutoScalingGroup": auto_scaling_group,
    "AWS::EKS::FargateProfile": fargate_profile,
    VPC: lambda ctx, lid: _add_cidr(ctx, lid, lid, ctx.value(lid, ctx.props(lid), "CidrBlock")),
    "AWS::EC2::VPCCidrBlock": _vpc_cidr_block,
    LAUNCH_TEMPLATE: lambda ctx, lid: None,  # read through the node groups that use them
    LAUNCH_CONFIGURATION: lambda ctx, lid: None,
    "AWS::CloudFormation::Stack": nested_stack,
}


def _load(ctx: TemplateContext) -> LoadedUnit:
    """Read every resource that may exist (nested stacks first, whose outputs other resources use;
    then clusters: node groups find them by name), then the suppressions, VPCs and exports, into the
    unit's model, which the nested stacks read join."""
    if ctx.nesting is not None:
        ctx.r.stack_output = lambda stack, name, line: stack_output(ctx, stack, name, line)
    for lid in map(str, ctx.resources):
        exists, condition = ctx.r.resource_condition(lid)
        if exists is None:
            what = f"{lid} exists only if condition {condition} is true, which cannot be decided"
            ctx.conditions[lid] = Unresolved(what, ctx.prov(lid), ctx.r.condition_hint(str(condition)))
            ctx.guards[lid] = Guard(((f"{ctx.ns}:{condition}", True),), ctx.conditions[lid])
        if exists is not False:
            ctx.present.append(lid)
        else:
            ctx.notes.append(f"{ctx.path}:{ctx.line(lid)}: {lid} is not created (condition {condition} is false)")
    for lid in sorted(ctx.present, key=lambda i: (ctx.types[i] != STACK, ctx.types[i] != CLUSTER)):
        _HANDLERS.get(ctx.types[lid], cluster if ctx.types[lid] == CLUSTER else other_resource)(ctx, lid)
    found = tuple(s for lid in map(str, ctx.resources) for s in suppressions(ctx, lid))
    vpcs = tuple(Vpc(f"cfn:{ctx.ns}:{i}", tuple(c), ctx.prov(i)) for i, (c, ok) in ctx.vpcs.items() if ok)
    exported = exports(ctx)
    model = Model(
        tuple(ctx.groups.values()), tuple(ctx.rules), tuple(ctx.clusters), tuple(ctx.node_groups),
        tuple(ctx.fargate), vpcs, tuple(ctx.attachments), exported, tuple(ctx.unevaluated),
    )  # fmt: skip
    files, notes = [ctx.path], list(ctx.notes)
    for child in (c for c in ctx.stacks.values() if isinstance(c, Child)):
        model = model.merged(child.model())
        files.extend(child.unit.files)
        found += child.unit.suppressions
        notes.extend(child.unit.notes)
    return LoadedUnit(tuple(dict.fromkeys(files)), model, found, tuple(notes))

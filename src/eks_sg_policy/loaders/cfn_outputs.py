"""What a template says about other stacks and tools: security groups it exports, nested stacks
(read by `cfn_nested`, or said not to be evaluated), and the `eks-sg-policy` skips in resources'
Metadata."""

from __future__ import annotations

import re
from datetime import date

from ..model import Export, Provenance, Unresolved
from . import cfn_yaml
from .base import Suppression
from .cfn_context import CLUSTER, SECURITY_GROUP, TemplateContext
from .cfn_groups import group_key
from .cfn_nested import NotEvaluated, read_stack
from .cfn_tokens import AttRef, ImportRef, ParamRef, ResourceRef, StackValue
from .cfn_yaml import LineDict
from .relevance import NESTED_STACK

__all__ = ["exports", "nested_stack", "suppressions"]


def exports(ctx: TemplateContext) -> tuple[Export, ...]:
    """Outputs exported under a name whose value is a security group."""
    outputs = ctx.document.get("Outputs")
    if not isinstance(outputs, LineDict):
        return ()
    found: list[Export] = []
    for name, output in outputs.items():
        if not isinstance(output, LineDict) or not isinstance(output.get("Export"), LineDict):
            continue
        line = outputs.key_lines.get(name, 0)
        export_name = output["Export"].get("Name")
        if export_name is None or "Value" not in output:
            continue
        value = ctx.r.resolve(output["Value"], str(name))
        if isinstance(value, StackValue) and value.group is None:
            continue
        if not isinstance(value, ResourceRef | AttRef | ParamRef | ImportRef | StackValue) and not (
            isinstance(value, str) and value.startswith("sg-")
        ):
            continue
        if isinstance(value, ResourceRef | AttRef) and not _is_group_reference(ctx, value):
            continue
        group = group_key(ctx, str(name), value, line)
        text = ctx.r.canonical(export_name, str(name))
        resolved = "${" not in text
        if group is not None:
            found.append(Export(text, resolved, group, Provenance(ctx.path, line, str(name))))
    return tuple(found)


def _is_group_reference(ctx: TemplateContext, value: ResourceRef | AttRef) -> bool:
    target, attribute = value.logical_id, getattr(value, "attribute", None)
    if ctx.types.get(target) == SECURITY_GROUP:
        return attribute in (None, "GroupId")
    return ctx.types.get(target) == CLUSTER and attribute == "ClusterSecurityGroupId"


def nested_stack(ctx: TemplateContext, lid: str) -> None:
    """A nested stack whose template is read joins this template's model (`cfn_nested`). Otherwise,
    when it may create clusters, node groups or rules (its name, template or parameters say so), or
    when it is not read because of a cycle or a limit, the scan says it is incomplete there."""
    read = read_stack(ctx, lid) if ctx.nesting is not None else None
    if read is not None and not isinstance(read, NotEvaluated):
        return
    props = ctx.props(lid)
    said = " ".join([lid, cfn_yaml.strings(props.get("TemplateURL")), *map(str, props.get("Parameters") or {})])
    if not (read is not None and read.always) and not NESTED_STACK.may_hold_eks(said, lid):
        return
    url = props.get("TemplateURL")
    shown = url if isinstance(url, str) else "a template URL computed at deploy time"
    why = (
        f"nested stack {lid} is not evaluated: {read.why}" if read else f"nested stack {lid} ({shown}) is not evaluated"
    )
    hint = read.hint if read is not None and read.hint else "scan its template together with this one"
    ctx.unevaluated.append(
        Unresolved(
            f"{why}; the clusters, node groups and security group rules it creates or changes are not verified",
            ctx.prov(lid),
            hint,
        )
    )


def suppressions(ctx: TemplateContext, lid: str) -> list[Suppression]:
    metadata = ctx.resources[lid].get("Metadata")
    if not isinstance(metadata, LineDict) or "eks-sg-policy" not in metadata:
        return []
    block, at = metadata["eks-sg-policy"], metadata.key_lines["eks-sg-policy"]
    skips = block.get("skip") if isinstance(block, LineDict) else None
    if not isinstance(skips, list) or set(block) - {"skip"}:
        raise ctx.error(lid, "Metadata eks-sg-policy must be {skip: [{id, reason, expires}]}", at)
    out: list[Suppression] = []
    for item, line in zip(skips, cfn_yaml.item_lines(skips, at), strict=True):
        if not isinstance(item, LineDict):
            raise ctx.error(lid, "each skip must be a mapping with id and reason", line)
        extra = sorted(set(item) - {"id", "reason", "expires"})
        if extra:
            raise ctx.error(lid, f"unknown key '{extra[0]}' in skip (expected id, reason, expires)", line)
        policy, reason, expires = item.get("id"), item.get("reason"), item.get("expires")
        if not isinstance(policy, str) or not policy.strip():
            raise ctx.error(lid, "a skip needs the id of a policy (e.g. EKS301)", line)
        if not isinstance(reason, str) or not reason.strip():
            raise ctx.error(lid, f"the skip of {policy} needs a reason", item.key_lines.get("reason", line))
        until = None
        if expires is not None:
            try:
                if not (isinstance(expires, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", expires)):
                    raise ValueError
                until = date.fromisoformat(expires)
            except ValueError:
                message = f"the skip of {policy}: expires must be a date YYYY-MM-DD, not {expires!r}"
                raise ctx.error(lid, message, item.key_lines.get("expires", line)) from None
        out.append(Suppression(policy.strip(), reason.strip(), lid, ctx.prov(lid, line), until))
    return out

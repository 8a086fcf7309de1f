"""Configuration hazards: rules that look present but will not be in force (EKS305, EKS306)."""

from __future__ import annotations

from collections.abc import Iterator

from ..findings import Finding
from ..model import Direction, NoPeer, RuleForm
from ..policies import Policy
from .context import Context


def evaluate_mixed_rule_forms(policy: Policy, ctx: Context) -> Iterator[Finding]:
    """A group whose inline rules are authoritative for a direction, with rule resources for it too."""
    for key, group in sorted(ctx.topology.groups.items()):
        for direction in (Direction.INGRESS, Direction.EGRESS):
            if direction not in group.has_inline:
                continue
            standalone = [r for r in ctx.index.rules_of(key, direction) if r.form is RuleForm.STANDALONE]
            if not standalone:
                continue
            names = ", ".join(sorted({r.provenance.resource for r in standalone}))
            fix = (
                f"move the {direction.value} rules of {group.name} into rule resources "
                f"(aws_vpc_security_group_{direction.value}_rule) or into its inline blocks, not both"
            )
            message = (
                f"{group.name} has inline {direction.value} blocks and also the rule resources {names}; "
                f"the provider will remove those at the next apply. To fix: {fix}."
            )
            yield ctx.violated(policy, message, group.provenance, peer=f"{key}|{direction.value}", fix=fix)


def evaluate_incomplete_rule(policy: Policy, ctx: Context) -> Iterator[Finding]:
    for rule in sorted(ctx.topology.rules, key=lambda r: r.provenance):
        if rule.form is RuleForm.IMPLICIT:
            continue
        if rule.group is None:
            fix = "name the group with GroupId / security_group_id"
            message = (
                f"the {rule.direction.value} rule {rule.provenance.resource} names no security group. To fix: {fix}."
            )
        elif isinstance(rule.peer, NoPeer):
            fix = "name a CIDR, a source/destination security group or a prefix list"
            message = (
                f"an {rule.direction.value} rule of {rule.provenance.resource} names no peer, so nothing "
                f"is created. To fix: {fix}."
            )
        else:
            continue
        yield ctx.violated(
            policy, message, rule.provenance, peer=f"{rule.direction.value}|{rule.provenance.line}", fix=fix
        )

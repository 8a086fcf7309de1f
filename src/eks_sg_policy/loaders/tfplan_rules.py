"""Security groups and their rules from a plan: inline `ingress`/`egress`, `aws_security_group_rule`,
`aws_vpc_security_group_ingress_rule` and `aws_vpc_security_group_egress_rule`.

Rules are made from their fields by `terraform_mapping_rules`, as for HCL (`terraform_sg`): Terraform's
`aws_security_group` has no default egress, one model `Rule` is made per peer, and a rule with no
peer is a `NoPeer` rule. Which inline rules count is the plan's own:
inline rules written in the configuration are authoritative for their direction; a group being
created whose planned rules have no configuration expression got them from `dynamic` blocks (which
the configuration representation leaves out), so those are authoritative too. An existing group
whose rules are not in the configuration shows the rules it has (some made by rule resources):
they are read, but not as authoritative, and copies of rule resources are dropped.
"""

from __future__ import annotations

from ..model import Direction, Rule, RuleForm, SecurityGroup
from .terraform_mapping_rules import declared_group, inline_rules, unknown_rule
from .terraform_mapping_rules import rule_resource as _rule_resource
from .tfplan_view import View


def security_group(view: View) -> tuple[SecurityGroup, list[Rule], list[Rule]]:
    """The group, its authoritative inline rules, and the rules an existing group merely shows."""
    rules: list[Rule] = []
    shown: list[Rule] = []
    inline: set[Direction] = set()
    creating = "create" in view.instance.actions
    for direction in (Direction.INGRESS, Direction.EGRESS):
        name = direction.value
        configured = view.configured(name)
        items = view.blocks(name)
        if configured and view.value(name) is None and view.unknown(name):
            inline.add(direction)
            why = view.unresolved(name, view.describe(name), "scan the module's .tf files to read these rules")
            rules.append(unknown_rule(view.key, direction, why, form=RuleForm.INLINE))
            continue
        if not items and not configured:
            continue  # not written (EC2's default egress is removed by the provider either way)
        authoritative = configured or creating
        target = rules if authoritative else shown
        if authoritative:
            inline.add(direction)
        for item in items:
            target.extend(inline_rules(item, view.key, direction))
    return declared_group(view, inline), rules, shown


def rule_resource(view: View) -> list[Rule]:
    return _rule_resource(view, view.provenance())


def without_copies(shown: list[Rule], standalone: list[Rule]) -> list[Rule]:
    """The rules an existing group shows, less those that rule resources of the plan make."""
    made = {(r.group, r.direction, r.protocol, r.ports, r.peer) for r in standalone}
    return [r for r in shown if (r.group, r.direction, r.protocol, r.ports, r.peer) not in made]

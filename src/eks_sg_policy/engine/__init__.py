"""The engine: one evaluator per policy kind, run over the topology."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from ..findings import Finding
from ..policies import Policy, PolicySet
from ..reachability import ReachabilityIndex
from ..topology import Topology
from .connectivity import evaluate_connectivity
from .context import Context
from .exposure import evaluate_exposure, evaluate_forbidden_connectivity
from .hazards import evaluate_incomplete_rule, evaluate_mixed_rule_forms
from .networks import evaluate_dual_stack_egress, evaluate_remote_networks
from .structure import evaluate_attachment, evaluate_cardinality, evaluate_sharing, evaluate_tagging

Evaluator = Callable[[Policy, Context], Iterator[Finding]]

EVALUATORS: dict[str, Evaluator] = {
    "connectivity": evaluate_connectivity,
    "forbidden-connectivity": evaluate_forbidden_connectivity,
    "exposure": evaluate_exposure,
    "attachment": evaluate_attachment,
    "sharing": evaluate_sharing,
    "cardinality": evaluate_cardinality,
    "tagging": evaluate_tagging,
    "mixed-rule-forms": evaluate_mixed_rule_forms,
    "incomplete-rule": evaluate_incomplete_rule,
    "dual-stack-egress": evaluate_dual_stack_egress,
    "remote-networks": evaluate_remote_networks,
}

VERIFICATION_KIND = "verification"


def evaluate(
    topology: Topology, policies: PolicySet, *, strict: bool = False, verification: Policy | None = None
) -> list[Finding]:
    """Every finding of every selected policy, deduplicated and in a stable order.

    `verification` is the policy EKS900 findings are reported under (None: unknowns are dropped).
    """
    index = ReachabilityIndex(topology)
    written = ReachabilityIndex(topology, contested_in_force=True) if index.has_contested_rules else None
    ctx = Context(topology, index, verification, strict, written)
    found: dict[tuple[object, ...], Finding] = {}
    for policy in policies.policies:
        if policy.kind == VERIFICATION_KIND:
            continue
        for finding in EVALUATORS[policy.kind](policy, ctx):
            key = (
                finding.policy,
                finding.file,
                finding.line,
                finding.node_group,
                finding.peer,
                finding.blocks,
                finding.message,
            )
            found.setdefault(key, finding)
    if verification is not None:
        for finding in _incomplete_scan(ctx, topology):
            found.setdefault((finding.policy, finding.file, finding.line, finding.message), finding)
    return sorted(found.values(), key=Finding.sort_key)


def _incomplete_scan(ctx: Context, topology: Topology) -> Iterator[Finding]:
    """Parts of the input the scan could not evaluate: none of the requirements is verified there."""
    for what in topology.unevaluated:
        finding = ctx.incomplete(what)
        if finding is not None:
            yield finding

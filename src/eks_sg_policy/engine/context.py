"""What every evaluator shares: the topology, the reachability index and how findings are made."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ..findings import UNVERIFIED, VIOLATED, Finding, RuleFix
from ..model import Guard, Provenance, SecurityGroup, SgOrigin, Unresolved
from ..policies import DocRef, Policy
from ..reachability import ReachabilityIndex
from ..topology import ClusterView, Endpoint, Topology

# Which group of an endpoint takes a fix: one the scanned code declares, else the cluster group
# (a rule resource can attach to it), else an external one (a rule resource on a parameter/import).
_FIX_PREFERENCE = {SgOrigin.DECLARED: 0, SgOrigin.CLUSTER: 1, SgOrigin.EXTERNAL: 2, SgOrigin.REMOTE_ACCESS: 3}


@dataclass(frozen=True, slots=True)
class Context:
    topology: Topology
    index: ReachabilityIndex  # what requirements may rely on
    verification: Policy | None  # EKS900, when selected
    strict: bool = False
    written: ReachabilityIndex | None = None  # what exposure checks judge; None: the same as `index`

    @property
    def as_written(self) -> ReachabilityIndex:
        """Reachability with every rule the code writes in force, those the provider will remove too."""
        return self.written or self.index

    def violated(
        self,
        policy: Policy,
        message: str,
        where: Provenance,
        *,
        view: ClusterView | None = None,
        node_group: str | None = None,
        peer: str | None = None,
        fix: str | None = None,
        severity: str | None = None,
        doc: DocRef | None = None,
        rule_fixes: tuple[RuleFix, ...] = (),
    ) -> Finding:
        return Finding(
            policy=policy.id,
            severity=severity or policy.severity,
            status=VIOLATED,
            message=message,
            file=where.file,
            line=where.line,
            resource=where.resource,
            doc=doc or policy.doc,
            references=policy.rows,
            cluster=view.name if view else None,
            node_group=node_group,
            peer=peer,
            fix=fix,
            rule_fixes=rule_fixes,
        )

    def unverified(
        self,
        blocked: Policy,
        subject: str,
        unknowns: Sequence[Unresolved],
        fallback: Provenance,
        *,
        view: ClusterView | None = None,
        node_group: str | None = None,
        peer: str | None = None,
    ) -> Finding | None:
        """An EKS900 finding: `blocked` could not be decided for `subject` because of `unknowns`."""
        if self.verification is None:
            return None
        # The value to settle, chosen by name rather than position: reordering resources keeps the fingerprint.
        ordered = sorted(unknowns, key=lambda u: (not u.provenance.file, u.provenance.resource, u.what))
        first = ordered[0] if ordered else None
        where = first.provenance if first and first.provenance.file else fallback
        reason = first.what if first else "a value could not be resolved"
        hint = first.hint if first and first.hint else "supply the missing value or scan the other stack"
        more = f" (and {len(unknowns) - 1} more unknown value(s))" if len(unknowns) > 1 else ""
        message = (
            f"{blocked.id} ({blocked.title}) could not be verified for {subject}: {reason}{more}. To settle it: {hint}."
        )
        policy = self.verification
        return Finding(
            policy=policy.id,
            severity="error" if self.strict else policy.severity,
            status=UNVERIFIED,
            message=message,
            file=where.file,
            line=where.line,
            resource=where.resource,
            doc=policy.doc,
            references=blocked.rows,
            cluster=view.name if view else None,
            node_group=node_group,
            peer=peer,
            blocks=blocked.id,
            fix=hint,
        )

    def incomplete(self, what: Unresolved) -> Finding | None:
        """An EKS900 finding for a part of the input that was not evaluated at all."""
        if self.verification is None:
            return None
        policy = self.verification
        return Finding(
            policy=policy.id,
            severity="error" if self.strict else policy.severity,
            status=UNVERIFIED,
            message=f"{what.what}. To settle it: {what.hint}.",
            file=what.provenance.file,
            line=what.provenance.line,
            resource=what.provenance.resource,
            doc=policy.doc,
            references=policy.rows,
            fix=what.hint or None,
        )

    @property
    def cases(self) -> list[dict[str, bool] | None]:
        return self.index.cases()

    def guards_of(self, *endpoints: Endpoint | None) -> list[Unresolved]:
        """Why the rules of these endpoints' groups depend on conditions the scan cannot decide."""
        keys = {k for e in endpoints if e is not None for k in e.groups}
        return list(dict.fromkeys(
            r.condition.why for r in self.topology.rules
            if isinstance(r.condition, Guard) and isinstance(r.group, str) and r.group in keys
        ))  # fmt: skip

    def fix_group(self, endpoint: Endpoint) -> SecurityGroup | None:
        groups = [g for key in endpoint.groups if (g := self.topology.group(key)) is not None]
        if not groups:
            return None
        return min(groups, key=lambda g: _FIX_PREFERENCE[g.origin])

    def group_name(self, endpoint: Endpoint) -> str:
        group = self.fix_group(endpoint)
        return group.name if group else endpoint.name

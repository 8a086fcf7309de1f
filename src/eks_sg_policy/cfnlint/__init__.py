"""cfn-lint plugin: `cfn-lint --append-rules eks_sg_policy.cfnlint TEMPLATE`.

One rule class per policy of the catalog, with ids E91xx (error), W91xx (warning) and I91xx (note):
EKS102 -> E9102, EKS305 -> W9305, EKS900 -> I9900. The rules reuse cfn-lint's decoded template and
report at cfn-lint's line numbers; `Metadata: cfn-lint: config: ignore_checks` works as for any rule.
"""

from __future__ import annotations

from ..policies import load_policies
from . import _rule
from ._bridge import rule_id

__all__: list[str] = []

for _policy in load_policies().policies:
    _name = f"Rule{_policy.id}"
    globals()[_name] = type(
        _name,
        (_rule.EksPolicyRule,),
        {
            "id": rule_id(_policy.id, _policy.severity),
            "policy_id": _policy.id,
            "shortdesc": f"{_policy.id}: {_policy.title}",
            "description": f"{_policy.why} (AWS: {_policy.doc.table}: {_policy.doc.row})",
            "source_url": _policy.doc.url,
            "tags": ["eks", "security-group", _policy.kind],
        },
    )
    __all__.append(_name)

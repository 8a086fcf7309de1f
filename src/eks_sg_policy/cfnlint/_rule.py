"""The one cfn-lint rule class; `eks_sg_policy.cfnlint` makes a subclass of it per policy.

It lives in its own module so that cfn-lint, which instantiates every rule class it finds in the
module named by `--append-rules`, does not instantiate the base.
"""

from __future__ import annotations

from typing import Any, ClassVar

from cfnlint.rules import CloudFormationLintRule, RuleMatch

from ..api import Report
from ._bridge import path_to_line, scan_template

# cfn-lint calls every rule on the same Template object: scan it once, not once per rule.
_last: dict[str, Any] = {}


def _report_for(cfn: Any) -> Report:
    if _last.get("template") is not cfn.template:
        _last["template"] = cfn.template
        _last["report"] = scan_template(str(cfn.filename or "template"), cfn.template)
    report: Report = _last["report"]
    return report


class EksPolicyRule(CloudFormationLintRule):  # type: ignore[misc]
    policy_id: ClassVar[str] = ""

    def match(self, cfn: Any) -> list[Any]:
        matches = []
        for finding in _report_for(cfn).findings:
            if finding.policy != self.policy_id:
                continue
            section = "Parameters" if finding.resource in (cfn.template.get("Parameters") or {}) else "Resources"
            path = path_to_line(cfn.template, section, finding.resource, finding.line)
            matches.append(RuleMatch(path, f"{finding.message} [{finding.doc.table}: {finding.doc.row}]"))
        return matches

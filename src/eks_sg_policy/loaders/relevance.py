"""Whether a part of the input that is not evaluated may hold EKS resources, judged by its names.

A nested stack (CloudFormation) or a module (Terraform) that the scan cannot read is reported as not
evaluated (EKS900) when what it is called, its template or source, or what it is given suggests
clusters, node groups or security groups, and nothing marks it as something else (IAM, KMS, logs).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["NESTED_STACK", "TERRAFORM_MODULE", "Relevance"]


@dataclass(frozen=True, slots=True)
class Relevance:
    related: re.Pattern[str]  # words that suggest EKS resources
    unrelated: re.Pattern[str]  # words that mark the part as something else

    def may_hold_eks(self, said: str, name: str) -> bool:
        """Whether `said` (every name the part is known by) suggests EKS and its own `name` does not
        say otherwise."""
        return self.related.search(said) is not None and self.unrelated.search(name) is None


NESTED_STACK = Relevance(
    re.compile(r"eks|node|cluster|control.?plane|security.?group|worker", re.I),
    re.compile(r"iam|kms|log|bucket|dns", re.I),
)
TERRAFORM_MODULE = Relevance(
    re.compile(r"eks|security.?group|\bsg\b|node|cluster|worker|autoscal", re.I),
    re.compile(r"\biam\b|irsa|kms|addons?\b|fargate|label", re.I),
)

"""What the shared Terraform mapping (`terraform_mapping`, `terraform_mapping_rules`) reads of a
resource: the methods both loaders' View classes offer.

`terraform_extract.View` reads an evaluated HCL block, `tfplan_view.View` a planned instance of a
plan JSON. The mapping from provider resources to the model is written once, against these
protocols; what a source can or cannot know is the View's answer:

- unknown values: in HCL an `Unknown` (or a `Ref` with no known text) that was evaluated; in a
  plan a null that the plan marks as known only after apply (`undecided`, `nested`).
- lines: HCL provenance points at the attribute; a plan's at the instance (`provenance_of`).
- conditions (`count`/`for_each` the scan cannot decide) and fix references (`GroupRef`) exist for
  HCL only; a plan has decided every condition and is not where fixes are written.
- how a reference is followed to a cluster or a launch template: the HCL value carries it, a plan's
  configuration expression names it.
- error and unresolved wording: each loader keeps its own.

Kept free of the HCL evaluator, like everything the plan loader imports.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Protocol

from ..errors import ScanError
from ..model import GroupRef, Provenance, SgKey, Unresolved
from ..net import IPNetwork


class RuleFields(Protocol):
    """The fields of one security group rule: a rule resource, an `ingress`/`egress` block, or (HCL)
    one item of the attribute-list form `ingress = [{...}]`."""

    @property
    def condition(self) -> Unresolved | None:
        """The undecidable condition the resource exists under (HCL); None in a plan."""
        ...

    def provenance(self) -> Provenance:
        """Where the rule is written."""
        ...

    def value(self, name: str) -> object:
        """The value as the source has it (None when absent or null)."""
        ...

    def undecided(self, name: str, *, written: bool = False) -> Unresolved | None:
        """Why the value of `name` cannot be known by the scan, or None when it is known or absent.
        `written`: count a plan's unknown value only when the configuration writes an expression for
        it (every HCL value is written)."""
        ...

    def cidrs(self, name: str) -> list[IPNetwork | Unresolved]:
        """The CIDRs of a CIDR or list of CIDRs; a malformed one is a ScanError."""
        ...

    def narrow(self, name: str) -> bool:
        """Whether every unknown CIDR of `name` is written with a non-zero prefix length ("${ip}/32");
        a plan does not record how an unknown value is written."""
        ...

    def groups(self, name: str) -> list[SgKey | Unresolved]:
        """The security groups an id or a list of ids names."""
        ...

    def texts(self, name: str) -> list[str | Unresolved]:
        """The non-empty strings of a string or a list of strings (prefix list ids)."""
        ...

    def not_set(self, name: str) -> ScanError:
        """The error for a required attribute that is not set."""
        ...

    def error(self, name: str, message: str, *, named: bool = True) -> ScanError:
        """The error for a wrong value of `name`. `named`: the message follows `<name>: `. The HCL
        loader's wording leaves the attribute out when not `named`; a plan's errors always name it."""
        ...


class ResourceView(RuleFields, Protocol):
    """One resource instance, or one of its nested blocks."""

    @property
    def key(self) -> str:
        """The instance's identity in the model (`tf:<module dir or plan>:<address>`)."""
        ...

    @property
    def address(self) -> str: ...

    @property
    def resource_type(self) -> str: ...

    def provenance_of(self, name: str) -> Provenance:
        """Where attribute `name` is written (a plan: the instance)."""
        ...

    def text(self, name: str) -> str | Unresolved | None: ...

    def group(self, name: str) -> SgKey | Unresolved | None: ...

    def tags(self) -> tuple[tuple[str, str | Unresolved], ...]: ...

    def first_block(self, name: str) -> ResourceView | None: ...

    def nested(self, name: str) -> tuple[Sequence[ResourceView], Unresolved | None]:
        """The `name` blocks, and why there may be others the scan cannot see (HCL: a `dynamic` block
        over an unknown collection; a plan: an unknown list the configuration writes as one expression)."""
        ...

    def empty(self, name: str, advice: str = "") -> Unresolved:
        """A name that is the empty string. `advice` says how a module gives it a value; a plan's value
        is final, so the plan View does not show it."""
        ...

    def group_ref(self, kind: str) -> GroupRef | None:
        """How the configuration refers to this resource as a group of `kind`, for fix snippets (HCL);
        None in a plan."""
        ...

    def cluster_reference(self, name: str) -> str | None:
        """The key of the `aws_eks_cluster` that attribute `name` refers to, if any."""
        ...

    def template_keys(self, name: str) -> list[str]:
        """The keys of the launch templates or configurations attribute `name` may refer to."""
        ...

    def undeclared_template(self, name: str) -> Unresolved:
        """Why the launch template a known value of `name` names is not one the scan read."""
        ...

    def asg_tag_keys(self) -> Iterable[tuple[object, Unresolved | None]]:
        """The key of every tag of an autoscaling group (`tag` blocks, `tags` objects), with why it
        cannot be known (None when it can)."""
        ...

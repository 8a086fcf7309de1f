"""`# eks-sg-policy:skip=EKS301 reason [expires=YYYY-MM-DD]` comments on Terraform blocks.

A comment applies to the block it is written in, or to the block right below it when only
comment lines separate them. Several ids may be given, separated by commas.
"""

from __future__ import annotations

import re
from datetime import date

from ..errors import ScanError
from ..model import Provenance
from .base import Suppression
from .hcl_parse import Block, ParsedFile
from .terraform_module import ModuleInstance

_ID = r"[A-Za-z][A-Za-z_-]*[0-9][A-Za-z0-9_-]*"  # EKS301
_IDS = re.compile(rf"^({_ID}(?:\s*,\s*{_ID})*)(?:\s+(.*))?$")
_EXPIRES = re.compile(r"(?:^|\s)expires\s*=\s*(\S+)")


def collect_suppressions(root: ModuleInstance) -> list[Suppression]:
    found: list[Suppression] = []
    for module in root.all_instances():
        for path, parsed in module.config.parsed.items():
            for line, text in parsed.comments:
                found.extend(_suppressions(module, path, parsed, line, text))
    return found


def _suppressions(module: ModuleInstance, path: str, parsed: ParsedFile, line: int, text: str) -> list[Suppression]:
    match = _IDS.match(text)
    if not match:
        raise ScanError(path, "eks-sg-policy:skip= must name a policy id, e.g. skip=EKS301 reason", line)
    ids = [i.strip() for i in match.group(1).split(",")]
    rest = match.group(2) or ""
    expires = None
    expiry = _EXPIRES.search(rest)
    if expiry:
        try:
            expires = date.fromisoformat(expiry.group(1))
        except ValueError:
            raise ScanError(path, f"expires={expiry.group(1)} is not a date (YYYY-MM-DD)", line) from None
        rest = rest[: expiry.start()] + rest[expiry.end() :]
    reason = rest.strip(" \t-:—")
    if not reason:
        raise ScanError(path, f"suppression of {', '.join(ids)} needs a reason after the id", line)
    block = _target(parsed, line)
    if block is None:
        module.ctx.note(f"{path}:{line}: eks-sg-policy:skip is not inside or right above a block; ignored")
        return []
    provenance = Provenance(path, line, module.prefix + _address(block))
    return [
        Suppression(policy, reason, resource, provenance, expires)
        for resource in _resources(module, block)
        for policy in ids
    ]


def _resources(module: ModuleInstance, block: Block) -> list[str]:
    """The addresses findings use: one per instance of a counted resource."""
    address = _address(block)
    if block.type == "resource" and address in module.config.resources:
        _expansion, instances = module.instances(address)
        if instances:
            return [instance.address for instance in instances]
    return [module.prefix + address]


def _target(parsed: ParsedFile, line: int) -> Block | None:
    for block in parsed.blocks:
        if block.line <= line <= block.end_line:
            return block
    below = [b for b in parsed.blocks if b.line > line]
    if not below:
        return None
    block = min(below, key=lambda b: b.line)
    between = range(line + 1, block.line)
    return block if all(n in parsed.comment_lines for n in between) else None


def _address(block: Block) -> str:
    if block.type == "resource" and len(block.labels) == 2:
        return f"{block.labels[0]}.{block.labels[1]}"
    if block.type in ("data", "module") and block.labels:
        return ".".join((block.type, *block.labels))
    return ".".join((block.type, *block.labels)) if block.labels else block.type

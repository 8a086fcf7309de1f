"""What the snippet writers share: the target file's text and style, names, anchors."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ..findings import RuleFix
from ..model import Direction, SecurityGroup, SgOrigin
from ..net import PortRange
from ..topology import Topology


@dataclass
class FileText:
    path: str
    text: str
    lines: list[str] = field(init=False)

    def __post_init__(self) -> None:
        self.lines = self.text.splitlines()

    @property
    def is_terraform(self) -> bool:
        return self.path.endswith((".tf", ".tf.json"))

    @property
    def is_json(self) -> bool:
        return self.path.endswith(".json")

    @property
    def short_tags(self) -> bool:
        return bool(re.search(r"!(Ref|GetAtt|Sub|If|ImportValue|Join)\b", self.text))

    def indent_of(self, line: int) -> str:
        if 1 <= line <= len(self.lines):
            text = self.lines[line - 1]
            return text[: len(text) - len(text.lstrip())]
        return ""

    def unit(self, line: int) -> str:
        """The indentation step used under `line` (two spaces when it cannot be seen)."""
        base = len(self.indent_of(line))
        for text in self.lines[line : line + 5]:
            if text.strip():
                step = len(text) - len(text.lstrip()) - base
                if step > 0:
                    return " " * step
                break
        return "  "


def anchor_lines(topology: Topology) -> dict[str, int]:
    """Per file, the line of its first resource: where a new resource can be inserted before."""
    lines: dict[str, int] = {}

    def note(file: str, line: int) -> None:
        if line > 0 and (file not in lines or line < lines[file]):
            lines[file] = line

    for group in topology.groups.values():
        if group.origin in (SgOrigin.DECLARED, SgOrigin.CLUSTER):
            note(group.provenance.file, group.provenance.line)
    for view in topology.clusters:
        if view.cluster is not None:
            note(view.cluster.provenance.file, view.cluster.provenance.line)
        for ng in view.node_groups:
            note(ng.node_group.provenance.file, ng.node_group.provenance.line)
    return lines


def insertion_line(group: SecurityGroup, anchors: dict[str, int]) -> int | None:
    """Before the group's own resource when the code declares it, else before the file's first resource."""
    if group.origin in (SgOrigin.DECLARED, SgOrigin.CLUSTER):
        return group.provenance.line
    return anchors.get(group.provenance.file)


def rule_name(fix: RuleFix, group: SecurityGroup, peer: SecurityGroup | None, ports: PortRange) -> list[str]:
    """Words for a new resource's name: group, direction, protocol, ports, peer."""
    words = [_words(group.ref.name if group.ref else group.name)]
    words.append("ingress" if fix.direction is Direction.INGRESS else "egress")
    words.append("all" if fix.protocol == "all" else f"{fix.protocol}{_ports(ports)}")
    if peer is not None and peer.key != group.key:
        words.append(
            ("from" if fix.direction is Direction.INGRESS else "to")
            + " "
            + _words(peer.ref.name if peer.ref else peer.name)
        )
    elif peer is not None:
        words.append("self")
    else:
        words.append("anywhere")
    return " ".join(words).split()


def _words(name: str) -> str:
    """Words of a group's name; a Terraform instance key stays (`node[1]` -> "node 1") so that the
    rules written for two instances get two names."""
    if name.startswith(("aws_", "data.")):
        name = re.sub(r"^.*?\.([^.\[]+(\[[^\]]*\])?)$", r"\1", name)
    name = re.sub(r"\[([^\]]*)\]", r" \1 ", name)
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", name)
    return re.sub(r"[^A-Za-z0-9]+", " ", spaced).strip()


def _ports(ports: PortRange) -> str:
    return str(ports.low) if ports.low == ports.high else f"{ports.low} to {ports.high}"

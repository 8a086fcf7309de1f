"""`AWS::EC2::SecurityGroupIngress`/`Egress` resources, in the template's own style (YAML short or
long tags, or JSON, with its indentation), inserted before a resource of the same template."""

from __future__ import annotations

import json
from typing import Any

from ..findings import FixEdit, RuleFix
from ..model import Direction, GroupRef, SecurityGroup
from .common import FileText, insertion_line, rule_name

_REF_KINDS_IN_OTHER_FILES = ("import", "literal")
_YAML_WORDS = {"y", "n", "yes", "no", "on", "off", "true", "false", "null"}


def cfn_rule_resource(
    fix: RuleFix,
    group: SecurityGroup,
    peer: SecurityGroup | None,
    file: FileText,
    anchors: dict[str, int],
    description: str,
) -> FixEdit | None:
    line = insertion_line(group, anchors)
    if line is None or group.ref is None:
        return None
    target = _reference(group.ref, same_file=True)
    source = None
    if peer is not None:
        if peer.ref is None:
            return None
        ref, same = peer.ref, peer.provenance.file == group.provenance.file
        local = next((a for a in peer.aliases if a.module == group.provenance.file), None)
        if not same and local is not None:  # the name this template gives it (a nested stack's parameter)
            ref, same = local, True
        if not same and ref.kind not in _REF_KINDS_IN_OTHER_FILES:
            return None
        source = _reference(ref, same)
    resources = []
    for ports in fix.ports.ranges:
        name = "".join(w[:1].upper() + w[1:] for w in rule_name(fix, group, peer, ports))[:255]
        properties: dict[str, Any] = {"Description": description, "GroupId": target}
        if source is not None:
            key = "SourceSecurityGroupId" if fix.direction is Direction.INGRESS else "DestinationSecurityGroupId"
            properties[key] = source
        else:
            properties["CidrIp"] = fix.cidr or "0.0.0.0/0"
        if fix.protocol == "all":
            properties["IpProtocol"] = "-1"
        else:
            properties.update({"IpProtocol": fix.protocol, "FromPort": ports.low, "ToPort": ports.high})
        kind = (
            "AWS::EC2::SecurityGroupIngress" if fix.direction is Direction.INGRESS else "AWS::EC2::SecurityGroupEgress"
        )
        resources.append((name, {"Type": kind, "Properties": properties}))
    indent, unit = file.indent_of(line), file.unit(line)
    text = _json(resources, indent, unit) if file.is_json else _yaml(resources, indent, unit, file.short_tags)
    return FixEdit(file.path, line, text)


def _reference(ref: GroupRef, same_file: bool) -> Any:
    """The value that names the group's id: `!Ref`, `!GetAtt`, `!ImportValue` or a literal."""
    if ref.kind in ("resource", "parameter"):
        return {"Ref": ref.name}
    if ref.kind == "cluster":
        return {"Fn::GetAtt": [ref.name, "ClusterSecurityGroupId"]}
    if ref.kind == "attribute":
        resource, _, attribute = ref.name.partition(".")
        return {"Fn::GetAtt": [resource, attribute]}
    if ref.kind == "import":
        return {"Fn::ImportValue": ref.name}
    return ref.name


def _json(resources: list[tuple[str, dict[str, Any]]], indent: str, unit: str) -> str:
    out = []
    for name, body in resources:
        rendered = json.dumps({name: body}, indent=len(unit))[1:-1].strip("\n")
        lines = [line[len(unit) :] if line.startswith(unit) else line for line in rendered.splitlines()]
        out.append("\n".join(indent + line for line in lines) + ",\n")
    return "".join(out)


def _yaml(resources: list[tuple[str, dict[str, Any]]], indent: str, unit: str, short: bool) -> str:
    out = []
    for name, body in resources:
        out.append(f"{indent}{name}:\n{indent}{unit}Type: {body['Type']}\n{indent}{unit}Properties:\n")
        for key, value in body["Properties"].items():
            out.append(f"{indent}{unit}{unit}{key}: {_yaml_value(value, short)}\n")
        out.append("\n")
    return "".join(out)


def _yaml_value(value: Any, short: bool) -> str:
    if isinstance(value, dict):
        ((function, argument),) = value.items()
        if function == "Fn::GetAtt":
            argument = ".".join(argument) if short else f"[{argument[0]}, {argument[1]}]"
        if short:
            tag = function.removeprefix("Fn::")
            return f"!{tag} {argument}"
        return "{" + f"{function}: {argument}" + "}"
    if isinstance(value, str):
        # A plain word stays plain; anything else is a JSON string, a valid YAML double-quoted scalar.
        return value if value.isalpha() and value.lower() not in _YAML_WORDS else json.dumps(value)
    return str(value)

"""Terraform plan JSON (`terraform show -json PLANFILE`) -> the model, with the HCL loader's semantics."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from eks_sg_policy.api import scan
from eks_sg_policy.errors import ScanError
from eks_sg_policy.loaders import tfplan_view
from eks_sg_policy.loaders.base import LoadedUnit
from eks_sg_policy.loaders.terraform import load_terraform_module
from eks_sg_policy.loaders.terraform_config import module_files
from eks_sg_policy.loaders.terraform_schema import ATTACHMENTS
from eks_sg_policy.loaders.tfplan import load_plan
from eks_sg_policy.loaders.tfplan_json import JsonArray, JsonObject, parse_json
from eks_sg_policy.model import Direction, Model, SgOrigin, SgPeer, Unresolved, UnresolvedPeer

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data" / "tfplan"
PLANS = ("self-managed-unknown-ids", "module-nodes", "existing-cluster-known-ids")

# -- writing small plans --------------------------------------------------------------------
UNKNOWN_RULE = {"id": True, "security_group_id": True, "source_security_group_id": True}


def ref(*references: str) -> dict[str, Any]:
    return {"references": list(references)}


def const(value: object) -> dict[str, Any]:
    return {"constant_value": value}


def instance(address: str, values: dict[str, Any], index: object = None, mode: str = "managed") -> dict[str, Any]:
    rtype, name = re.sub(r"\[[^\]]*\]$", "", address).split(".")[-2:]
    out: dict[str, Any] = {"address": address, "mode": mode, "type": rtype, "name": name}
    if index is not None:
        out["index"] = index
    out.update({"provider_name": "registry.terraform.io/hashicorp/aws", "values": values})
    return out


def block(address: str, expressions: dict[str, Any], **extra: Any) -> dict[str, Any]:
    rtype, name = address.split(".")[-2:]
    mode = "data" if address.startswith("data.") else "managed"
    return {"address": address, "mode": mode, "type": rtype, "name": name, "expressions": expressions, **extra}


def rule_values(**values: Any) -> dict[str, Any]:
    base = {"type": "ingress", "protocol": "tcp", "from_port": 443, "to_port": 443, "cidr_blocks": None, "self": False}
    return {**base, **values}


def write_plan(
    tmp_path: Path,
    resources: list[dict[str, Any]],
    config: list[dict[str, Any]] | None = None,
    unknown: dict[str, dict[str, Any]] | None = None,
    **top: Any,
) -> str:
    """A plan of root-module resources, each created, with `after_unknown` from `unknown`."""
    unknown = unknown or {}
    document: dict[str, Any] = {
        "format_version": "1.2",
        "terraform_version": "1.9.5",
        "planned_values": {"root_module": {"resources": resources}},
        "resource_changes": [
            {
                "address": r["address"],
                "change": {"actions": ["create"], "after": r["values"], "after_unknown": unknown.get(r["address"], {})},
            }
            for r in resources
            if r["mode"] == "managed"
        ],
        "configuration": {"root_module": {"resources": config or []}},
        **top,
    }
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(document, indent=2) + "\n")
    return str(path)


def load(path: str) -> LoadedUnit:
    return load_plan(path, Path(path).read_text())


def key(path: str, address: str) -> str:
    return f"tf:{path}:{address}"


# -- the same module as .tf and as a plan ---------------------------------------------------
def normalized(model: Model, unit: str) -> dict[str, Any]:
    """The model without lines, with the unit (module directory or plan file) taken out of keys."""

    def k(value: object) -> object:
        if isinstance(value, Unresolved):
            return "?"
        text = str(value)
        for kind in ("tf", "data", "var"):
            text = text.replace(f"{kind}:{unit}:", f"{kind}:")
        return text

    groups = {(k(g.key), g.name, g.origin, g.has_inline, g.tags, k(g.vpc)) for g in model.security_groups}
    rules = sorted(
        (k(r.group), r.direction.value, k(r.protocol), k(r.ports), k(r.peer), r.form.value, r.description)
        for r in model.rules
    )
    clusters = sorted(
        (k(c.key), k(c.name), k(c.cluster_sg), tuple(map(k, c.security_groups)), c.version, c.ip_family)
        for c in model.clusters
    )
    node_groups = sorted(
        (
            k(n.key),
            n.name,
            n.kind.value,
            k(n.cluster.cluster_key),
            n.cluster.cluster_name,
            tuple(map(k, n.launch_template_groups)) if n.launch_template_groups is not None else None,
            n.launch_template.resource if n.launch_template else None,
            tuple(map(k, n.remote_access.source_groups)) if n.remote_access else None,
            n.tags,
        )
        for n in model.node_groups
    )
    return {"groups": groups, "rules": rules, "clusters": clusters, "node_groups": node_groups}


@pytest.mark.parametrize("name", PLANS)
def test_the_plan_and_its_module_give_the_same_model_and_findings(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shutil.copytree(DATA / name, tmp_path / name)
    shutil.copy(DATA / f"{name}.json", tmp_path / f"{name}.json")
    monkeypatch.chdir(tmp_path)
    module = load_terraform_module(name, module_files(name), {}, [])
    plan = load(f"{name}.json")
    assert normalized(plan.model, f"{name}.json") == normalized(module.model, name)

    from_module, from_plan = scan([name]), scan([f"{name}.json"])
    assert not from_module.errors and not from_plan.errors
    assert from_plan.findings  # every fixture finds something: the comparison cannot pass by finding nothing

    def verdicts(findings: tuple[Any, ...]) -> list[tuple[str, str, str, str | None, str | None]]:
        return sorted((f.policy, f.status, f.resource, f.cluster, f.node_group) for f in findings)

    assert verdicts(from_plan.findings) == verdicts(from_module.findings)
    assert all(f.file == f"{name}.json" for f in from_plan.findings)


@pytest.mark.parametrize(
    ("name", "exit_code", "expected"),
    [
        (
            "self-managed-unknown-ids",
            1,
            [
                ("EKS102", "violated", 166, "aws_security_group.node"),
                ("EKS105", "violated", 166, "aws_security_group.node"),
                ("EKS201", "violated", 101, "aws_launch_template.node"),
            ],
        ),
        (
            "module-nodes",
            0,
            [
                ("EKS104", "violated", 129, "module.nodes.aws_security_group.node"),
                ("EKS105", "violated", 129, "module.nodes.aws_security_group.node"),
            ],
        ),
        (
            "existing-cluster-known-ids",
            1,
            [
                ("EKS302", "violated", 129, "aws_security_group.cluster_extra"),
                ("EKS302", "violated", 208, "aws_security_group_rule.nodeports[0]"),
            ],
        ),
    ],
)
def test_check_of_a_plan_through_the_cli(name: str, exit_code: int, expected: list[tuple[str, str, int, str]]) -> None:
    exe = shutil.which("eks-sg-policy", path=str(Path(sys.executable).parent))
    command = [exe] if exe else [sys.executable, "-m", "eks_sg_policy"]
    path = f"tests/data/tfplan/{name}.json"
    result = subprocess.run(
        [*command, "check", path, "--format", "json"], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == exit_code, result.stderr
    report = json.loads(result.stdout)
    assert report["errors"] == []
    got = sorted((f["policy"], f["status"], f["line"], f["resource"]) for f in report["findings"])
    assert got == sorted(expected)
    assert {f["file"] for f in report["findings"]} == {path}
    assert report["summary"]["clusters"] == 1 and report["summary"]["node_groups"] == 1


@pytest.mark.parametrize("name", PLANS)
def test_every_provenance_is_a_line_that_names_its_resource(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    path = f"tests/data/tfplan/{name}.json"
    lines = Path(path).read_text().splitlines()
    model = load(path).model
    places = [
        *(g.provenance for g in model.security_groups),
        *(r.provenance for r in model.rules),
        *(c.provenance for c in model.clusters),
        *(n.provenance for n in model.node_groups),
    ]
    assert places
    for where in places:
        assert where.file == path
        assert f'"address": {json.dumps(where.resource)}' in lines[where.line - 1], where


# -- what the fixtures show in the model ----------------------------------------------------
def test_unknown_ids_are_linked_through_configuration_references(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    path = "tests/data/tfplan/self-managed-unknown-ids.json"
    model = load(path).model
    node, control_plane = key(path, "aws_security_group.node"), key(path, "aws_security_group.control_plane")
    (cluster,) = model.clusters
    assert cluster.security_groups == (control_plane,)
    (nodes,) = model.node_groups
    assert nodes.launch_template_groups == (node,)  # vpc_security_group_ids: [null] + references
    assert nodes.cluster.cluster_key == cluster.key and nodes.cluster.cluster_name == "demo"
    webhooks = next(r for r in model.rules if r.group == node and r.description == "webhooks")
    assert webhooks.peer == SgPeer(control_plane)  # one attribute-as-blocks expression names it
    groups = {g.key: g for g in model.security_groups}
    assert groups[node].has_inline == {Direction.INGRESS, Direction.EGRESS}
    assert groups[control_plane].has_inline == frozenset()  # no egress: Terraform removes the default


def test_module_inputs_and_outputs_are_followed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    path = "tests/data/tfplan/module-nodes.json"
    model = load(path).model
    (cluster,) = model.clusters
    node = key(path, "module.nodes.aws_security_group.node")
    kubelet = next(r for r in model.rules if r.provenance.resource.endswith("kubelet"))
    assert (kubelet.group, kubelet.peer) == (node, SgPeer(cluster.cluster_sg))  # var -> the root's reference
    from_nodes = next(r for r in model.rules if r.provenance.resource.endswith("cluster_from_nodes"))
    assert (from_nodes.group, from_nodes.peer) == (cluster.cluster_sg, SgPeer(node))  # module output
    (group,) = model.node_groups
    assert group.cluster.cluster_key == cluster.key  # cluster_name = var.cluster_name = aws_eks_cluster.main.name


def test_known_ids_map_back_to_the_resources_that_own_them(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    path = "tests/data/tfplan/existing-cluster-known-ids.json"
    model = load(path).model
    (cluster,) = model.clusters
    extra = key(path, "aws_security_group.cluster_extra")
    assert cluster.security_groups == (extra,)
    nodeports = [r for r in model.rules if r.provenance.resource.startswith("aws_security_group_rule.nodeports")]
    assert [r.group for r in nodeports] == [cluster.cluster_sg] * 2
    bastion = f"data:{path}:data.aws_security_group.bastion"
    (group,) = model.node_groups
    assert group.remote_access is not None and group.remote_access.source_groups == (bastion,)
    origins = {g.key: g.origin for g in model.security_groups}
    assert origins[bastion] is SgOrigin.EXTERNAL and origins[extra] is SgOrigin.DECLARED
    # The egress rule the group shows is the rule resource's: read once, and not as inline rules.
    egress = [r for r in model.rules if r.group == extra and r.direction is Direction.EGRESS]
    assert [r.provenance.resource for r in egress] == ["aws_security_group_rule.extra_egress"]
    assert Direction.EGRESS not in next(g for g in model.security_groups if g.key == extra).has_inline


# -- reading the JSON -----------------------------------------------------------------------
def test_json_reader_keeps_the_lines_of_objects_keys_and_items() -> None:
    document = parse_json('{\n  "a": [\n    {"b": 1},\n    2\n  ],\n  "c": "\\u00e9"\n}\n')
    assert isinstance(document, JsonObject) and document == {"a": [{"b": 1}, 2], "c": "é"}
    assert (document.line, document.line_of("a"), document.line_of("c")) == (1, 2, 6)
    items = document["a"]
    assert isinstance(items, JsonArray) and items.item_lines == [3, 4]


def test_json_reader_reads_an_integer_too_long_for_python_as_infinity() -> None:
    document = parse_json('{"port": 1' + "0" * 5000 + ', "small": 443, "exponent": 1e5000}')
    assert document == {"port": float("inf"), "small": 443, "exponent": float("inf")}


def test_invalid_json_is_a_scan_error_with_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "plan.json"
    path.write_text('{\n  "format_version": "1.2",\n  "planned_values": {,}\n}\n')
    with pytest.raises(ScanError) as caught:
        load(str(path))
    assert (caught.value.line, caught.value.column) == (3, 22)
    assert "invalid JSON" in caught.value.message


def test_a_plan_of_an_unsupported_major_format_version_is_rejected(tmp_path: Path) -> None:
    path = write_plan(tmp_path, [], format_version="2.0")
    with pytest.raises(ScanError) as caught:
        load(path)
    assert caught.value.message.startswith("unsupported plan format_version 2.0")
    assert caught.value.line == 2


def test_format_0_1_and_unknown_properties_are_read(tmp_path: Path) -> None:
    rule = instance("aws_security_group_rule.r", rule_values(security_group_id="sg-1", cidr_blocks=["10.0.0.0/8"]))
    rule["something_new"] = {"nested": [1, 2]}
    path = write_plan(tmp_path, [rule], format_version="0.1", shiny_new_section={"x": 1})
    (loaded,) = load(path).model.rules
    assert loaded.group == "sg-1" and str(loaded.peer) == "10.0.0.0/8"


def test_a_state_file_is_not_a_plan(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    path.write_text(json.dumps({"format_version": "1.0", "values": {"root_module": {}}}, indent=2))
    with pytest.raises(ScanError, match="no planned_values"):
        load(str(path))


@pytest.mark.parametrize(
    ("values", "message", "field"),
    [
        ({"cidr_blocks": ["10.0.0.0/33"]}, "invalid CIDR", "cidr_blocks"),
        ({"cidr_blocks": ["10.0.0.0/8"], "from_port": 70000, "to_port": 70000}, "port out of range", "from_port"),
        ({"cidr_blocks": ["10.0.0.0/8"], "protocol": "tcpx"}, "unknown IP protocol", "protocol"),
    ],
)
def test_bad_values_are_scan_errors_at_their_line(
    tmp_path: Path, values: dict[str, Any], message: str, field: str
) -> None:
    path = write_plan(
        tmp_path, [instance("aws_security_group_rule.r", rule_values(security_group_id="sg-1", **values))]
    )
    with pytest.raises(ScanError) as caught:
        load(path)
    lines = Path(path).read_text().splitlines()
    assert caught.value.file == path and message in caught.value.message
    assert caught.value.line is not None and f'"{field}"' in lines[caught.value.line - 1]


def test_unexpected_errors_become_scan_errors_with_file_and_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_plan(tmp_path, [instance("aws_security_group.g", {"name": "g"})])

    def broken(self: object, name: str = "tags") -> object:
        raise KeyError("boom")

    monkeypatch.setattr(tfplan_view.View, "tags", broken)
    with pytest.raises(ScanError) as caught:
        load(path)
    assert "internal error" in caught.value.message and "KeyError" in caught.value.message
    lines = Path(path).read_text().splitlines()
    assert caught.value.file == path and caught.value.line is not None
    assert '"address": "aws_security_group.g"' in lines[caught.value.line - 1]


# -- references -----------------------------------------------------------------------------
def test_counted_groups_are_picked_by_key_by_the_referrers_index_or_not_at_all(tmp_path: Path) -> None:
    groups = [instance(f"aws_security_group.node[{i}]", {"name": f"n{i}"}, index=i) for i in (0, 1)]
    rules = [
        instance(f"aws_security_group_rule.per_node[{i}]", rule_values(cidr_blocks=["10.0.0.0/8"]), index=i)
        for i in (0, 1)
    ]
    rules.append(instance("aws_security_group_rule.second", rule_values(cidr_blocks=["10.0.0.0/8"])))
    rules.append(instance("aws_security_group_rule.some", rule_values(cidr_blocks=["10.0.0.0/8"])))
    config = [
        block("aws_security_group.node", {"name": ref("count.index")}, count_expression=const(2)),
        block(
            "aws_security_group_rule.per_node",
            {"security_group_id": ref("aws_security_group.node", "count.index")},
            count_expression=const(2),
        ),
        block(
            "aws_security_group_rule.second",
            {"security_group_id": ref("aws_security_group.node[1].id", "aws_security_group.node[1]")},
        ),
        block("aws_security_group_rule.some", {"security_group_id": ref("aws_security_group.node", "var.pick")}),
    ]
    unknown = {r["address"]: UNKNOWN_RULE for r in rules}
    path = write_plan(tmp_path, groups + rules, config, unknown, variables={"pick": {"value": 1}})
    by_resource = {r.provenance.resource: r.group for r in load(path).model.rules}
    assert by_resource["aws_security_group_rule.per_node[0]"] == key(path, "aws_security_group.node[0]")
    assert by_resource["aws_security_group_rule.per_node[1]"] == key(path, "aws_security_group.node[1]")
    assert by_resource["aws_security_group_rule.second"] == key(path, "aws_security_group.node[1]")
    ambiguous = by_resource["aws_security_group_rule.some"]
    assert isinstance(ambiguous, Unresolved) and "2 instances" in ambiguous.what


def test_module_instances_with_for_each_join_their_configuration(tmp_path: Path) -> None:
    created = instance('module.sg["a"].aws_security_group.this[0]', {"name": "a"}, index=0)
    rule = instance('module.sg["a"].aws_security_group_rule.in', rule_values(cidr_blocks=["10.0.0.0/8"]))
    child = {"address": 'module.sg["a"]', "resources": [created, rule]}
    module = {
        "resources": [
            block("aws_security_group.this", {"name": ref("var.name")}, count_expression=const(1)),
            block("aws_security_group_rule.in", {"security_group_id": ref("aws_security_group.this[0].id")}),
        ],
        "variables": {"name": {}},
    }
    path = tmp_path / "plan.json"
    document = {
        "format_version": "1.2",
        "planned_values": {"root_module": {"child_modules": [child]}},
        "resource_changes": [
            {"address": rule["address"], "change": {"actions": ["create"], "after_unknown": UNKNOWN_RULE}},
        ],
        "configuration": {
            "root_module": {"module_calls": {"sg": {"for_each_expression": const({"a": 1}), "module": module}}}
        },
    }
    path.write_text(json.dumps(document, indent=2))
    (loaded,) = load(str(path)).model.rules
    assert loaded.group == key(str(path), 'module.sg["a"].aws_security_group.this[0]')


def test_what_the_plan_does_not_record_is_unresolved_never_guessed(tmp_path: Path) -> None:
    group = instance("aws_security_group.node", {"name": "node"})
    via_local = instance("aws_security_group_rule.via_local", rule_values(cidr_blocks=["10.0.0.0/8"]))
    via_each = instance('aws_security_group_rule.via_each["x"]', rule_values(cidr_blocks=["10.0.0.0/8"]), index="x")
    config = [
        block("aws_security_group.node", {"name": const("node")}),
        block("aws_security_group_rule.via_local", {"security_group_id": ref("local.node_sg")}),
        block(
            "aws_security_group_rule.via_each",
            {"security_group_id": ref("each.value.sg", "each.value")},
            for_each_expression=ref("var.rules"),
        ),
    ]
    unknown = {r["address"]: UNKNOWN_RULE for r in (via_local, via_each)}
    model = load(write_plan(tmp_path, [group, via_local, via_each], config, unknown)).model
    each_rule, local_rule = sorted(model.rules, key=lambda r: r.provenance.resource)
    assert isinstance(local_rule.group, Unresolved) and "local.node_sg is a local value" in local_rule.group.what
    assert "scan the module's .tf files" in local_rule.group.hint
    assert isinstance(each_rule.group, Unresolved) and "known only after apply" in each_rule.group.what


def test_dynamic_ingress_of_a_new_group_is_read_from_planned_values(tmp_path: Path) -> None:
    item = {"cidr_blocks": ["10.0.0.0/8"], "from_port": 10250, "to_port": 10250, "protocol": "tcp", "self": False}
    group = instance("aws_security_group.node", {"name": "node", "ingress": [item]})
    config = [block("aws_security_group.node", {"name": const("node")})]  # dynamic blocks are not in configuration
    model = load(write_plan(tmp_path, [group], config, {group["address"]: {"id": True, "egress": True}})).model
    (rule,) = model.rules
    assert (rule.direction, str(rule.ports), str(rule.peer)) == (Direction.INGRESS, "10250", "10.0.0.0/8")
    assert model.security_groups[0].has_inline == {Direction.INGRESS}


def test_one_inline_expression_naming_two_groups_is_not_guessed(tmp_path: Path) -> None:
    items = [
        {"description": "a", "from_port": 443, "to_port": 443, "protocol": "tcp", "self": False},
        {"description": "b", "from_port": 22, "to_port": 22, "protocol": "tcp", "self": False},
    ]
    groups = [
        instance("aws_security_group.a", {"name": "a"}),
        instance("aws_security_group.b", {"name": "b"}),
        instance("aws_security_group.node", {"name": "node", "ingress": items}),
    ]
    config = [
        block("aws_security_group.a", {}),
        block("aws_security_group.b", {}),
        block(
            "aws_security_group.node",
            {"ingress": ref("aws_security_group.a.id", "aws_security_group.a", "aws_security_group.b.id")},
        ),
    ]
    unknown = {"aws_security_group.node": {"ingress": [{"security_groups": True}, {"security_groups": True}]}}
    model = load(write_plan(tmp_path, groups, config, unknown)).model
    peers = [r.peer for r in model.rules]
    assert len(peers) == 2 and all(isinstance(p, UnresolvedPeer) for p in peers)
    assert all("one of aws_security_group.a, aws_security_group.b" in str(p) for p in peers)


def test_other_references_of_a_shared_inline_expression_are_not_taken_for_groups(tmp_path: Path) -> None:
    items = [
        {"cidr_blocks": ["10.0.0.0/16"], "from_port": 443, "to_port": 443, "protocol": "tcp", "security_groups": []},
        {"cidr_blocks": [], "from_port": 10250, "to_port": 10250, "protocol": "tcp"},
    ]
    resources = [
        instance("aws_vpc.main", {"cidr_block": "10.0.0.0/16"}),
        instance("aws_security_group.cp", {"name": "cp"}),
        instance("aws_security_group.node", {"name": "node", "ingress": items}),
    ]
    shared = ref(
        "aws_vpc.main.cidr_block", "aws_vpc.main", "aws_security_group.cp.id", "aws_security_group.cp", "var.x"
    )
    config = [
        block("aws_vpc.main", {"cidr_block": const("10.0.0.0/16")}),
        block("aws_security_group.cp", {}),
        block("aws_security_group.node", {"ingress": shared}),
    ]
    unknown = {"aws_security_group.node": {"ingress": [{}, {"security_groups": True}]}}
    path = write_plan(tmp_path, resources, config, unknown, variables={"x": {"value": "192.168.0.0/16"}})
    peers = sorted(str(r.peer) for r in load(path).model.rules)
    assert peers == ["10.0.0.0/16", key(path, "aws_security_group.cp")]


def test_a_data_source_read_at_apply_time_is_an_external_identity(tmp_path: Path) -> None:
    data = instance("data.aws_security_group.shared", {"name": "shared"}, mode="data")
    rule = instance("aws_security_group_rule.r", rule_values(cidr_blocks=["10.0.0.0/8"]))
    config = [
        block("data.aws_security_group.shared", {"name": const("shared")}),
        block(
            "aws_security_group_rule.r",
            {"security_group_id": ref("data.aws_security_group.shared.id", "data.aws_security_group.shared")},
        ),
    ]
    path = write_plan(tmp_path, [data, rule], config, {rule["address"]: UNKNOWN_RULE})
    model = load(path).model
    shared = f"data:{path}:data.aws_security_group.shared"
    assert model.rules[0].group == shared
    assert {(g.key, g.name, g.origin) for g in model.security_groups} == {
        (shared, "data.aws_security_group.shared", SgOrigin.EXTERNAL)
    }


def test_a_plan_that_errored_is_reported_as_not_verified(tmp_path: Path) -> None:
    path = write_plan(tmp_path, [], errored=True)
    unit = load(path)
    (missing,) = unit.model.unevaluated
    assert "the plan errored" in missing.what and missing.provenance.line > 1
    report = scan([path])
    assert [f.policy for f in report.findings] == ["EKS900"]


def test_the_plan_loader_does_not_import_the_hcl_evaluator() -> None:
    import subprocess
    import sys

    code = "import sys, eks_sg_policy.loaders.tfplan; print('hcl_eval' in ' '.join(sys.modules))"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout.strip() == "False"
    assert "aws_lb" in ATTACHMENTS


def test_without_resource_changes_null_values_with_references_are_linked(tmp_path: Path) -> None:
    group = instance("aws_security_group.node", {"name": "node"})
    rule = instance("aws_security_group_rule.r", rule_values(cidr_blocks=["10.0.0.0/8"], security_group_id=None))
    config = [
        block("aws_security_group.node", {"name": const("node")}),
        block("aws_security_group_rule.r", {"security_group_id": ref("aws_security_group.node.id")}),
    ]
    path = tmp_path / "plan.json"
    document = {
        "format_version": "1.0",
        "planned_values": {"root_module": {"resources": [group, rule]}},
        "configuration": {"root_module": {"resources": config}},
    }
    path.write_text(json.dumps(document, indent=2))
    (loaded,) = load(str(path)).model.rules
    assert loaded.group == key(str(path), "aws_security_group.node")


def test_launch_configurations_fargate_vpcs_hybrid_networks_and_attachments(tmp_path: Path) -> None:
    resources = [
        instance("aws_security_group.node", {"name": "node", "id": "sg-0node"}),
        instance(
            "aws_eks_cluster.main",
            {
                "name": "demo",
                "version": "1.31",
                "vpc_config": [{"security_group_ids": [], "cluster_security_group_id": "sg-0cluster"}],
                "kubernetes_network_config": [{"ip_family": "ipv6"}],
                "remote_network_config": [
                    {
                        "remote_node_networks": [{"cidrs": ["172.16.0.0/18"]}],
                        "remote_pod_networks": [{"cidrs": ["172.16.64.0/18"]}],
                    }
                ],
            },
        ),
        instance("aws_launch_configuration.node", {"name": "demo-lc", "security_groups": ["sg-0node", "sg-0cluster"]}),
        instance(
            "aws_autoscaling_group.nodes",
            {
                "launch_configuration": "demo-lc",
                "tag": [{"key": "kubernetes.io/cluster/demo", "value": "owned", "propagate_at_launch": True}],
            },
        ),
        instance(
            "aws_eks_node_group.win",
            {"cluster_name": "demo", "ami_type": "WINDOWS_CORE_2022_x86_64", "remote_access": [{"ec2_ssh_key": "k"}]},
        ),
        instance("aws_eks_fargate_profile.default", {"cluster_name": "demo"}),
        instance("aws_vpc.main", {"cidr_block": "10.0.0.0/16"}),
        instance("aws_instance.bastion", {"vpc_security_group_ids": ["sg-0node"]}),
        instance("aws_lambda_function.f", {"vpc_config": [{"security_group_ids": ["sg-0cluster"]}]}),
    ]
    path = write_plan(tmp_path, resources)
    model = load(path).model
    (cluster,) = model.clusters
    assert cluster.ip_family == "ipv6" and cluster.version == "1.31"
    assert [str(n) for n in cluster.remote_node_networks + cluster.remote_pod_networks] == [
        "172.16.0.0/18",
        "172.16.64.0/18",
    ]
    node = key(path, "aws_security_group.node")
    win, asg = model.node_groups  # managed node groups are read first, as the HCL loader does
    assert asg.launch_template_groups == (node, cluster.cluster_sg)  # known ids map back to their owners
    assert asg.cluster.cluster_key == cluster.key
    assert win.cluster.cluster_key == cluster.key and win.remote_access is not None and win.remote_access.windows
    assert win.remote_access.source_groups == ()
    (fargate,) = model.fargate_profiles
    assert fargate.cluster.cluster_key == cluster.key
    assert [str(c) for v in model.vpcs for c in v.cidrs] == ["10.0.0.0/16"]
    assert [(k, p.resource) for k, p in model.other_attachments] == [
        (node, "aws_instance.bastion"),
        (cluster.cluster_sg, "aws_lambda_function.f"),
    ]

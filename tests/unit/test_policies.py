"""The policy tables: the shipped ones are valid, a user's are validated with the line of the mistake."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from eks_sg_policy.errors import ScanError
from eks_sg_policy.policies import builtin_policy_dir, load_policies, validate_table


@pytest.mark.parametrize("table", sorted(builtin_policy_dir().glob("*.yaml")), ids=lambda p: p.name)
def test_every_shipped_table_is_valid_against_the_schema(table: Path) -> None:
    text = table.read_text("utf-8")
    validate_table(str(table), text, yaml.safe_load(text))


def test_every_catalog_id_is_shipped_with_its_severity() -> None:
    severities = {p.id: p.severity for p in load_policies().policies}
    assert severities == {
        "EKS101": "error", "EKS102": "error", "EKS103": "error", "EKS104": "warning", "EKS105": "warning",
        "EKS106": "warning", "EKS107": "warning", "EKS108": "warning", "EKS109": "warning", "EKS201": "note",
        "EKS202": "warning", "EKS203": "error", "EKS204": "error", "EKS301": "warning", "EKS302": "error",
        "EKS303": "warning", "EKS305": "warning", "EKS306": "warning", "EKS900": "note",
    }  # fmt: skip


def test_editions_select_rows_and_cite_the_current_page_first() -> None:
    every = load_policies()
    api = every.get("EKS101")
    assert api is not None and api.doc.edition == "current"
    current = every.in_edition("current")
    assert "EKS104" not in current.ids() and "EKS101" in current.ids()
    assert all(r.edition in ("current", "any") for p in current.policies for r in p.rows)
    assert every.in_edition("2020").get("EKS101").doc.edition == "2020"  # type: ignore[union-attr]


def test_a_user_table_with_a_mistake_names_the_schema_path_and_line(tmp_path: Path) -> None:
    (tmp_path / "extra.yaml").write_text(
        "table: Our rules\nedition: any\nurl: https://example.invalid/rules\nrows:\n"
        "  - row: Metrics\n    policy: ACME101\n    title: Nodes reach Prometheus\n    severity: error\n"
        "    kind: connectivity\n    check: {from: node-group, to: node-group, protocols: [tcp], ports: '99999x'}\n"
        "    why: scraping\n",
        "utf-8",
    )
    with pytest.raises(ScanError) as caught:
        load_policies([tmp_path])
    assert caught.value.line == 10 and "rows/0/check/ports" in caught.value.message


def test_a_user_table_adds_a_policy_without_code(tmp_path: Path) -> None:
    (tmp_path / "extra.yaml").write_text(
        "table: Our rules\nedition: any\nurl: https://example.invalid/rules\nrows:\n"
        "  - row: Metrics\n    policy: ACME101\n    title: Nodes reach Prometheus\n    severity: warning\n"
        "    kind: connectivity\n    check: {from: node-group, to: node-group, protocols: [tcp], ports: '9100'}\n"
        "    why: scraping\n",
        "utf-8",
    )
    assert "ACME101" in load_policies([tmp_path]).ids()


def test_rows_citing_one_policy_must_agree(tmp_path: Path) -> None:
    (tmp_path / "clash.yaml").write_text(
        "table: Clash\nedition: any\nurl: https://example.invalid/x\nrows:\n"
        "  - row: Other kubelet\n    policy: EKS102\n    title: Control plane reaches the kubelet on TCP 10250\n"
        "    severity: warning\n    kind: connectivity\n"
        "    check: {from: control-plane, to: node-group, protocols: [tcp], ports: '10250'}\n    why: x\n",
        "utf-8",
    )
    with pytest.raises(ScanError, match="different severity"):
        load_policies([tmp_path])

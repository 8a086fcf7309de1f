"""The same scan gives byte-identical `--format json` and `--format sarif`, whatever PYTHONHASHSEED
and whatever the order of the paths on the command line (real CLI, separate processes)."""

from __future__ import annotations

import difflib
import os
from pathlib import Path
from random import Random

import pytest

from eks_sg_policy.api import ScanOptions, scan

from ._emitters import GroupSpec, RuleSpec, Topology, cloudformation, write_terraform
from ._support import CFN_SUFFIXES, CORPUS, FIXTURES, REPO, run_many, subprocess_env

SEEDS_AND_ORDERS = (("0", "as given"), ("1", "reversed"), ("4242", "shuffled"))
CORPUS_MODULE = CORPUS / "terraform-aws-eks@v21.19.0"


def _module(tmp_path: Path) -> Path:
    """A generated Terraform module: two self-managed node groups, rules in every form."""
    topology = Topology(
        "determinism",
        (False, False, True),
        (GroupSpec("cp", True, False), GroupSpec("node0", False, True), GroupSpec("node1", True, False)),
        (
            RuleSpec(1, "ingress", "node0", "-1", 0, 65535, "cp"),
            RuleSpec(2, "ingress", "node1", "tcp", 22, 22, "0.0.0.0/0", classic=True),
            RuleSpec(3, "egress", "node1", "tcp", 443, 443, "::/0"),
            RuleSpec(4, "ingress", "cp", "tcp", 443, 443, "node1"),
            RuleSpec(5, "egress", "cp", "tcp", 1025, 65535, "node0", classic=True),
            RuleSpec(6, "ingress", "cluster", "udp", 53, 53, "node1"),
        ),
    )
    write_terraform(tmp_path / "module", topology)
    return tmp_path / "module"


def _paths(tmp_path: Path) -> list[str]:
    """Fixtures and corpus templates one by one (so that their order can change), and modules."""
    found = sorted(p for p in FIXTURES.rglob("*") if p.suffix in CFN_SUFFIXES)
    if CORPUS.is_dir():
        found += sorted(p for p in CORPUS.rglob("*") if p.suffix in CFN_SUFFIXES and "_licenses" not in p.parts)
        found.append(CORPUS_MODULE)
    found.append(_module(tmp_path))
    return [os.path.relpath(p, REPO) for p in found]


def _ordered(paths: list[str], order: str) -> list[str]:
    if order == "reversed":
        return paths[::-1]
    if order == "shuffled":
        shuffled = list(paths)
        Random(7).shuffle(shuffled)
        return shuffled
    return list(paths)


@pytest.mark.parametrize("fmt", ["json", "sarif"])
def test_output_is_byte_identical_across_hash_seeds_and_path_orders(tmp_path: Path, fmt: str) -> None:
    paths = _paths(tmp_path)
    assert len(paths) > 30, "fixtures (and corpus) found"
    runs = run_many(
        [
            (
                ["check", *_ordered(paths, order), "--format", fmt, "--fail-on", "never"],
                REPO,
                30.0,
                subprocess_env(PYTHONHASHSEED=seed),
            )
            for seed, order in SEEDS_AND_ORDERS
        ]
    )
    for run in runs:
        assert run.returncode == 0 and not run.timed_out, run.describe()
        assert run.stdout.strip(), run.describe()
    reference = runs[0].stdout
    for (seed, order), run in zip(SEEDS_AND_ORDERS[1:], runs[1:], strict=True):
        diff = "".join(list(difflib.unified_diff(reference.splitlines(True), run.stdout.splitlines(True), n=2))[:60])
        assert run.stdout == reference, f"PYTHONHASHSEED={seed}, paths {order}, differs from seed 0 as given:\n{diff}"


def _two_orders(tmp_path: Path, first: RuleSpec, second: RuleSpec) -> list[set[str]]:
    """The fingerprints of one template (same file name) written with two rule resources in either order."""
    groups = (GroupSpec("cp", True, True), GroupSpec("node0", True, True))
    fingerprints = []
    for variant, rules in (("written", (first, second)), ("swapped", (second, first))):
        (tmp_path / variant).mkdir()
        text = cloudformation(Topology("demo", (False,), groups, rules))
        (tmp_path / variant / "stack.yaml").write_text(text, encoding="utf-8")
        os.chdir(tmp_path / variant)
        report = scan(["stack.yaml"], ScanOptions())
        assert not report.errors
        fingerprints.append({f"{f.policy} {f.resource} {f.fingerprint()}" for f in report.findings})
    return fingerprints


@pytest.mark.parametrize(
    "rules",
    [
        pytest.param(
            (
                RuleSpec(1, "ingress", "node0", "tcp", 22, 22, "cp"),
                RuleSpec(2, "ingress", "node0", "tcp", 0, 1024, "cp"),
            ),
            id="EKS303",
        ),
        pytest.param(
            (
                RuleSpec(1, "ingress", "node0", "tcp", 443, 443, "0.0.0.0/0"),
                RuleSpec(2, "ingress", "node0", "tcp", 443, 443, "0.0.0.0/0"),
            ),
            id="EKS301",
        ),
    ],
)
def test_fingerprints_do_not_depend_on_the_order_of_resources(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, rules: tuple[RuleSpec, ...]
) -> None:
    monkeypatch.chdir(tmp_path)
    written, swapped = _two_orders(tmp_path, *rules)
    assert written - swapped == set() and swapped - written == set()

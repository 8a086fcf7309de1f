"""Discovery: which files a scan reads, and the links, devices and pipes it refuses unread."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from eks_sg_policy.discovery import discover, read_regular_file, readable_size_problem
from eks_sg_policy.errors import ScanError

LIMIT = 1024 * 1024
TEMPLATE = 'AWSTemplateFormatVersion: "2010-09-09"\nResources: {}\n'
SECRET = "SECRET_VALUE_91c2"
OUTSIDE = "a link that points outside the scanned directory: not read"

needs_fifo = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes on this platform")


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "secret.yaml").write_text(f"{SECRET}: [\n")
    (tmp_path / "outside" / "main.tf").write_text(f"{SECRET} = \n")
    (tmp_path / "repo").mkdir()


def errors_of(paths: list[str]) -> dict[str, str]:
    _units, errors, _notes = discover(paths, LIMIT)
    assert all(SECRET not in str(e) for e in errors)
    return {e.file: e.message for e in errors}


def test_links_inside_the_scanned_directory_are_followed() -> None:
    Path("repo/real.yaml").write_text(TEMPLATE)
    Path("repo/link.yaml").symlink_to("real.yaml")
    units, errors, _notes = discover(["repo"], LIMIT)
    assert not errors and [u.files for u in units] == [("repo/link.yaml",), ("repo/real.yaml",)]


def test_a_template_link_out_of_the_scanned_directory_is_refused_unread() -> None:
    Path("repo/stack.yaml").symlink_to(Path("outside/secret.yaml").resolve())
    assert errors_of(["repo"]) == {"repo/stack.yaml": OUTSIDE}


def test_a_module_file_link_out_of_the_scanned_directory_refuses_the_module() -> None:
    Path("repo/mod").mkdir()
    Path("repo/mod/variables.tf").write_text('variable "x" {}\n')
    Path("repo/mod/main.tf").symlink_to("../../outside/main.tf")
    Path("repo/mod/terraform.tfvars").symlink_to("../../outside/main.tf")
    units, errors, _notes = discover(["repo"], LIMIT)
    assert not units
    assert {e.file: e.message for e in errors} == {"repo/mod/main.tf": OUTSIDE, "repo/mod/terraform.tfvars": OUTSIDE}


def test_a_link_out_of_the_directory_that_the_scan_would_not_read_is_ignored() -> None:
    Path("repo/README.md").symlink_to(Path("outside/secret.yaml").resolve())
    assert discover(["repo"], LIMIT) == ([], [], [])


def test_a_file_named_on_the_command_line_may_be_a_link_anywhere() -> None:
    Path("repo/stack.yaml").symlink_to(Path("outside/secret.yaml").resolve())
    units, errors, _notes = discover(["repo/stack.yaml"], LIMIT)
    assert not errors and [(u.files, u.text) for u in units] == [(("repo/stack.yaml",), f"{SECRET}: [\n")]


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="no /dev/zero")
def test_a_link_to_a_device_is_refused_whether_found_or_named() -> None:
    Path("repo/stack.yaml").symlink_to("/dev/zero")
    Path("repo/mod").mkdir()
    Path("repo/mod/main.tf").symlink_to("/dev/zero")
    assert errors_of(["repo"]) == {"repo/stack.yaml": OUTSIDE, "repo/mod/main.tf": OUTSIDE}
    system = "a link to a system file: not read"
    assert errors_of(["repo/stack.yaml", "repo/mod/main.tf"]) == {"repo/stack.yaml": system, "repo/mod/main.tf": system}


@needs_fifo
def test_a_named_pipe_is_refused_without_blocking() -> None:
    os.mkfifo("repo/stack.yaml")
    Path("repo/mod").mkdir()
    os.mkfifo("repo/mod/main.tf")
    refused = "not a regular file (a device, a pipe or a socket): not read"
    assert errors_of(["repo"]) == {"repo/stack.yaml": refused, "repo/mod/main.tf": refused}
    assert errors_of(["repo/stack.yaml"]) == {"repo/stack.yaml": refused}


def test_broken_links_and_loops_are_errors_that_name_the_file() -> None:
    Path("repo/broken.yaml").symlink_to("missing.yaml")
    Path("repo/a.yaml").symlink_to("b.yaml")
    Path("repo/b.yaml").symlink_to("a.yaml")
    found = errors_of(["repo"])
    assert set(found) == {"repo/broken.yaml", "repo/a.yaml", "repo/b.yaml"}
    assert all(message.startswith("cannot read: ") for message in found.values())


def test_read_regular_file_keeps_to_the_size_limit() -> None:
    Path("repo/stack.yaml").write_text(TEMPLATE)
    assert read_regular_file(Path("repo/stack.yaml"), LIMIT) == TEMPLATE.encode()
    with pytest.raises(ScanError) as caught:
        read_regular_file(Path("repo/stack.yaml"), 10)
    assert (caught.value.file, caught.value.message) == (
        "repo/stack.yaml",
        f"file is {len(TEMPLATE)} bytes, larger than --max-file-size 10",
    )


def test_readable_size_problem_with_and_without_a_root() -> None:
    link = Path("repo/stack.yaml")
    link.symlink_to(Path("outside/secret.yaml").resolve())
    assert readable_size_problem(link, LIMIT) is None
    assert readable_size_problem(link, LIMIT, Path("repo").resolve()) == OUTSIDE
    assert readable_size_problem(link, LIMIT, Path(".").resolve()) is None


def test_a_named_path_that_leads_nowhere_says_so() -> None:
    Path("repo/stacks").symlink_to("missing")
    Path("repo/stack.yaml").symlink_to("missing.yaml")
    assert errors_of(["repo/stacks", "repo/stack.yaml", "nothing"]) == {
        "repo/stacks": "no such file or directory",
        "repo/stack.yaml": "cannot read: No such file or directory",
        "nothing": "no such file or directory",
    }


def test_the_module_of_a_named_file_may_link_shared_files_of_the_working_directory() -> None:
    Path("repo/common").mkdir()
    Path("repo/common/versions.tf").write_text("terraform {}\n")
    Path("repo/mod").mkdir()
    Path("repo/mod/main.tf").write_text('variable "x" {}\n')
    Path("repo/mod/versions.tf").symlink_to("../common/versions.tf")
    units, errors, _notes = discover(["repo/mod/main.tf"], LIMIT)
    assert not errors and [u.files for u in units] == [("repo/mod/main.tf", "repo/mod/versions.tf")]
    Path("repo/mod/secrets.tf").symlink_to("../../outside/main.tf")
    os.chdir("repo/mod")
    assert errors_of(["main.tf"]) == {"secrets.tf": OUTSIDE, "versions.tf": OUTSIDE}

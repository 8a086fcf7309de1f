"""Shared helpers: where things are, the real CLI run bounded in time and memory, in-process limits.

Every CLI run gets `RLIMIT_AS` = 1.5 GiB (set in the child by `preexec_fn`) and a wall-clock
deadline, so a hostile input can fail a test but never take the machine down with it. Runs are
started with `Popen` and reaped with `os.wait4`, which also gives the peak RSS of that one child.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import IO, Any

import pytest

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "fixtures"
CORPUS = REPO.parent / "shared" / "corpus"
CFN_SUFFIXES = (".yaml", ".yml", ".json", ".template")

needs_corpus = pytest.mark.skipif(not CORPUS.is_dir(), reason=f"shared corpus not found at {CORPUS}")

MEMORY_LIMIT = 1536 * 1024 * 1024  # address space of every CLI run: 1.5 GiB
DEADLINE = 30.0  # seconds for a run on a large input (50 MB, 100,000 levels: 4-9 s on an idle machine)
SMALL_DEADLINE = 5.0  # seconds for a run on an input of a few kilobytes (healthy runs take < 1 s)
ERROR_PREFIX = "eks-sg-policy: error: "


def cli_command() -> list[str]:
    """The installed console script next to this interpreter, else `python -m eks_sg_policy`."""
    script = Path(sys.executable).with_name("eks-sg-policy")
    return [str(script)] if script.is_file() else [sys.executable, "-m", "eks_sg_policy"]


def _limit_child() -> None:
    """Runs in the child between fork and exec: cap its address space, no core dumps.
    (Platforms that refuse RLIMIT_AS, like macOS, run uncapped; Linux CI is where it counts.)"""
    try:
        _soft, hard = resource.getrlimit(resource.RLIMIT_AS)
        limit = MEMORY_LIMIT if hard == resource.RLIM_INFINITY else min(MEMORY_LIMIT, hard)
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    except (ValueError, OSError):
        pass


@dataclass(frozen=True)
class CliRun:
    args: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str
    seconds: float
    peak_rss_mib: float
    timed_out: bool

    def report(self) -> dict[str, Any]:
        """The `--format json` report on stdout."""
        assert self.stdout.strip(), f"no report on stdout; stderr:\n{self.stderr[-2000:]}"
        data: dict[str, Any] = json.loads(self.stdout)
        return data

    def error_lines(self) -> list[str]:
        return [line for line in self.stderr.splitlines() if line.startswith(ERROR_PREFIX)]

    def describe(self) -> str:
        return (
            f"exit {self.returncode} after {self.seconds:.1f} s, peak RSS {self.peak_rss_mib:.0f} MiB"
            f"{' (killed at the deadline)' if self.timed_out else ''}\nstderr (tail):\n{self.stderr[-1500:]}"
        )


@dataclass
class _Running:
    args: tuple[str, ...]
    process: subprocess.Popen[bytes]
    stdout: IO[bytes]
    stderr: IO[bytes]
    started: float
    deadline: float


def _start(args: Sequence[str], cwd: Path, env: Mapping[str, str] | None, timeout: float) -> _Running:
    # Closed by _reap once the run has ended (files, not pipes: a large report cannot block the child).
    stdout, stderr = tempfile.TemporaryFile(), tempfile.TemporaryFile()  # noqa: SIM115
    process = subprocess.Popen(
        [*cli_command(), *args],
        cwd=cwd,
        env=dict(env) if env is not None else None,
        stdin=subprocess.DEVNULL,
        stdout=stdout,
        stderr=stderr,
        preexec_fn=_limit_child,  # safe: CLI runs are never started from a thread
    )
    started = time.monotonic()
    return _Running(tuple(args), process, stdout, stderr, started, started + timeout)


def _reap(running: _Running, block: bool) -> CliRun | None:
    """The finished run, or None while it still runs (and `block` is false and time is left)."""
    pid = running.process.pid
    timed_out = False
    found, status, usage = os.wait4(pid, 0 if block else os.WNOHANG)
    if not found:
        if time.monotonic() < running.deadline:
            return None
        running.process.kill()
        timed_out = True
        found, status, usage = os.wait4(pid, 0)
    running.process.returncode = os.waitstatus_to_exitcode(status)  # Popen must not wait again
    seconds = time.monotonic() - running.started
    texts = []
    for handle in (running.stdout, running.stderr):
        handle.seek(0)
        texts.append(handle.read().decode("utf-8", "replace"))
        handle.close()
    scale = 1024 * 1024 if sys.platform == "darwin" else 1024  # ru_maxrss: bytes on macOS, KiB on Linux
    return CliRun(
        running.args, running.process.returncode, texts[0], texts[1], seconds, usage.ru_maxrss / scale, timed_out
    )


def run_cli(args: Sequence[str], cwd: Path, timeout: float = DEADLINE, env: Mapping[str, str] | None = None) -> CliRun:
    """`eks-sg-policy ARGS` in `cwd`, killed after `timeout` seconds."""
    return run_many([(args, cwd, timeout, env)])[0]


def run_many(
    runs: Sequence[tuple[Sequence[str], Path, float, Mapping[str, str] | None]], parallel: int = 2
) -> list[CliRun]:
    """Several CLI runs, `parallel` at a time (each with its own deadline), results in input order."""
    results: list[CliRun | None] = [None] * len(runs)
    pending = list(enumerate(runs))
    active: list[tuple[int, _Running]] = []
    while pending or active:
        while pending and len(active) < parallel:
            index, (args, cwd, timeout, env) = pending.pop(0)
            active.append((index, _start(args, cwd, env, timeout)))
        still: list[tuple[int, _Running]] = []
        for index, running in active:
            result = _reap(running, block=False)
            if result is None:
                still.append((index, running))
            else:
                results[index] = result
        active = still
        if active:
            time.sleep(0.02)
    return [r for r in results if r is not None]


def subprocess_env(**overrides: str) -> dict[str, str]:
    """The environment of this process without colour settings, hash seed or CI summary file, plus `overrides`."""
    dropped = ("NO_COLOR", "FORCE_COLOR", "PYTHONHASHSEED", "GITHUB_STEP_SUMMARY")
    env = {k: v for k, v in os.environ.items() if k not in dropped}
    env.update(overrides)
    return env


class Overtime(BaseException):
    """Raised by `time_limit`. A BaseException, so that no `except Exception` in the product hides it."""


@contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Interrupt the block after `seconds` (main thread with SIGALRM only; elsewhere no limit)."""
    if threading.current_thread() is not threading.main_thread() or not hasattr(signal, "setitimer"):
        yield
        return

    def expire(_signum: int, _frame: FrameType | None) -> None:
        raise Overtime(f"still running after {seconds:g} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _address_space() -> int | None:
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None
    return pages * os.sysconf("SC_PAGE_SIZE")


@contextmanager
def memory_cap(extra: int = 1024 * 1024 * 1024) -> Iterator[None]:
    """Let this process map at most `extra` more bytes inside the block (Linux; elsewhere no cap).

    The soft limit is lowered and restored; the hard limit is never touched."""
    current = _address_space()
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    if current is None:
        yield
        return
    cap = current + extra if hard == resource.RLIM_INFINITY else min(current + extra, hard)
    resource.setrlimit(resource.RLIMIT_AS, (cap, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


def copy_tree(source: Path, target: Path) -> Path:
    shutil.copytree(source, target, symlinks=True)
    return target

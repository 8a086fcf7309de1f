"""Benchmark eks-sg-policy against cfn-lint and checkov, in one run, on the same inputs.

    python benchmarks/run.py            # full run (a few minutes), writes benchmarks/RESULTS.md
    python benchmarks/run.py --quick    # smoke run: fewer repetitions, no 1,000-template / 10,000-rule cases

Run it with the dev venv's Python (our console script is looked up next to `sys.executable`, or given with
`--eks-sg-policy`). The peers are installed into their own venv, `benchmarks/.venv-peers`
(`pip install checkov cfn-lint`) on first use; a peer that cannot be installed is skipped with a message.
Every command is a fresh process: the wall time is measured around it, the peak RSS comes from
`/usr/bin/time -v` (or, without it, from `getrusage(RUSAGE_CHILDREN)` in a helper process per run).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

# The sibling module, importable however this script is started.
sys.path.insert(0, str(Path(__file__).resolve().parent))
import generate

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
SINGLE_TEMPLATE = "amazon-eks-ami@edb1d41/amazon-eks-nodegroup.yaml"
TIME_BIN = "/usr/bin/time"
TEMPLATE_COUNTS = (1, 10, 100, 1000)
RULE_COUNTS = (10, 100, 1000, 10000)
QUICK_SKIPS = {"templates-1000", "rules-10000"}
OURS, CFN_LINT, CHECKOV, CHECKOV_IAC = "eks-sg-policy", "cfn-lint", "checkov", "checkov (IaC only)"
CFN_SUFFIXES = (".yaml", ".yml", ".json", ".template")
_CFN_MARKER = re.compile(r"AWSTemplateFormatVersion|^Resources\s*:|\"Resources\"\s*:", re.M)

# Helper for machines without /usr/bin/time: runs the command, then reports its own children's peak RSS.
_RUSAGE_HELPER = """
import resource, subprocess, sys, time
start = time.perf_counter()
rc = subprocess.call(sys.argv[2:], stdout=subprocess.DEVNULL)
wall = time.perf_counter() - start
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
with open(sys.argv[1], "w") as out:
    out.write(f"{wall} {usage.ru_maxrss} {usage.ru_utime + usage.ru_stime}\\n")
sys.exit(rc)
"""


@dataclass(frozen=True)
class Tool:
    """A command to benchmark: its argv prefix, extra environment and how to show it in the report."""

    name: str
    argv: tuple[str, ...]
    env: dict[str, str] = field(default_factory=dict)
    version: str = ""
    unset: tuple[str, ...] = ()  # environment variables removed for its runs


@dataclass
class Result:
    """The runs of one tool on one case."""

    case: str
    tool: str
    walls: list[float] = field(default_factory=list)
    cpus: list[float] = field(default_factory=list)  # user + system seconds, the process and its children
    peak_kb: int = 0
    rcs: set[int] = field(default_factory=set)
    note: str = ""

    @property
    def median(self) -> float | None:
        return statistics.median(self.walls) if self.walls else None

    @property
    def cpu(self) -> float | None:
        return statistics.median(self.cpus) if self.cpus else None


@dataclass(frozen=True)
class Case:
    """An input and the argv suffix each tool takes for it."""

    name: str
    label: str
    args: dict[str, list[str]]
    series: str = ""  # "templates" or "rules": cases of growing size, for the growth table
    size: int = 0
    ours_only: bool = False


@dataclass
class Settings:
    ours_runs: int
    peer_runs: int
    peer_budget: float
    quick: bool


# --------------------------------------------------------------------------- measuring


def _display(path: str | Path) -> str:
    """A path as it may appear in the report or a message: relative to the repo, never absolute."""
    text = str(path)
    if os.path.isabs(text):
        return os.path.relpath(text, REPO)
    return text


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)  # the group of the process this script started


def measure_once(argv: Sequence[str], env: dict[str, str], timeout: float) -> tuple[float, float, int, int]:
    """Run argv once in a fresh process; return (wall s, CPU s, peak RSS in KiB, exit code). Raises on timeout."""
    with tempfile.NamedTemporaryFile("r", suffix=".rusage", delete=False) as handle:
        report = handle.name
    use_time = os.access(TIME_BIN, os.X_OK)
    if use_time:
        command = [TIME_BIN, "-v", "-o", report, *argv]
    else:
        command = [sys.executable, "-c", _RUSAGE_HELPER, report, *argv]
    try:
        start = time.perf_counter()
        process = subprocess.Popen(
            command,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            stdin=subprocess.DEVNULL,
            env=env,
            start_new_session=True,
        )
        # A blocking wait: Popen.wait(timeout=...) polls with sleeps of up to 50 ms, which would be timed too.
        timer = threading.Timer(timeout, _kill_group, (process,))
        timer.start()
        rc = process.wait()
        wall = time.perf_counter() - start
        timer.cancel()
        if wall >= timeout:
            raise subprocess.TimeoutExpired(list(argv), timeout)
        text = Path(report).read_text(encoding="utf-8", errors="replace")
    finally:
        os.unlink(report)
    if use_time:
        found = re.search(r"Maximum resident set size \(kbytes\): (\d+)", text)
        peak = int(found.group(1)) if found else 0
        status = re.search(r"Command exited with non-zero status (\d+)", text)
        rc = int(status.group(1)) if status else rc
        times = [float(t) for t in re.findall(r"(?:User|System) time \(seconds\): ([\d.]+)", text)]
        cpu = sum(times)
    else:
        wall_text, peak_text, cpu_text = text.split()
        wall, peak, cpu = float(wall_text), int(peak_text), float(cpu_text)
    return wall, cpu, peak, rc


def measure(
    case: str, tool: Tool, args: Sequence[str], runs: int, warmup: bool, timeout: float, progress: bool = True
) -> Result:
    """Warm up once (if asked), then time `runs` fresh runs; the peak RSS is the largest over the runs."""
    result = Result(case, tool.name)
    env = {k: v for k, v in os.environ.items() if k not in tool.unset} | {"NO_COLOR": "1", **tool.env}
    argv = [*tool.argv, *args]
    try:
        if warmup:
            measure_once(argv, env, timeout)
        for _ in range(runs):
            wall, cpu, peak, rc = measure_once(argv, env, timeout)
            result.walls.append(wall)
            result.cpus.append(cpu)
            result.peak_kb = max(result.peak_kb, peak)
            result.rcs.add(rc)
    except subprocess.TimeoutExpired:
        result.note = f"timed out after {timeout:.0f} s"
    if progress:
        median = result.median
        shown = f"{median:.3f} s" if median is not None else result.note
        print(f"  {case:<16} {tool.name:<20} {shown}", file=sys.stderr, flush=True)
    return result


# --------------------------------------------------------------------------- tools


def find_ours(explicit: str | None) -> Path | None:
    if explicit:
        return Path(explicit)
    beside = Path(sys.executable).parent / "eks-sg-policy"
    if beside.exists():
        return beside
    found = shutil.which("eks-sg-policy")
    return Path(found) if found else None


def _quiet(argv: Sequence[str]) -> int:
    return subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False).returncode


def ensure_peers(venv: Path, install: bool) -> None:
    """Create `venv` and `pip install checkov cfn-lint` into it, unless both are there already."""
    bin_dir = venv / "bin"
    if (bin_dir / "cfn-lint").exists() and (bin_dir / "checkov").exists():
        return
    if not install:
        print(f"peers: {_display(venv)} is incomplete and --no-install was given", file=sys.stderr)
        return
    print(f"peers: installing checkov and cfn-lint into {_display(venv)} (first run only) ...", file=sys.stderr)
    if not (bin_dir / "python").exists() and _quiet([sys.executable, "-m", "venv", str(venv)]) != 0:
        print("peers: could not create the venv; peers are skipped", file=sys.stderr)
        return
    pip = [str(bin_dir / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    if _quiet([*pip, "checkov", "cfn-lint"]) != 0:
        for package in ("cfn-lint", "checkov"):  # one may install where both together do not
            if _quiet([*pip, package]) != 0:
                print(f"peers: pip install {package} failed; {package} is skipped", file=sys.stderr)


def _version(argv: Sequence[str], env: dict[str, str]) -> str:
    try:
        done = subprocess.run(
            [*argv, "--version"], capture_output=True, text=True, timeout=120, env={**os.environ, **env}, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return "?"
    lines = (done.stdout or done.stderr).strip().splitlines()
    return lines[-1].strip() if lines else "?"


def checkov_env() -> dict[str, str]:
    """No update check against the package index, no platform mapping download, no API key."""
    return {
        "CKV_SKIP_PACKAGE_UPDATE_CHECK": "true",
        "BC_SKIP_MAPPING": "TRUE",
        "BC_API_KEY": "",
        "LOG_LEVEL": "ERROR",
    }


CHECKOV_FLAGS = ("--skip-download", "--download-external-modules", "false", "--quiet", "--compact")


def find_peers(args: argparse.Namespace) -> dict[str, Tool]:
    peers: dict[str, Tool] = {}
    if args.no_peers:
        return peers
    venv = Path(args.peers_venv)
    if not (args.cfn_lint and args.checkov):
        ensure_peers(venv, not args.no_install)
    cfn_lint = Path(args.cfn_lint) if args.cfn_lint else venv / "bin" / "cfn-lint"
    checkov = Path(args.checkov) if args.checkov else venv / "bin" / "checkov"
    if cfn_lint.exists():
        peers[CFN_LINT] = Tool(CFN_LINT, (str(cfn_lint),), version=_version([str(cfn_lint)], {}))
    else:
        print(f"peers: cfn-lint not found at {_display(cfn_lint)}; skipped", file=sys.stderr)
    if checkov.exists():
        env = checkov_env()
        version = "checkov " + _version([str(checkov)], env)
        peers[CHECKOV] = Tool(CHECKOV, (str(checkov), *CHECKOV_FLAGS), env, version)
        iac = (str(checkov), *CHECKOV_FLAGS, "--framework", "cloudformation", "terraform")
        peers[CHECKOV_IAC] = Tool(CHECKOV_IAC, iac, env, version)
    else:
        print(f"peers: checkov not found at {_display(checkov)}; skipped", file=sys.stderr)
    return peers


# --------------------------------------------------------------------------- cases


def cloudformation_files(root: Path) -> list[Path]:
    """The CloudFormation templates under root (what cfn-lint can be given): by suffix and content."""
    found = []
    for path in sorted(root.rglob("*")):
        if path.is_file() and path.suffix in CFN_SUFFIXES:
            head = path.read_text(encoding="utf-8", errors="replace")[:20000]
            if _CFN_MARKER.search(head):
                found.append(path)
    return found


def build_cases(corpus: Path | None, tmp: Path, quick: bool) -> list[Case]:
    cases = [Case("version", "`--version`", {OURS: ["--version"], CFN_LINT: ["--version"]})]
    if corpus is not None:
        single = str(corpus / SINGLE_TEMPLATE)
        cases.append(
            Case(
                "single",
                f"one template (`{SINGLE_TEMPLATE}`)",
                {OURS: ["check", single], CFN_LINT: [single], CHECKOV: ["-f", single], CHECKOV_IAC: ["-f", single]},
            )
        )
        cfn = [str(p) for p in cloudformation_files(corpus)]
        cases.append(
            Case(
                "corpus",
                f"whole corpus, one invocation (cfn-lint: its {len(cfn)} CloudFormation files)",
                {
                    OURS: ["check", str(corpus)],
                    CFN_LINT: cfn,
                    CHECKOV: ["-d", str(corpus)],
                    CHECKOV_IAC: ["-d", str(corpus)],
                },
            )
        )
    for count in TEMPLATE_COUNTS:
        name = f"templates-{count}"
        if quick and name in QUICK_SKIPS:
            continue
        directory = tmp / name
        files = [str(p) for p in generate.write_templates(directory, count)]
        label = f"{count:,} generated template(s), {generate.SMALL_TEMPLATE_RULES} rules each"
        args = {OURS: ["check", str(directory)], CFN_LINT: files, CHECKOV_IAC: ["-d", str(directory)]}
        cases.append(Case(name, label, args, "templates", count))
    for rules in RULE_COUNTS:
        name = f"rules-{rules}"
        if quick and name in QUICK_SKIPS:
            continue
        path = str(generate.write_rules_template(tmp / "rules", rules))
        groups = generate.node_groups_for(rules)
        label = f"one template, {rules:,} rules, {groups} node group(s)"
        cases.append(
            Case(name, label, {OURS: ["check", path], CFN_LINT: [path], CHECKOV_IAC: ["-f", path]}, "rules", rules)
        )
    return cases


def _projected(previous: list[Result], size: int, sizes: dict[str, int]) -> float | None:
    """Expected time of the next size from the last two: fixed cost plus a per-unit cost."""
    timed = [(sizes[r.case], r.median) for r in previous if r.median is not None]
    if len(timed) < 2:
        return None
    (s0, t0), (s1, t1) = timed[-2], timed[-1]
    per_unit = max(0.0, (t1 - t0) / (s1 - s0))
    return t1 + per_unit * (size - s1)


def run_cases(cases: list[Case], ours: Tool, peers: dict[str, Tool], settings: Settings) -> list[Result]:
    results: list[Result] = []
    sizes = {case.name: case.size for case in cases}
    series_results: dict[tuple[str, str], list[Result]] = {}
    warm: set[str] = set()  # peers warmed up already: their files are in the page cache
    for case in cases:
        print(f"{case.name}: {case.label}", file=sys.stderr, flush=True)
        ours_result = measure(case.name, ours, case.args[OURS], settings.ours_runs, True, 600)
        if case.series and 2 in ours_result.rcs:
            # A generated input the tool refuses would time the refusal, not the scan.
            raise SystemExit(f"{case.name}: eks-sg-policy refused the generated input (exit 2); fix generate.py")
        results.append(ours_result)
        for name, tool in peers.items():
            if name not in case.args:
                continue
            if case.series:
                # Growth cases: one run each (the inputs were just written, the tools are warm from the
                # earlier cases); a size whose projection exceeds the budget is skipped, not waited for.
                done = series_results.setdefault((case.series, name), [])
                projected = _projected(done, case.size, sizes)
                if projected is not None and projected > settings.peer_budget:
                    skipped = Result(case.name, name, note=f"skipped: projected {projected:.0f} s > budget")
                    print(f"  {case.name:<16} {name:<20} {skipped.note}", file=sys.stderr, flush=True)
                    results.append(skipped)
                    done.append(skipped)
                    continue
                result = measure(case.name, tool, case.args[name], 1, False, max(4 * settings.peer_budget, 120))
                done.append(result)
            else:
                # A peer's warm-up run is its first invocation in the run (none in a --quick run):
                # later cases read inputs eks-sg-policy has just read, and repeating a 20 s warm-up buys nothing.
                warmup = name not in warm and not settings.quick
                result = measure(case.name, tool, case.args[name], settings.peer_runs, warmup, 600)
                warm.add(name)
            results.append(result)
    return results


# --------------------------------------------------------------------------- report


def machine() -> list[tuple[str, str]]:
    cpu = platform.processor() or "?"
    cores = str(os.cpu_count() or "?")
    memory = "?"
    try:
        info = Path("/proc/cpuinfo").read_text(encoding="utf-8")
        found = re.search(r"^model name\s*:\s*(.+)$", info, re.M)
        cpu = found.group(1).strip() if found else cpu
        meminfo = Path("/proc/meminfo").read_text(encoding="utf-8")
        total = re.search(r"^MemTotal:\s*(\d+) kB", meminfo, re.M)
        memory = f"{int(total.group(1)) / 1024 / 1024:.1f} GiB" if total else memory
    except OSError:
        pass
    return [
        ("CPU", cpu),
        ("cores", cores),
        ("memory", memory),
        ("OS", platform.platform()),
        ("Python (runner)", platform.python_version()),
        ("niceness of the run", str(os.nice(0))),
    ]


def source_revision() -> str:
    """The commit the source tree is at, and whether `src/` has uncommitted changes (read-only git calls)."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "src"], cwd=REPO, capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown (not a git checkout)"
    return f"`{head}`" + (" + uncommitted changes in `src/`" if dirty else "")


def _seconds(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.3f}" if value < 10 else f"{value:.1f}"


def _mb(kb: int) -> str:
    return f"{kb / 1024:.0f}" if kb else "-"


@dataclass
class Target:
    name: str
    limit: str
    measured: str  # from wall time, as the target is stated
    passed: bool | None  # None: not measured in this run
    measured_cpu: str = ""  # the same from CPU time (user + system), steadier on a busy machine
    passed_cpu: bool | None = None


def _ratio_target(name: str, limit: str, value: Callable[[str], float | None], test: Callable[[float], bool]) -> Target:
    """A target on a quantity computed from medians; `value(kind)` gives it from "wall" or "cpu" medians.
    The limit's unit (`x` for a ratio, ` s` for seconds) is also how the value is shown."""
    wall, cpu = value("wall"), value("cpu")
    if wall is None:
        return Target(name, limit, "not measured", None)
    shown = "{:.3f} s" if limit.endswith(" s") else "{:.2f}x"
    return Target(
        name,
        limit,
        shown.format(wall),
        test(wall),
        shown.format(cpu) if cpu is not None else "",
        test(cpu) if cpu is not None else None,
    )


def evaluate_targets(results: list[Result]) -> list[Target]:
    by = {(r.case, r.tool): r for r in results}

    def get(case: str, tool: str, kind: str) -> float | None:
        found = by.get((case, tool))
        if found is None:
            return None
        return found.median if kind == "wall" else found.cpu

    def quotient(a: tuple[str, str], b: tuple[str, str]) -> Callable[[str], float | None]:
        def value(kind: str) -> float | None:
            x, y = get(*a, kind), get(*b, kind)
            return x / y if x is not None and y else None

        return value

    targets = [
        _ratio_target(
            "one template: time vs `cfn-lint TEMPLATE`",
            "<= 0.15x",
            quotient(("single", OURS), ("single", CFN_LINT)),
            lambda v: v <= 0.15,
        ),
        _ratio_target(
            "one template: absolute time", "<= 0.15 s", lambda k: get("single", OURS, k), lambda v: v <= 0.15
        ),
    ]
    for tool in (CHECKOV, CHECKOV_IAC):
        targets.append(
            _ratio_target(
                f"corpus: speed-up over {tool}",
                ">= 20x",
                quotient(("corpus", tool), ("corpus", OURS)),
                lambda v: v >= 20,
            )
        )
    big = by.get(("rules-10000", OURS))
    if big is not None and big.median is not None:
        targets.append(
            _ratio_target("10,000 rules: time", "< 2 s", lambda k: get("rules-10000", OURS, k), lambda v: v < 2)
        )
        megabytes = big.peak_kb / 1024
        targets.append(Target("10,000 rules: peak memory", "< 150 MB", f"{megabytes:.0f} MB", megabytes < 150))
        targets.append(
            _ratio_target(
                "1,000 -> 10,000 rules: time growth",
                "<= 12x",
                quotient(("rules-10000", OURS), ("rules-1000", OURS)),
                lambda v: v <= 12,
            )
        )
    else:
        for name, limit in (
            ("10,000 rules: time", "< 2 s"),
            ("10,000 rules: peak memory", "< 150 MB"),
            ("1,000 -> 10,000 rules: time growth", "<= 12x"),
        ):
            targets.append(Target(name, limit, "not measured (--quick)", None))
    targets.append(
        _ratio_target("`eks-sg-policy --version`", "< 0.1 s", lambda k: get("version", OURS, k), lambda v: v < 0.1)
    )
    return targets


def results_table(cases: list[Case], results: list[Result]) -> list[str]:
    lines = [
        "| case | tool | runs | median s | min-max s | median CPU s | peak RSS MB | exit | tool ÷ eks-sg-policy |",
        "|---|---|---:|---:|---:|---:|---:|---|---:|",
    ]
    labels = {case.name: case.label for case in cases}
    ours = {r.case: r.median for r in results if r.tool == OURS}
    for r in results:
        base = ours.get(r.case)
        case_cell = labels[r.case] if r.tool == OURS else ""
        if r.median is None:
            lines.append(f"| {case_cell} | {r.tool} | 0 | {r.note} | | | | | |")
            continue
        spread = f"{_seconds(min(r.walls))}-{_seconds(max(r.walls))}"
        ratio = "1" if r.tool == OURS else (f"{r.median / base:.1f}x" if base else "-")
        exits = ",".join(str(rc) for rc in sorted(r.rcs))
        lines.append(
            f"| {case_cell} | {r.tool} | {len(r.walls)} | {_seconds(r.median)} | {spread} | {_seconds(r.cpu)} "
            f"| {_mb(r.peak_kb)} "
            f"| {exits} | {ratio} |"
        )
    return lines


def summary_table(cases: list[Case], results: list[Result]) -> list[str]:
    """One row per case: each tool's median, and for a peer how many times longer than eks-sg-policy."""
    tools = [t for t in (OURS, CFN_LINT, CHECKOV, CHECKOV_IAC) if any(r.tool == t for r in results)]
    by = {(r.case, r.tool): r for r in results}
    lines = ["| case | " + " | ".join(tools) + " | eks-sg-policy peak RSS |", "|---|" + "---:|" * (len(tools) + 1)]
    for case in cases:
        ours = by.get((case.name, OURS))
        if ours is None or ours.median is None:
            continue
        cells = []
        for tool in tools:
            found = by.get((case.name, tool))
            if found is None or found.median is None:
                cells.append("-" if found is None else "skipped")
            elif tool == OURS:
                cells.append(f"{_seconds(found.median)} s")
            else:
                cells.append(f"{_seconds(found.median)} s ({found.median / ours.median:.1f}x)")
        lines.append(f"| {case.label} | " + " | ".join(cells) + f" | {_mb(ours.peak_kb)} MB |")
    return lines


def growth_table(results: list[Result], series: str, sizes: Sequence[int], unit: str) -> list[str]:
    tools = [t for t in (OURS, CFN_LINT, CHECKOV_IAC) if any(r.tool == t for r in results)]
    head = f"| {unit} | " + " | ".join(f"{t} s" for t in tools) + " | eks-sg-policy growth vs previous size |"
    lines = [head, "|---:|" + "---:|" * len(tools) + "---:|"]
    by = {(r.case, r.tool): r for r in results}
    previous: float | None = None
    for size in sizes:
        case = f"{series}-{size}"
        if (case, OURS) not in by:
            continue
        cells = []
        for tool in tools:
            found = by.get((case, tool))
            cells.append(_seconds(found.median) if found and found.median is not None else "-")
        current = by[(case, OURS)].median
        growth = f"x{current / previous:.2f}" if current is not None and previous else ""
        previous = current
        lines.append(f"| {size:,} | " + " | ".join(cells) + f" | {growth} |")
    return lines


def _verdict(passed: bool | None) -> str:
    return "-" if passed is None else ("PASS" if passed else "**FAIL**")


def targets_table(targets: list[Target]) -> list[str]:
    lines = [
        "| target | limit | measured (wall) | result | same on CPU time | result on CPU time |",
        "|---|---:|---:|---|---:|---|",
    ]
    for t in targets:
        lines.append(
            f"| {t.name} | {t.limit} | {t.measured} | {_verdict(t.passed)} | {t.measured_cpu or '-'} "
            f"| {_verdict(t.passed_cpu)} |"
        )
    return lines


def render(
    cases: list[Case],
    results: list[Result],
    ours: Tool,
    peers: dict[str, Tool],
    settings: Settings,
    took: float,
    command: str,
    load: tuple[float, float],
) -> str:
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    memory_source = "`/usr/bin/time -v`" if os.access(TIME_BIN, os.X_OK) else "`getrusage(RUSAGE_CHILDREN)`"
    out = [
        "# Benchmark results",
        "",
        f"Produced by `{command}` on {now}, in {took / 60:.1f} min. Regenerate with the same command.",
        "",
        "## Machine",
        "",
        "| | |",
        "|---|---|",
    ]
    out += [f"| {key} | {value} |" for key, value in machine()]
    out.append(f"| load average (1 min) at start / end | {load[0]:.2f} / {load[1]:.2f} (other work skews times) |")
    out.append(f"| {ours.name} | {ours.version} (`{_display(ours.argv[0])}`), source {source_revision()} |")
    seen = set()
    for tool in peers.values():
        if tool.argv[0] not in seen:
            seen.add(tool.argv[0])
            out.append(f"| {Path(tool.argv[0]).name} | {tool.version} (`{_display(tool.argv[0])}`) |")
    out += [
        "",
        "## Targets",
        "",
        "The targets are stated on wall time. CPU time (user + system of the process and its children, "
        "median) moves less when other work shares the machine; for checkov it adds up its worker processes.",
        "",
        *targets_table(evaluate_targets(results)),
        "",
        "## Summary",
        "",
        "Median wall time; in brackets, how many times longer than eks-sg-policy.",
        "",
        *summary_table(cases, results),
        "",
        "## All measurements",
        "",
        f"Median wall time of {settings.ours_runs} runs of eks-sg-policy (after one warm-up run) and "
        f"{settings.peer_runs} of each peer ("
        + ("no warm-up" if settings.quick else "one warm-up run in the first case it appears in")
        + "; the growth cases: one run per peer, no warm-up, and a peer size whose projected time exceeds "
        f"{settings.peer_budget:.0f} s is skipped). Every run is a fresh process. CPU: user + system time, median. "
        "Peak RSS: the largest over the "
        f"runs, from {memory_source} (for multi-process tools, the largest single process). Exit codes: non-zero "
        "means findings (cfn-lint 2/4/6, checkov 1, eks-sg-policy 1) or, for eks-sg-policy, 2 when a file could "
        "not be read. The last column is how many times longer the tool took than eks-sg-policy.",
        "",
        *results_table(cases, results),
        "",
        "### Growth",
        "",
        *growth_table(results, "templates", TEMPLATE_COUNTS, "templates"),
        "",
        *growth_table(results, "rules", RULE_COUNTS, "rules in one template"),
        "",
        "## Commands",
        "",
        f"- eks-sg-policy: `eks-sg-policy check PATH` (text output); `{SINGLE_TEMPLATE}` from the shared corpus. "
        "Its modules are byte-compiled once, by the warm-up run, as pip does for an installed package "
        "(`PYTHONDONTWRITEBYTECODE` unset, `PYTHONPYCACHEPREFIX` in the run's temp dir): the dev venv's editable "
        "install under `PYTHONDONTWRITEBYTECODE=1` would otherwise recompile every module of ours on every run.",
        "- cfn-lint: `cfn-lint TEMPLATE...` (all default rules, no plugin); on the corpus, the CloudFormation "
        "files only (it cannot read Terraform).",
        f"- checkov: `checkov -f FILE | -d DIR {' '.join(CHECKOV_FLAGS)}` with `CKV_SKIP_PACKAGE_UPDATE_CHECK=true "
        "BC_SKIP_MAPPING=TRUE` and no API key (no update check, no platform download); all frameworks, as a "
        "user would run it.",
        "- checkov (IaC only): the same with `--framework cloudformation terraform`, the two inputs eks-sg-policy "
        "reads (the generated cases use only this one).",
        "- Generated inputs: `benchmarks/generate.py`, written to a temp dir at run time: one cluster with a "
        "shared node security group, per node group a node security group, launch template and Auto Scaling group; "
        f"{generate.RULES_PER_NODE_GROUP} rules per node group, mostly standalone "
        "`AWS::EC2::SecurityGroupIngress/Egress` resources.",
        "",
    ]
    return "\n".join(out)


# --------------------------------------------------------------------------- main


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Benchmark eks-sg-policy against cfn-lint and checkov.")
    parser.add_argument(
        "--quick", action="store_true", help="fewer runs; skip the 1,000-template and 10,000-rule cases"
    )
    parser.add_argument("--runs", type=int, help="measured runs of eks-sg-policy per case (default 5, quick 3)")
    parser.add_argument("--peer-runs", type=int, help="measured runs of each peer per case (default 3, quick 1)")
    parser.add_argument(
        "--peer-budget",
        type=float,
        help="skip a peer's growth case whose projected time exceeds this many seconds (default 30, quick 15)",
    )
    parser.add_argument("--eks-sg-policy", dest="ours", help="our console script (default: next to sys.executable)")
    parser.add_argument("--corpus", help="the shared corpus (default: <repo>/../shared/corpus)")
    parser.add_argument("--peers-venv", default=str(BENCH_DIR / ".venv-peers"), help="venv for checkov and cfn-lint")
    parser.add_argument("--cfn-lint", help="use this cfn-lint instead of the peers venv's")
    parser.add_argument("--checkov", help="use this checkov instead of the peers venv's")
    parser.add_argument("--no-install", action="store_true", help="do not create or fill the peers venv")
    parser.add_argument("--no-peers", action="store_true", help="time eks-sg-policy only")
    parser.add_argument(
        "--output",
        help="write the Markdown here (default: benchmarks/RESULTS.md for a full run; a --quick run only prints)",
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.perf_counter()
    load_start = os.getloadavg()[0]
    if load_start > 0.5:
        print(
            f"note: load average is {load_start:.2f}; other work on this machine will skew the times", file=sys.stderr
        )
    ours_path = find_ours(args.ours)
    if ours_path is None or not ours_path.exists():
        print(
            "eks-sg-policy console script not found: run with the dev venv's python or pass --eks-sg-policy",
            file=sys.stderr,
        )
        return 2
    corpus = Path(args.corpus) if args.corpus else REPO.parent / "shared" / "corpus"
    if not (corpus / SINGLE_TEMPLATE).exists():
        print(f"corpus not found at {_display(corpus)}: the one-template and corpus cases are skipped", file=sys.stderr)
        corpus_found: Path | None = None
    else:
        corpus_found = corpus.resolve()
    settings = Settings(
        ours_runs=args.runs or (3 if args.quick else 5),
        peer_runs=args.peer_runs or (1 if args.quick else 3),
        peer_budget=args.peer_budget or (15.0 if args.quick else 30.0),
        quick=args.quick,
    )
    peers = find_peers(args)
    with tempfile.TemporaryDirectory(prefix="eks-sg-bench-") as tmp_name:
        tmp = Path(tmp_name)
        # Byte-code as an installed package has it: pip compiles the peers at install time, while our
        # editable install under PYTHONDONTWRITEBYTECODE=1 would recompile every module on every run.
        # The warm-up run writes the .pyc files into the run's temp dir, never into the source tree.
        ours = Tool(
            OURS,
            (str(ours_path),),
            env={"PYTHONPYCACHEPREFIX": str(tmp / "pycache")},
            version=_version([str(ours_path)], {}),
            unset=("PYTHONDONTWRITEBYTECODE",),
        )
        cases = build_cases(corpus_found, tmp, args.quick)
        results = run_cases(cases, ours, peers, settings)
    took = time.perf_counter() - started
    command = "python benchmarks/run.py" + (" --quick" if args.quick else "")
    markdown = render(cases, results, ours, peers, settings, took, command, (load_start, os.getloadavg()[0]))
    print(markdown)
    output = args.output or (None if args.quick else str(BENCH_DIR / "RESULTS.md"))
    if output:
        Path(output).write_text(markdown, encoding="utf-8")
        print(f"written to {_display(Path(output).resolve())}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())

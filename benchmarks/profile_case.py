"""Where does eks-sg-policy spend its time? Import cost and a cProfile of one benchmark case.

    python benchmarks/profile_case.py                  # import time + cProfile of the one-template case
    python benchmarks/profile_case.py --rules 10000    # cProfile of the generated 10,000-rule template
    python benchmarks/profile_case.py --corpus         # cProfile of the whole corpus

Run it with the dev venv's Python: the profiled process is that interpreter running `-m eks_sg_policy check`.
Prints the slowest imports (`-X importtime`, cumulative), then the top functions by cumulative and by own time.
"""

from __future__ import annotations

import argparse
import os
import pstats
import re
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import generate

REPO = Path(__file__).resolve().parent.parent
SINGLE_TEMPLATE = "amazon-eks-ami@edb1d41/amazon-eks-nodegroup.yaml"
_IMPORT_LINE = re.compile(r"import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)")


def _short(path: str) -> str:
    """A file name as the report shows it: from `eks_sg_policy/` or the package name on, never absolute."""
    for marker in ("/src/eks_sg_policy/", "/site-packages/", "/lib/python"):
        if marker in path:
            return (
                path.split(marker, 1)[1]
                if marker != "/src/eks_sg_policy/"
                else "eks_sg_policy/" + path.split(marker, 1)[1]
            )
    return os.path.basename(path)


def _env(pycache: str) -> dict[str, str]:
    """Byte-code cached as in an installed package (see run.py): compiled once, in a temp dir."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    return env | {"PYTHONPYCACHEPREFIX": pycache}


def import_times(python: str, target: str, top: int, env: dict[str, str]) -> None:
    """`-X importtime` of a real check run: the imports with the largest cumulative time."""
    done = subprocess.run(
        [python, "-X", "importtime", "-m", "eks_sg_policy", "check", target],
        capture_output=True,
        text=True,
        check=False,
        env=env,
    )
    rows = []
    for line in done.stderr.splitlines():
        found = _IMPORT_LINE.match(line)
        if found:
            own, cumulative, indent, name = found.groups()
            rows.append((int(cumulative), int(own), len(indent) // 2, name))
    total = sum(cumulative for cumulative, _, depth, _ in rows if depth == 0)
    print(f"## Imports (-X importtime): {total / 1e6:.3f} s in top-level imports\n")
    print(f"{'cumulative ms':>14} {'own ms':>8}  module")
    for cumulative, own, depth, name in sorted(rows, reverse=True)[:top]:
        print(f"{cumulative / 1000:14.1f} {own / 1000:8.1f}  {'  ' * min(depth, 4)}{name}")
    print()


def profile(python: str, target: str, top: int, env: dict[str, str]) -> None:
    """cProfile of `python -m eks_sg_policy check target`; top functions by cumulative and own time."""
    with tempfile.TemporaryDirectory(prefix="eks-sg-profile-") as tmp:
        stats_file = str(Path(tmp) / "check.prof")
        subprocess.run(
            [python, "-m", "cProfile", "-o", stats_file, "-m", "eks_sg_policy", "check", target],
            stdout=subprocess.DEVNULL,
            check=False,
            env=env,
        )
        stats = pstats.Stats(stats_file)
    raw = stats.stats  # type: ignore[attr-defined]
    rows = []
    for (filename, line, function), (_, calls, own, cumulative, _) in raw.items():
        rows.append((cumulative, own, calls, f"{_short(filename)}:{line}:{function}"))
    total = max(cumulative for cumulative, *_ in rows)
    print(f"## cProfile: {total:.3f} s in total (profiler overhead included)\n")
    for title, key in (("by cumulative time", 0), ("by own time", 1)):
        print(f"### {title}\n")
        print(f"{'cumulative s':>12} {'own s':>8} {'calls':>10}  function")
        for cumulative, own, calls, name in sorted(rows, key=lambda row: row[key], reverse=True)[:top]:
            print(f"{cumulative:12.3f} {own:8.3f} {calls:10d}  {name}")
        print()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Profile eks-sg-policy on one benchmark input.")
    what = parser.add_mutually_exclusive_group()
    what.add_argument("--rules", type=int, help="a generated template with this many rules")
    what.add_argument("--templates", type=int, help="this many generated templates")
    what.add_argument("--corpus", action="store_true", help="the whole shared corpus")
    parser.add_argument("--top", type=int, default=25, help="rows per table (default 25)")
    parser.add_argument("--python", default=sys.executable, help="the interpreter that has eks_sg_policy")
    parser.add_argument("--no-imports", action="store_true", help="skip the -X importtime table")
    args = parser.parse_args(argv)
    corpus = REPO.parent / "shared" / "corpus"
    with tempfile.TemporaryDirectory(prefix="eks-sg-profile-input-") as tmp:
        if args.rules:
            target = str(generate.write_rules_template(Path(tmp), args.rules))
        elif args.templates:
            generate.write_templates(Path(tmp), args.templates)
            target = tmp
        elif args.corpus:
            target = str(corpus)
        else:
            target = str(corpus / SINGLE_TEMPLATE)
        env = _env(str(Path(tmp) / "pycache"))
        # Warm-up: compiles every module once, and profiles both runs after it alike.
        subprocess.run(
            [args.python, "-m", "eks_sg_policy", "check", target],
            check=False,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        if not args.no_imports:
            import_times(args.python, target, args.top, env)
        profile(args.python, target, args.top, env)
    return 0


if __name__ == "__main__":
    sys.exit(main())

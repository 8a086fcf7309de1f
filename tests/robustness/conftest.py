"""Collection settings of the robustness suite."""

from __future__ import annotations

import sys

# RLIMIT_AS, fork/exec with preexec_fn, SIGALRM and os.wait4 are POSIX.
collect_ignore_glob = ["test_*.py"] if sys.platform == "win32" else []

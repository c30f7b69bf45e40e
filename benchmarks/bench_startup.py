"""Start-up: how long the commands a user types first take, side by side with the bare interpreter.

Targets (issue: fast start-up, lm-evaluation-harness's most common complaint): `harness --help` < 0.1 s and
`harness list methods` < 0.5 s. Each command runs N times as a fresh process; the median wall time and the
peak memory (max RSS of the child) are printed, with the ratio to the target (< 1.0 meets it) and what is
added on top of `python -c pass`. `harness list methods` must not import torch: it reads parameter counts
from the registry and the checkpoints' JSON.

    .venv/bin/python benchmarks/bench_startup.py [--repeat N]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

BIN = Path(sys.executable).parent
COMMANDS = [
    ("python -c pass", [sys.executable, "-c", "pass"], None),
    ("harness --help", [str(BIN / "harness"), "--help"], 0.1),
    ("harness list methods", [str(BIN / "harness"), "list", "methods"], 0.5),
    ("harness list suites", [str(BIN / "harness"), "list", "suites"], None),
]


def measure(cmd: list[str], repeat: int) -> tuple[float, float]:
    """(median seconds, peak max-RSS MB over the runs)."""
    times, peak = [], 0.0
    for _ in range(repeat):
        t0 = time.perf_counter()
        pid = os.posix_spawn(cmd[0], cmd, os.environ)
        _, status, usage = os.wait4(pid, 0)
        times.append(time.perf_counter() - t0)
        if os.waitstatus_to_exitcode(status) != 0:
            raise SystemExit(f"{' '.join(cmd)} failed")
        peak = max(peak, usage.ru_maxrss / 1024)  # ru_maxrss is in KB on Linux
    return statistics.median(times), peak


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeat", type=int, default=15)
    args = ap.parse_args()
    devnull = os.open(os.devnull, os.O_WRONLY)
    saved = os.dup(1)
    os.dup2(devnull, 1)  # the commands' own output is not part of the measurement
    try:
        results = {name: measure(cmd, args.repeat) for name, cmd, _ in COMMANDS}
    finally:
        os.dup2(saved, 1)
    floor = results["python -c pass"][0]
    print(f"median of {args.repeat} runs each (fresh processes)")
    for name, _, target in COMMANDS:
        t, mb = results[name]
        line = f"{name:22s} {t * 1000:7.1f} ms  {mb:6.0f} MB peak"
        if name != "python -c pass":
            line += f"  (+{(t - floor) * 1000:.0f} ms over the interpreter)"
        if target:
            line += f"  target {target * 1000:.0f} ms: ratio {t / target:.2f} {'ok' if t < target else 'MISSED'}"
        print(line)
    probe = subprocess.run([sys.executable, "-c", "import sys; from harness.cli import main; "
                            "import io, contextlib\nwith contextlib.redirect_stdout(io.StringIO()): "
                            "main(['list', 'methods'])\nprint('torch' in sys.modules)"],
                           capture_output=True, text=True, check=True)
    print(f"`harness list methods` imports torch: {probe.stdout.strip().splitlines()[-1]}")


if __name__ == "__main__":
    main()

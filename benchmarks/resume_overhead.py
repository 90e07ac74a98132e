"""What resuming costs: a sweep, resumed with nothing left to do, and resumed after losing half.

Prints wall-clock seconds of real subprocesses side by side (no assertions; the machine may be
shared, so read the ratios with that in mind). Run: .venv/bin/python benchmarks/resume_overhead.py
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BIN = Path(sys.executable).parent
JOBS = 12


def timed(*command: str, cwd: Path) -> float:
    t0 = time.perf_counter()
    subprocess.run(command, cwd=cwd, check=True, capture_output=True)
    return time.perf_counter() - t0


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="resume-bench-") as tmp:
        cwd = Path(tmp)
        sweep = cwd / "sweep"
        seeds = ",".join(str(s) for s in range(JOBS))
        full = timed(
            str(BIN / "rnn-exp"), "-m", f"seed={seeds}", f"hydra.sweep.dir={sweep}", cwd=cwd
        )
        nothing = timed(str(BIN / "rnn-exp-resume"), str(sweep), cwd=cwd)
        for num in range(0, JOBS, 2):
            shutil.rmtree(sweep / str(num))
        half = timed(str(BIN / "rnn-exp-resume"), str(sweep), cwd=cwd)
    rows = [
        (f"{JOBS}-job forward sweep (rnn-exp -m)", full),
        (f"resume, all {JOBS} jobs complete (skips only)", nothing),
        (f"resume, {JOBS // 2} of {JOBS} jobs missing", half),
    ]
    for label, seconds in rows:
        print(f"{label:<46}{seconds:7.2f} s  ({seconds / full:.2f}x the sweep)")


if __name__ == "__main__":
    main()

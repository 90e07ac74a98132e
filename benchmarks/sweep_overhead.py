"""How long an N-job sweep takes three ways: the project's default multirun (fast launcher and
sweeper), plain Hydra (basic launcher and sweeper), and a hand-written Python loop doing the same
work (compose once, set model.hidden_size, runner.execute_run writing the same results.json).

Each way runs as its own subprocess into a temp dir, so every total includes Python, Hydra and
torch start-up: what a user waits for. Start-up is also measured alone (a 1-job run of each way)
and the per-job time without it is printed, labelled as such.

    .venv/bin/python benchmarks/sweep_overhead.py [--jobs 200]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BIN = Path(sys.executable).parent

HAND_LOOP = """
import sys, time
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf, open_dict
from rnn_experiments.cli import CONF_DIR
from rnn_experiments.runner import execute_run

out, jobs = sys.argv[1], int(sys.argv[2])
with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
    base = compose(config_name="config")
for num, hidden_size in enumerate(range(1, jobs + 1)):
    cfg = base.copy()
    cfg.model.hidden_size = hidden_size
    execute_run(cfg, OmegaConf.to_container(cfg, resolve=True), f"{out}/{num}")
"""


def sweep_command(way: str, jobs: int, out: Path) -> list[str]:
    if way == "hand loop":
        return [sys.executable, "-c", HAND_LOOP, str(out), str(jobs)]
    values = ",".join(str(h) for h in range(1, jobs + 1))
    command = [str(BIN / "rnn-exp"), "-m", f"model.hidden_size={values}", f"hydra.sweep.dir={out}"]
    if way == "plain Hydra":
        command += ["hydra/launcher=basic", "hydra/sweeper=basic"]
    return command


def timed_run(way: str, jobs: int, workdir: Path) -> float:
    out = workdir / f"{way.replace(' ', '_')}_{jobs}"
    command = sweep_command(way, jobs, out)
    started = time.perf_counter()
    done = subprocess.run(command, cwd=workdir, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{way} failed ({done.returncode}):\n{done.stderr[-2000:]}")
    written = sorted(out.glob("*/results.json"))
    statuses = {json.loads(p.read_text())["status"] for p in written}
    if len(written) != jobs or statuses != {"completed"}:
        raise SystemExit(f"{way}: expected {jobs} completed results.json, got {len(written)}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=200, help="sweep size N (default 200)")
    args = parser.parse_args()
    ways = ["project default", "plain Hydra", "hand loop"]
    totals, startups = {}, {}
    with tempfile.TemporaryDirectory(prefix="sweep_overhead_") as tmp:
        workdir = Path(tmp)
        for way in ways:
            startups[way] = timed_run(way, 1, workdir)
            totals[way] = timed_run(way, args.jobs, workdir)
    n = args.jobs
    print(f"sweep of N={n} jobs: model.hidden_size=1..{n} over the example (forward task)")
    print(f"{'way':<17}{'total s':>9}{'ms/job':>9}{'1-job run s':>13}{'ms/job w/o start-up':>21}")
    marginal = {}
    for way in ways:
        marginal[way] = (totals[way] - startups[way]) / (n - 1) * 1000 if n > 1 else float("nan")
        per_job = totals[way] / n * 1000
        print(
            f"{way:<17}{totals[way]:>9.2f}{per_job:>9.1f}{startups[way]:>13.2f}"
            f"{marginal[way]:>21.1f}"
        )
    fast, plain, hand = (totals[w] for w in ways)
    print(f"plain Hydra / project default, total:            {plain / fast:6.1f}x  (target >= 15)")
    print(f"project default / hand loop, total:              {fast / hand:6.1f}x  (target <= 3)")
    mf, mp, mh = (marginal[w] for w in ways)
    print(f"plain Hydra / project default, w/o start-up:     {mp / mf:6.1f}x")
    print(f"project default / hand loop, w/o start-up:       {mf / mh:6.1f}x")


if __name__ == "__main__":
    main()

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
    execute_run(OmegaConf.to_container(cfg, resolve=True), f"{out}/{num}")
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
    parser.add_argument(
        "--repeats", type=int, default=2, help="runs of each way, interleaved; best kept (2)"
    )
    args = parser.parse_args()
    ways = ["project default", "plain Hydra", "hand loop"]
    # Interleaved rounds, best of each: this machine's speed drifts by a third from minute to
    # minute, and one run of each way in turn lets that drift decide the ratios.
    totals: dict[str, list[float]] = {way: [] for way in ways}
    startups: dict[str, list[float]] = {way: [] for way in ways}
    with tempfile.TemporaryDirectory(prefix="sweep_overhead_") as tmp:
        workdir = Path(tmp)
        for round_ in range(args.repeats):
            round_dir = workdir / f"round{round_}"
            round_dir.mkdir()
            for way in ways:
                startups[way].append(timed_run(way, 1, round_dir))
                totals[way].append(timed_run(way, args.jobs, round_dir))
    n = args.jobs
    print(
        f"sweep of N={n} jobs: model.hidden_size=1..{n} over the example (forward task); "
        f"best of {args.repeats} interleaved runs per way"
    )
    print(f"{'way':<17}{'total s':>9}{'ms/job':>9}{'1-job run s':>13}{'ms/job w/o start-up':>21}")
    best = {way: min(totals[way]) for way in ways}
    marginal = {}
    for way in ways:
        start = min(startups[way])
        marginal[way] = (best[way] - start) / (n - 1) * 1000 if n > 1 else float("nan")
        print(
            f"{way:<17}{best[way]:>9.2f}{best[way] / n * 1000:>9.1f}{start:>13.2f}"
            f"{marginal[way]:>21.1f}"
        )
    fast, plain, hand = (best[w] for w in ways)
    print(f"plain Hydra / project default, total:            {plain / fast:6.1f}x")
    print(f"project default / hand loop, total:              {fast / hand:6.1f}x")
    mf, mp, mh = (marginal[w] for w in ways)
    print(f"plain Hydra / project default, per job:          {mp / mf:6.1f}x  (target >= 15)")
    print(f"project default / hand loop, per job:            {mf / mh:6.1f}x  (target <= 3)")
    print("(per job: total minus the 1-job run, over N-1 jobs; the targets are per job, since")
    print(" start-up -- python, hydra, torch -- is the same fixed cost for every way)")


if __name__ == "__main__":
    main()

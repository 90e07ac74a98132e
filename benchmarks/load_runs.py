"""Benchmark: merge N sweep job dirs with `load_runs` vs the usual hand-written loop.

Runs ONE real two-job sweep (`rnn-exp -m model.hidden_size=1,2 seed=0`) to get the files exactly
as Hydra and the runner write them, then replicates each job's .hydra/{config,hydra,overrides}.yaml
and results.json into N job dirs of one sweep dir (seed = job // 2, hidden size alternating,
norms varied), and times, over the same dirs in the same process:
  - load_runs(sweep_dir)
  - the naive loop: OmegaConf.load(.hydra/config.yaml) + json.load(results.json) +
    pandas.json_normalize per run, then pandas.concat.
Prints both totals, ms per run and the ratio. A benchmark, not a test: run it on a quiet machine.

    .venv/bin/python benchmarks/load_runs.py --n 10000
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
from omegaconf import OmegaConf

from rnn_experiments.report import load_runs

BIN = Path(sys.executable).parent


def real_sweep(where: Path) -> Path:
    sweep = where / "template"
    subprocess.run(
        [str(BIN / "rnn-exp"), "-m", "model.hidden_size=1,2", "seed=0", f"hydra.sweep.dir={sweep}"],
        cwd=where,
        check=True,
        capture_output=True,
        text=True,
    )
    return sweep


def replicate(template: Path, sweep: Path, n: int) -> None:
    """N job dirs as Hydra would lay them out. Plain writes: this is throwaway benchmark input,
    not project output, and 5 fsyncs per job would only time the disk."""
    sweep.mkdir(parents=True)
    shutil.copy(template / "multirun.yaml", sweep / "multirun.yaml")
    texts = {}
    for j in (0, 1):
        hydra_dir = template / str(j) / ".hydra"
        texts[j] = {
            name: (hydra_dir / name).read_text(encoding="utf-8")
            for name in ("config.yaml", "hydra.yaml", "overrides.yaml")
        }
        texts[j]["results"] = json.loads((template / str(j) / "results.json").read_text())
    rng = random.Random(0)
    for i in range(n):
        j, seed = i % 2, i // 2
        t = texts[j]
        job_dir = sweep / str(i)
        (job_dir / ".hydra").mkdir(parents=True)
        (job_dir / ".hydra" / "config.yaml").write_text(
            t["config.yaml"].replace("\nseed: 0\n", f"\nseed: {seed}\n"), encoding="utf-8"
        )
        (job_dir / ".hydra" / "overrides.yaml").write_text(
            t["overrides.yaml"].replace("- seed=0", f"- seed={seed}"), encoding="utf-8"
        )
        (job_dir / ".hydra" / "hydra.yaml").write_text(
            t["hydra.yaml"]
            .replace("seed=0", f"seed={seed}")
            .replace(f"\n    num: {j}\n", f"\n    num: {i}\n")
            .replace(str(template / str(j)), str(job_dir)),
            encoding="utf-8",
        )
        results = json.loads(json.dumps(t["results"]))
        scale = rng.uniform(0.5, 1.5)
        for key in ("output", "h_n"):
            results["norms"][key] *= scale
        results["norms"]["output_per_step"] = [
            v * scale for v in results["norms"]["output_per_step"]
        ]
        results["reference"]["max_abs_diff"] = rng.uniform(0, 1e-6)
        results["provenance"].update(seed=seed, run_dir=str(job_dir), duration_s=rng.uniform(0, 1))
        (job_dir / "results.json").write_text(json.dumps(results, indent=2) + "\n")


def naive_merge(sweep: Path) -> pd.DataFrame:
    frames = []
    for job_dir in sorted((p for p in sweep.iterdir() if p.is_dir()), key=lambda p: int(p.name)):
        config = OmegaConf.to_container(OmegaConf.load(job_dir / ".hydra" / "config.yaml"))
        with open(job_dir / "results.json", encoding="utf-8") as f:
            results = json.load(f)
        frames.append(pd.json_normalize({**config, **results}))
    return pd.concat(frames, ignore_index=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000, help="job dirs to create (10000)")
    parser.add_argument("--keep", action="store_true", help="keep the generated dirs")
    args = parser.parse_args()
    where = Path(tempfile.mkdtemp(prefix="rnn-exp-bench-"))
    try:
        t0 = time.perf_counter()
        template = real_sweep(where)
        sweep = where / "sweep"
        replicate(template, sweep, args.n)
        print(f"created {args.n} job dirs in {sweep} ({time.perf_counter() - t0:.1f} s)")

        t0, c0 = time.perf_counter(), time.process_time()
        fast = load_runs(sweep)
        t_fast, c_fast = time.perf_counter() - t0, time.process_time() - c0
        repeats = []
        for _ in range(2):
            t0 = time.perf_counter()
            load_runs(sweep)
            repeats.append(time.perf_counter() - t0)

        t0, c0 = time.perf_counter(), time.process_time()
        naive = naive_merge(sweep)
        t_naive, c_naive = time.perf_counter() - t0, time.process_time() - c0

        assert len(fast) == len(naive) == args.n, (len(fast), len(naive))
        assert list(fast["job"]) == list(range(args.n))
        assert (fast["norms.h_n"].to_numpy() == naive["norms.h_n"].to_numpy()).all()
        assert (fast["seed"].to_numpy() == naive["seed"].to_numpy()).all()

        n = args.n
        print(
            f"load_runs   : {t_fast:7.3f} s  {t_fast / n * 1e3:6.3f} ms/run  "
            f"cpu {c_fast:6.3f} s  ({fast.shape[1]} columns; "
            f"repeats {', '.join(f'{r:.3f}' for r in repeats)} s)"
        )
        print(
            f"naive loop  : {t_naive:7.3f} s  {t_naive / n * 1e3:6.3f} ms/run  "
            f"cpu {c_naive:6.3f} s  "
            f"(OmegaConf.load + json.load + json_normalize, {naive.shape[1]} columns)"
        )
        print(
            f"ratio       : {t_naive / t_fast:7.1f}x faster wall, {c_naive / c_fast:.1f}x cpu "
            "(first load_runs call)"
        )
        print(f"cpus        : {os.cpu_count()}  load average {os.getloadavg()[0]:.2f}")
    finally:
        if args.keep:
            print(f"kept {where}")
        else:
            shutil.rmtree(where, ignore_errors=True)


if __name__ == "__main__":
    main()

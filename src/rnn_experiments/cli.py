"""The `rnn-exp` command: a Hydra app, and the only place that knows exit codes.

Importing this module costs no torch: `rnn-exp --help` and `--cfg job` stay fast, and the runner
(with torch) is imported only when a job actually runs. A UserError in a single run becomes one
line on stderr and exit status 2; in a multirun the job is recorded as failed, the others go
on, and the command exits 1 at the end naming the failed jobs.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Any

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig, OmegaConf

from rnn_experiments.errors import UserError
from rnn_experiments.schema import register_configs

log = logging.getLogger("rnn_experiments")


def find_conf_dir() -> Path:
    """conf/ ships inside the wheel; an editable install reads the checkout's conf/."""
    here = Path(__file__).resolve().parent
    for candidate in (here / "conf", here.parents[1] / "conf"):
        if (candidate / "config.yaml").is_file():
            return candidate
    raise FileNotFoundError(f"no conf/config.yaml next to {here} or in its checkout")


CONF_DIR = find_conf_dir()
# What a failed multirun job returns: optimizing sweepers (optuna) record NaN as a failed
# trial and go on, where None would stop the whole search.
FAILED_JOB_VALUE = float("nan")
register_configs()


def describe_shape(shape: list[int], axes: list[str]) -> str:
    return "(" + ", ".join(f"{name}={size}" for name, size in zip(axes, shape, strict=True)) + ")"


def summarize_training(results: dict[str, Any], run_dir: str) -> str:
    """A short human summary of a training run: loss, accuracy, prediction, where files went."""
    metrics = results["metrics"]
    lines = [f"rnn-exp: {results['task']} run completed ({metrics['epochs']} epochs)"]
    lines.append(f"  final loss {metrics['final_loss']:.6f}  accuracy {metrics['accuracy']:.4f}")
    if "reconstructed" in metrics:
        lines.append(f"  reconstructed: {metrics['reconstructed']!r}")
    else:
        shown = metrics["prediction"][:5]
        more = len(metrics["prediction"]) - len(shown)
        extra = f" (+{more} more)" if more else ""
        lines.append(f"  prediction: {', '.join(map(repr, shown))}{extra}")
    for name in ("results.json", results["files"]["metrics"], results["files"]["model"]):
        lines.append(f"  {name + ':':<13} {Path(run_dir) / name}")
    return "\n".join(lines)


def summarize(results: dict[str, Any], run_dir: str) -> str:
    """A short human summary of a completed run: named shapes, norms, where results went."""
    if "metrics" in results:
        return summarize_training(results, run_dir)
    shapes, norms = results["shapes"], results["norms"]
    lines = [f"rnn-exp: {results['task']} run completed"]
    for name in ("input", "output", "h_n", "c_n"):
        if name in shapes:
            lines.append(f"  {name:<7}{describe_shape(shapes[name], shapes['axes'][name])}")
    per_word = ", ".join(f"{n:.4f}" for n in norms["final_hidden_per_word"])
    lines.append(f"  norms  output={norms['output']:.4f}  h_n={norms['h_n']:.4f}")
    lines.append(f"         final hidden per word: [{per_word}]")
    if "lengths" in results:
        lines.append(f"  {results['padding']}: lengths {results['lengths']} (norms: valid steps)")
    if "pad_vs_pack" in results:
        compared = results["pad_vs_pack"]
        lines.append(
            f"  packed batch_sizes {compared['packed']['batch_sizes']}; padded vs packed on valid "
            f"steps max |diff| = {compared['max_abs_diff_valid_steps']:.3g}"
        )
    ref = results["reference"]
    lines.append(
        f"  numpy reference max |diff| = {ref['max_abs_diff']:.3g} (tolerance {ref['tolerance']:g})"
    )
    lines.append(f"  results: {Path(run_dir) / 'results.json'}")
    return "\n".join(lines)


@hydra.main(version_base="1.3", config_path=str(CONF_DIR), config_name="config")
def app(cfg: DictConfig) -> float | None:
    from rnn_experiments.runner import execute_run  # torch is imported here, not at start-up

    hydra_cfg = HydraConfig.get()
    run_dir = hydra_cfg.runtime.output_dir
    multirun = hydra_cfg.mode == RunMode.MULTIRUN
    config = OmegaConf.to_container(cfg, resolve=True)
    try:
        results = execute_run(config, run_dir)
    except UserError as exc:
        if not multirun:
            print(f"rnn-exp: error: {exc}", file=sys.stderr)
            raise SystemExit(2) from None
        log.error("job %s rejected: %s", hydra_cfg.job.num, exc)
        return FAILED_JOB_VALUE
    except Exception:
        if not multirun:
            raise
        log.exception("job %s failed", hydra_cfg.job.num)
        return FAILED_JOB_VALUE
    if multirun:
        log.info("job %s completed: %s", hydra_cfg.job.num, Path(run_dir) / "results.json")
    else:
        print(summarize(results, run_dir))
    return results.get("metrics", {}).get("final_loss")


def main() -> None:
    from rnn_experiments import callbacks
    from rnn_experiments.sweep_plugins import check_plugins

    try:
        check_plugins(sys.argv[1:])
    except UserError as exc:
        print(f"rnn-exp: error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    app()
    if callbacks.FAILED_JOBS:
        failed = callbacks.FAILED_JOBS
        names = ", ".join(f"{job['job']} ({job['reason']})" for job in failed)
        print(f"rnn-exp: {len(failed)} job(s) failed: {names}", file=sys.stderr)
        raise SystemExit(1)


if __name__ == "__main__":
    main()

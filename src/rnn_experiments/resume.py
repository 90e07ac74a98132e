"""`rnn-exp-resume SWEEP_DIR`: finish a sweep that stopped part-way, in the same dir.

Re-creates the sweep with Hydra's own machinery: composes the config with the overrides recorded
in SWEEP_DIR/multirun.yaml (and `hydra.sweep.dir=SWEEP_DIR`), splits them into jobs as the basic
sweeper does, and decides per job. A job whose results.json says "completed" and whose config
hash equals that of its newly composed config is skipped without being launched (launchers
rewrite .hydra/*.yaml), so its files stay byte-identical. Every other job is handed to the
launcher the sweep recorded (basic, joblib, ...) under its original job number. The multirun
callbacks run as in `rnn-exp -m`. Writes only through the launched jobs and callbacks.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf, open_dict, read_write
from omegaconf.errors import OmegaConfBaseException

from rnn_experiments import run_store
from rnn_experiments.comparison import flatten_fields
from rnn_experiments.errors import ArgumentParser, UserError
from rnn_experiments.reproduce import quote_override_value


@dataclass
class Job:
    num: int
    overrides: list[str]
    dir: Path
    config_hash: str
    config: dict[str, Any]
    run: bool = True
    reason: str = ""


def read_sweep_record(sweep_dir: Path) -> DictConfig:
    """The sweep config Hydra saved in SWEEP_DIR/multirun.yaml, checked for what resume needs."""
    path = sweep_dir / run_store.MULTIRUN_FILE
    if not path.is_file():
        raise UserError(
            f"{sweep_dir} is not a sweep dir: it has no {run_store.MULTIRUN_FILE} "
            "(give the directory `rnn-exp -m` printed, holding multirun.yaml and job dirs)"
        )
    try:
        record = OmegaConf.load(path)
        task_overrides = OmegaConf.to_container(record.hydra.overrides.task)
        hydra_overrides = OmegaConf.to_container(record.hydra.overrides.hydra)
    except (OmegaConfBaseException, OSError, ValueError) as exc:
        first_line = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise UserError(f"{path} is not a Hydra multirun record: {first_line}") from None
    if not isinstance(task_overrides, list) or not isinstance(hydra_overrides, list):
        raise UserError(f"{path} has no hydra.overrides.task/hydra lists; it is not from Hydra")
    sweeper = OmegaConf.select(record, "hydra.sweeper._target_")
    if not lists_jobs_like_the_basic_sweeper(sweeper):
        raise UserError(
            f"{path} was made by sweeper {sweeper!r}; rnn-exp-resume can resume sweeps of "
            "Hydra's basic sweeper only, whose job list is fixed by the overrides"
        )
    return record


def lists_jobs_like_the_basic_sweeper(target: str | None) -> bool:
    """The basic sweeper and its subclasses (the project's fast sweeper) fix the job list."""
    from hydra._internal.core_plugins.basic_sweeper import BasicSweeper
    from hydra.utils import get_class

    try:
        return target is not None and issubclass(get_class(target), BasicSweeper)
    except Exception:  # an uninstalled plugin or a name that is no class
        return False


def override_key(override: str) -> str:
    return override.split("=", 1)[0].lstrip("+~")


def resume_overrides(record: DictConfig, sweep_dir: Path) -> list[str]:
    """The recorded hydra and task overrides, aimed at SWEEP_DIR, with the recorded launcher."""
    hydra_overrides = [
        o for o in record.hydra.overrides.hydra if override_key(o) != "hydra.sweep.dir"
    ]
    # The default launcher may have changed since; the jobs run under the one the sweep used.
    launcher = OmegaConf.select(record, "hydra.runtime.choices.hydra/launcher")
    if launcher and not any(override_key(o) == "hydra/launcher" for o in hydra_overrides):
        hydra_overrides.append(f"hydra/launcher={launcher}")
    return [
        *hydra_overrides,
        *record.hydra.overrides.task,
        f"hydra.sweep.dir={quote_override_value(str(sweep_dir.resolve()))}",
    ]


def create_hydra(record: DictConfig) -> Any:
    """A Hydra instance with the rnn-exp app's config search path (plus any --config-dir)."""
    from hydra._internal.hydra import Hydra
    from hydra._internal.utils import create_config_search_path
    from hydra.core.global_hydra import GlobalHydra

    from rnn_experiments.cli import CONF_DIR  # also registers the schemas

    search_path = create_config_search_path(str(CONF_DIR))
    for source in OmegaConf.select(record, "hydra.runtime.config_sources", default=[]) or []:
        if source.provider == "command-line":
            search_path.prepend(provider="command-line", path=f"{source.schema}://{source.path}")
    GlobalHydra.instance().clear()
    return Hydra.create_main_hydra2(
        task_name=str(record.hydra.job.name), config_search_path=search_path
    )


def split_into_jobs(hydra: Any, cfg: DictConfig) -> list[list[str]]:
    """Every job's overrides in job-number order, as the basic sweeper lists them."""
    from hydra._internal.core_plugins.basic_sweeper import BasicSweeper
    from hydra.core.override_parser.overrides_parser import OverridesParser

    params = OmegaConf.select(cfg, "hydra.sweeper.params") or {}
    arguments = [f"{key}={value}" for key, value in params.items()]
    arguments += list(cfg.hydra.overrides.task)
    parsed = OverridesParser.create(config_loader=hydra.config_loader).parse_overrides(arguments)
    return BasicSweeper.split_arguments(parsed, max_batch_size=None)[0]


def compose_job(composer: Any, overrides: list[str], num: int) -> Job:
    """The job's config as a launcher would build it: its dir and the hash runs record.

    `composer` is the fast launcher's JobConfigComposer: Hydra's composition once per set of
    config-group choices, Hydra's override code per job (its configs equal load_sweep_config's,
    tests/test_fast_launcher.py), so checking a 500-job sweep does not compose 500 times.
    """
    from hydra.core.hydra_config import HydraConfig

    job_config = composer.compose(overrides)
    sweep_config, task_cfg = job_config.config, job_config.task_config
    with open_dict(sweep_config):
        sweep_config.hydra.job.id = num
        sweep_config.hydra.job.num = num
    HydraConfig.instance().set_config(sweep_config)
    job_dir = Path(str(sweep_config.hydra.sweep.dir)) / str(sweep_config.hydra.sweep.subdir)
    with read_write(sweep_config.hydra.runtime), open_dict(sweep_config.hydra.runtime):
        sweep_config.hydra.runtime.output_dir = str(job_dir.resolve())
    HydraConfig.instance().set_config(sweep_config)
    config = OmegaConf.to_container(task_cfg, resolve=True)
    assert isinstance(config, dict)
    return Job(num, list(overrides), job_dir, run_store.config_hash(config), config)


def describe_config_change(job: Job, limit: int = 3) -> str:
    """Which keys differ between the job's saved config and its config now."""
    saved_path = job.dir / run_store.HYDRA_DIR / "config.yaml"
    try:
        saved = OmegaConf.to_container(OmegaConf.load(saved_path), resolve=True)
    except (OmegaConfBaseException, OSError):
        return "its recorded config hash differs from the config composed now"
    old, new = flatten_fields(saved), flatten_fields(job.config)
    changed = [
        f"{key}: {old.get(key, '(absent)')} -> {new.get(key, '(absent)')}"
        for key in sorted(set(old) | set(new))
        if old.get(key, "(absent)") != new.get(key, "(absent)")
    ]
    if not changed:
        return "its recorded config hash differs from the config composed now"
    more = f", and {len(changed) - limit} more" if len(changed) > limit else ""
    return ", ".join(changed[:limit]) + more


def decide(job: Job) -> None:
    """Skip a job only when it completed under exactly the config it would get now."""
    results_path = job.dir / run_store.RESULTS_FILE
    if not job.dir.is_dir():
        job.reason = "missing"
        return
    if not results_path.is_file():
        job.reason = "incomplete (no results.json)"
        return
    try:
        results = run_store.read_results(job.dir)
    except (OSError, ValueError):
        job.reason = "incomplete (results.json unreadable)"
        return
    status = results.get("status")
    if status == "failed":
        error = results.get("error", {})
        job.reason = f"failed ({error.get('type')}: {error.get('message')})"
    elif status != "completed":
        job.reason = f"incomplete (status {status!r})"
    elif results.get("provenance", {}).get("config_hash") != job.config_hash:
        job.reason = f"config changed since it ran: {describe_config_change(job)}"
    else:
        job.run, job.reason = False, "completed, config unchanged"


def contiguous_batches(jobs: Sequence[Job], max_batch_size: int | None) -> list[list[Job]]:
    """Runs of consecutive job numbers to launch together (a launch numbers its jobs from one
    initial index), each at most `max_batch_size` long."""
    batches: list[list[Job]] = []
    for job in jobs:
        last = batches[-1] if batches else None
        if (
            last is not None
            and last[-1].num + 1 == job.num
            and (max_batch_size is None or len(last) < max_batch_size)
        ):
            last.append(job)
        else:
            batches.append([job])
    return batches


def resume(sweep_dir: Path) -> list[Job]:
    """Relaunch the unfinished jobs of the sweep in `sweep_dir`; return every job with its fate."""
    from hydra._internal.callbacks import Callbacks
    from hydra.core.plugins import Plugins
    from hydra.errors import HydraException
    from hydra.types import HydraContext, RunMode

    from hydra_plugins.rnn_experiments_launcher.job_configs import JobConfigComposer
    from rnn_experiments.cli import app

    record = read_sweep_record(sweep_dir)
    hydra = create_hydra(record)
    config_name = str(record.hydra.job.config_name)
    try:
        cfg = hydra.compose_config(
            config_name=config_name,
            overrides=resume_overrides(record, sweep_dir),
            run_mode=RunMode.MULTIRUN,
            with_log_configuration=True,
        )
        composer = JobConfigComposer(hydra.config_loader, cfg)
        jobs = [
            compose_job(composer, overrides, num)
            for num, overrides in enumerate(split_into_jobs(hydra, cfg))
        ]
    except (HydraException, OmegaConfBaseException) as exc:
        first_line = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise UserError(
            f"cannot re-create the sweep recorded in {sweep_dir}: {first_line}"
        ) from None

    launcher_name = OmegaConf.select(cfg, "hydra.runtime.choices.hydra/launcher")
    print(f"rnn-exp-resume: {sweep_dir}: {len(jobs)} job(s), launcher {launcher_name}")
    for job in jobs:
        decide(job)
        action = "re-running" if job.run else "skipped"
        print(f"  job {job.num}: {job.reason}: {action}", flush=True)

    callbacks = Callbacks(cfg)
    # cli.app is the hydra.main wrapper; launchers call the undecorated task function, as
    # Hydra's own multirun does.
    task_function = app.__wrapped__
    launcher = Plugins.instance().instantiate_launcher(
        hydra_context=HydraContext(config_loader=hydra.config_loader, callbacks=callbacks),
        task_function=task_function,
        config=cfg,
    )
    callbacks.on_multirun_start(config=cfg, config_name=config_name)
    max_batch = OmegaConf.select(cfg, "hydra.sweeper.max_batch_size")
    for batch in contiguous_batches([job for job in jobs if job.run], max_batch):
        launcher.launch([job.overrides for job in batch], initial_job_idx=batch[0].num)
    callbacks.on_multirun_end(config=cfg, config_name=config_name)
    return jobs


def still_failed(jobs: Sequence[Job]) -> list[str]:
    """'num (reason)' for each re-run job that did not complete."""
    failed = []
    for job in jobs:
        if not job.run:
            continue
        try:
            results = run_store.read_results(job.dir)
        except (OSError, ValueError):
            failed.append(f"{job.num} (no results.json)")
            continue
        if results.get("status") != "completed":
            error = results.get("error", {})
            failed.append(f"{job.num} ({error.get('type')}: {error.get('message')})")
    return failed


def main(argv: list[str] | None = None) -> None:
    parser = ArgumentParser(
        prog="rnn-exp-resume",
        description="Finish a sweep in its own dir: run its failed, incomplete and missing jobs.",
    )
    parser.add_argument("sweep_dir", type=Path, metavar="SWEEP_DIR")
    try:
        args = parser.parse_args(argv)
        jobs = resume(args.sweep_dir)
    except UserError as exc:
        print(f"rnn-exp-resume: error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    ran = [job for job in jobs if job.run]
    failed = still_failed(jobs)
    print(
        f"rnn-exp-resume: {len(jobs) - len(ran)} job(s) skipped, {len(ran)} run, "
        f"{len(failed)} failed"
    )
    if failed:
        print(f"rnn-exp-resume: {len(failed)} job(s) failed: {', '.join(failed)}", file=sys.stderr)
        raise SystemExit(1)


if __name__ == "__main__":
    main()

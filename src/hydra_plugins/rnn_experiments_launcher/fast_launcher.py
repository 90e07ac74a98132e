"""The `fast` launcher and sweeper: Hydra's basic ones without the per-job recomposition.

`FastSweeper` is Hydra's BasicSweeper (same sweep syntax, batches, params, multirun.yaml) whose
batch validation composes through a `JobConfigComposer` instead of one full composition per job.
`FastLauncher` runs jobs in this process one after another like BasicLauncher, with configs from
the same composer and `run_composed_job` instead of Hydra's `run_job`. Both are selected as
`hydra/launcher=fast hydra/sweeper=fast`; either works with Hydra's other sweepers and launchers.
No torch here: Hydra imports every plugin module at start-up.
"""

from __future__ import annotations

import copy
import gc
import logging
import logging.config
from collections.abc import Callable, Sequence
from pathlib import Path

from hydra._internal.core_plugins.basic_sweeper import BasicSweeper
from hydra.core.utils import JobReturn, configure_log, filter_overrides, setup_globals
from hydra.plugins.launcher import Launcher
from hydra.types import HydraContext, TaskFunction
from omegaconf import DictConfig, OmegaConf, open_dict

from hydra_plugins.rnn_experiments_launcher.job_configs import JobConfigComposer
from hydra_plugins.rnn_experiments_launcher.job_runner import run_composed_job

log = logging.getLogger(__name__)


def launcher_logging(config: DictConfig) -> Callable[[], None]:
    """Hydra's `configure_log(hydra.hydra_logging, hydra.verbose)`, which launchers call again
    after every job. The sweep's config does not change between jobs, so without verbose
    logging its resolved form (~0.6 ms to resolve) is computed once; dictConfig gets a copy
    each time because it consumes the dict it is given."""
    verbose = config.hydra.verbose
    node = config.hydra.hydra_logging
    if verbose is not False or not isinstance(node, DictConfig):
        return lambda: configure_log(node, verbose)
    conf = OmegaConf.to_container(node, resolve=True)
    if conf["root"] is None:
        return lambda: None
    return lambda: logging.config.dictConfig(copy.deepcopy(conf))


class FastLauncher(Launcher):
    def __init__(self) -> None:
        super().__init__()
        self.config: DictConfig | None = None
        self.task_function: TaskFunction | None = None
        self.hydra_context: HydraContext | None = None
        self._composer: JobConfigComposer | None = None

    def setup(
        self,
        *,
        hydra_context: HydraContext,
        task_function: TaskFunction,
        config: DictConfig,
    ) -> None:
        self.config = config
        self.hydra_context = hydra_context
        self.task_function = task_function
        self._composer = None

    @property
    def composer(self) -> JobConfigComposer:
        """One composer per sweep, shared with FastSweeper's validation (and its cache)."""
        assert self.hydra_context is not None and self.config is not None
        if self._composer is None:
            self._composer = JobConfigComposer(self.hydra_context.config_loader, self.config)
        return self._composer

    def launch(
        self, job_overrides: Sequence[Sequence[str]], initial_job_idx: int
    ) -> Sequence[JobReturn]:
        setup_globals()
        assert self.hydra_context is not None
        assert self.config is not None
        assert self.task_function is not None

        restore_logging = launcher_logging(self.config)
        restore_logging()
        Path(str(self.config.hydra.sweep.dir)).mkdir(parents=True, exist_ok=True)
        log.info(f"Launching {len(job_overrides)} jobs locally")
        runs: list[JobReturn] = []
        for idx, overrides in enumerate(job_overrides, start=initial_job_idx):
            log.info(f"\t#{idx} : {' '.join(filter_overrides(overrides))}")
            job = self.composer.compose(overrides)
            with open_dict(job.config):
                job.config.hydra.job.id = idx
                job.config.hydra.job.num = idx
            ret = run_composed_job(
                hydra_context=self.hydra_context,
                task_function=self.task_function,
                config=job.config,
                task_config=job.task_config,
                job_dir_key="hydra.sweep.dir",
                job_subdir_key="hydra.sweep.subdir",
                shared=job.shared,
            )
            runs.append(ret)
            restore_logging()
            if idx == initial_job_idx:
                # Everything alive now (Hydra, the first job's imports: torch, numpy) stays for
                # the whole sweep; leave it out of the collector's full passes, which otherwise
                # rescan it every few jobs (2-3 ms a job measured here). Later jobs' garbage is
                # collected as usual.
                gc.freeze()
        composer = self.composer
        log.debug(
            f"Composed {composer.fast_jobs} job configs from cached bases,"
            f" {composer.full_jobs} in full"
        )
        return runs


class FastSweeper(BasicSweeper):
    def validate_batch_is_legal(self, batch: Sequence[Sequence[str]]) -> None:
        """Fail early, with Hydra's own error, on a job that cannot be composed."""
        assert self.hydra_context is not None and self.config is not None
        if isinstance(self.launcher, FastLauncher):
            composer = self.launcher.composer
        else:
            composer = JobConfigComposer(self.hydra_context.config_loader, self.config)
        for overrides in batch:
            composer.check(overrides)

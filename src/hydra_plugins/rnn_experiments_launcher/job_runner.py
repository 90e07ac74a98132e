"""Run one composed job in this process the way `hydra.core.utils.run_job` does, minus copies.

Same observable steps, in Hydra's order: HydraConfig set to the job's hydra node, output dir
resolved and created, working dir changed when `hydra.job.chdir` says so, per-job logging
configured, `.hydra/{config,hydra,overrides}.yaml` written, `hydra.job.env_set` applied around
the task, `on_job_start`/`on_job_end` callbacks with a filled `JobReturn`, the task's exception
captured as a FAILED return. What it skips: run_job's three deep copies of the hydra node (it
shares the job's node, which is already a private copy) and OmegaConf's pure-Python YAML
emitter (`dump_yaml` uses libyaml with OmegaConf's own string rules, byte-identical output).
Writes only inside the job's output dir.
"""

from __future__ import annotations

import copy
import logging.config
import os
from enum import Enum
from pathlib import Path
from typing import Any

import yaml
from hydra import version
from hydra._internal.deprecation_warning import deprecation_warning
from hydra.core.hydra_config import HydraConfig
from hydra.core.utils import (
    JobReturn,
    JobRuntime,
    JobStatus,
    _flush_loggers,
    configure_log,
    env_override,
)
from hydra.types import HydraContext, TaskFunction
from omegaconf import Container, DictConfig, OmegaConf, open_dict, read_write
from omegaconf._utils import OmegaConfDumper

try:
    _Emitter: Any = yaml.CDumper
except AttributeError:  # PyYAML built without libyaml
    _Emitter = yaml.Dumper


class _LibyamlOmegaConfDumper(_Emitter):  # type: ignore[misc, valid-type]
    """OmegaConf's YAML dumper (same representers and string quoting) on libyaml's emitter."""


_LibyamlOmegaConfDumper.add_representer(str, OmegaConfDumper.str_representer)


# Strings libyaml and PyYAML's Python emitter are known to write alike: short printable ASCII.
# (They differ on e.g. an empty mapping key, which only PyYAML writes as `? ''`, or a character
# outside the BMP, and long strings wrap.) Anything else is written by OmegaConf itself.
_MAX_PLAIN_STR = 64


def _plain_string(value: str) -> bool:
    return len(value) <= _MAX_PLAIN_STR and value.isascii() and value.isprintable()


def _emitters_agree(value: Any) -> bool:
    if isinstance(value, str):
        return _plain_string(value)  # the empty string included: both write ''
    if value is None or isinstance(value, (bool, int, float)):
        return True
    if isinstance(value, dict):
        return all(
            isinstance(k, str) and k != "" and _plain_string(k) and _emitters_agree(v)
            for k, v in value.items()
        )
    if isinstance(value, list):
        return all(_emitters_agree(v) for v in value)
    return False


def dump_yaml(config: Any) -> str:
    """The text `OmegaConf.to_yaml(config)` returns."""
    return dump_container(OmegaConf.to_container(config, resolve=False, enum_to_str=True))


def dump_container(container: Any) -> str:
    """The text `OmegaConf.to_yaml` returns for a config holding `container` (unresolved)."""
    if not _emitters_agree(container):
        return OmegaConf.to_yaml(container)
    return yaml.dump(
        container,
        Dumper=_LibyamlOmegaConfDumper,
        default_flow_style=False,
        allow_unicode=True,
        sort_keys=False,
    )


# The launcher sets these keys of the hydra node for each job; everything else in the hydra node
# of a job composed from a cached base is the base's own, unchanged (value overrides of hydra.*
# keys are composed in full), so its YAML text is written once per base and reused.
PER_JOB_KEYS = {
    "job": frozenset({"id", "num", "override_dirname"}),
    "runtime": frozenset({"output_dir"}),
    "overrides": frozenset({"task"}),
}


def _plain_value(node: Any) -> Any:
    if isinstance(node, Container):
        return OmegaConf.to_container(node, resolve=False, enum_to_str=True)
    value = node._value()
    return value.name if isinstance(value, Enum) else value


def _block(path: tuple[str, ...], node: Any) -> str:
    """YAML lines of the key at `path` under `hydra`, as they appear in the whole document."""
    tree: Any = _plain_value(node)
    for key in reversed(path):
        tree = {key: tree}
    return dump_container({"hydra": tree}).split("\n", len(path))[len(path)]


def dump_hydra_yaml(hydra_node: DictConfig, cache: dict[str, str] | None) -> str:
    """The text of `OmegaConf.to_yaml({"hydra": hydra_node})`, block by block.

    A block mapping's YAML is its keys' blocks one after another, so each key can be dumped
    alone. Blocks without a per-job key (PER_JOB_KEYS) come from `cache` when given, and are
    added to it; per-job keys are dumped afresh.
    """
    parts = ["hydra:\n"]
    for key in hydra_node:
        node = hydra_node._get_node(key)
        per_job = PER_JOB_KEYS.get(key)
        if per_job is None or not isinstance(node, DictConfig) or len(node) == 0:
            parts.append(_cached_block(cache, (key,), node, cacheable=per_job is None))
            continue
        parts.append(f"  {key}:\n")
        for sub in node:
            parts.append(
                _cached_block(cache, (key, sub), node._get_node(sub), cacheable=sub not in per_job)
            )
    return "".join(parts)


def _cached_block(
    cache: dict[str, str] | None, path: tuple[str, ...], node: Any, *, cacheable: bool
) -> str:
    if cache is None or not cacheable:
        return _block(path, node)
    name = ".".join(path)
    text = cache.get(name)
    if text is None:
        text = cache[name] = _block(path, node)
    return text


class SharedByBase:
    """What the jobs composed from one cached base share: their hydra.yaml blocks outside the
    per-job keys, and the unresolved job-logging config with the paths of its interpolations."""

    def __init__(self) -> None:
        self.hydra_yaml: dict[str, str] = {}
        self._job_logging: tuple[dict[str, Any], list[tuple[Any, ...]]] | None = None
        self._job_logging_known = False

    def job_logging_config(self, job_logging: Any) -> dict[str, Any] | None:
        """The job's resolved logging config, equal to `OmegaConf.to_container(job_logging,
        resolve=True)`, resolving only the interpolated leaves (a full resolve cost ~1 ms a
        job). None where that shortcut does not apply; the caller then resolves in full."""
        if not self._job_logging_known:
            self._job_logging_known = True
            self._job_logging = _logging_template(job_logging)
        if self._job_logging is None:
            return None
        template, paths = self._job_logging
        conf = copy.deepcopy(template)
        for path in paths:
            node, target = job_logging, conf
            for key in path[:-1]:
                node, target = node[key], target[key]
            value = node[path[-1]]  # resolved by OmegaConf, as to_container(resolve=True) does
            if not isinstance(value, (str, int, float, bool)) and value is not None:
                return None
            target[path[-1]] = value
        return conf


def _logging_template(job_logging: Any) -> tuple[dict[str, Any], list[tuple[Any, ...]]] | None:
    if not isinstance(job_logging, DictConfig):
        return None
    template = OmegaConf.to_container(job_logging, resolve=False, enum_to_str=True)
    paths: list[tuple[Any, ...]] = []

    def walk(value: Any, path: tuple[Any, ...]) -> bool:
        if isinstance(value, dict):
            return all(walk(v, (*path, k)) for k, v in value.items())
        if isinstance(value, list):
            return all(walk(v, (*path, i)) for i, v in enumerate(value))
        if isinstance(value, str) and "\\" in value:
            return False  # escapes: leave their reading to OmegaConf
        if isinstance(value, str) and "${" in value:
            paths.append(path)
        return True

    return (template, paths) if walk(template, ()) else None


def configure_job_logging(config: DictConfig, shared: SharedByBase | None) -> None:
    """Hydra's `configure_log(hydra.job_logging, hydra.verbose)`, cheaper for cached bases."""
    verbose = config.hydra.verbose
    conf = None
    if shared is not None and verbose is False:
        conf = shared.job_logging_config(config.hydra.job_logging)
    if conf is None:
        configure_log(config.hydra.job_logging, verbose)
    elif conf["root"] is not None:
        logging.config.dictConfig(conf)


def _write_text(path: Path, text: str) -> None:
    with open(path, "w", encoding="utf-8") as file:
        file.write(text)


def _hydra_view(config: DictConfig) -> DictConfig:
    """What HydraConfig.set_config builds ({"hydra": node}), sharing the node instead of copying.

    The node stays a child of `config`, so its interpolations resolve in the job's config.
    """
    OmegaConf.set_readonly(config.hydra, True)
    node = config._get_node("hydra")
    view = DictConfig(content={}, flags={"no_deepcopy_set_nodes": True})
    view["hydra"] = node
    view._set_flag("no_deepcopy_set_nodes", None)
    node._set_parent(config)
    return view


def run_composed_job(
    *,
    hydra_context: HydraContext,
    task_function: TaskFunction,
    config: DictConfig,
    task_config: DictConfig,
    job_dir_key: str,
    job_subdir_key: str | None,
    shared: SharedByBase | None = None,
    configure_logging: bool = True,
) -> JobReturn:
    """Run `task_function(task_config)` as Hydra's run_job would run it for `config`.

    `config` (with its hydra node) and `task_config` (the same without it) must belong to this
    job alone: they are changed and handed to the task and the callbacks without copying.
    `shared` holds what the jobs composed from one base share (hydra.yaml blocks, the logging
    template); None does everything afresh, as for a config composed in full.
    """
    callbacks = hydra_context.callbacks
    old_cwd = os.getcwd()
    hydra_config = HydraConfig.instance()
    orig_hydra_cfg = hydra_config.cfg
    view = _hydra_view(config)
    hydra_config.cfg = view  # type: ignore[assignment]

    output_dir = str(OmegaConf.select(config, job_dir_key))
    if job_subdir_key is not None:
        subdir = str(OmegaConf.select(config, job_subdir_key))
        output_dir = os.path.join(output_dir, subdir)
    with read_write(config.hydra.runtime), open_dict(config.hydra.runtime):
        config.hydra.runtime.output_dir = os.path.abspath(output_dir)

    chdir = None
    try:
        ret = JobReturn()
        ret.cfg = task_config
        ret.hydra_cfg = view
        overrides = OmegaConf.to_container(config.hydra.overrides.task)
        assert isinstance(overrides, list)
        ret.overrides = overrides
        Path(output_dir).mkdir(parents=True, exist_ok=True)

        chdir = config.hydra.job.chdir
        if chdir is None and version.base_at_least("1.2"):
            chdir = False
        if chdir is None:
            url = "https://hydra.cc/docs/1.2/upgrades/1.1_to_1.2/changes_to_job_working_dir/"
            deprecation_warning(
                message=(
                    "Future Hydra versions will no longer change working directory at job"
                    f" runtime by default.\nSee {url} for more information."
                ),
                stacklevel=2,
            )
            chdir = True
        if chdir:
            os.chdir(output_dir)
            ret.working_dir = output_dir
        else:
            ret.working_dir = os.getcwd()

        if configure_logging:
            configure_job_logging(config, shared)

        if config.hydra.output_subdir is not None:
            hydra_output = Path(config.hydra.runtime.output_dir) / Path(config.hydra.output_subdir)
            hydra_output.mkdir(parents=True, exist_ok=True)
            _write_text(hydra_output / "config.yaml", dump_yaml(task_config))
            hydra_yaml = dump_hydra_yaml(config.hydra, shared and shared.hydra_yaml)
            _write_text(hydra_output / "hydra.yaml", hydra_yaml)
            _write_text(hydra_output / "overrides.yaml", dump_container(overrides))

        env_set = OmegaConf.to_container(config.hydra.job.env_set, resolve=True)
        assert isinstance(env_set, dict)
        with env_override(env_set):
            callbacks.on_job_start(config=config, task_function=task_function)
            try:
                ret.return_value = task_function(task_config)
                ret.status = JobStatus.COMPLETED
            except Exception as e:
                ret.return_value = e
                ret.status = JobStatus.FAILED

        ret.task_name = JobRuntime.instance().get("name")
        _flush_loggers()
        callbacks.on_job_end(config=config, job_return=ret)
        return ret
    finally:
        hydra_config.cfg = orig_hydra_cfg
        if chdir:
            os.chdir(old_cwd)

"""Which Hydra plugin each launcher or sweeper choice needs, and a clear error when it is missing.

Hydra alone would answer a missing plugin with a list of the options it does have; this names
the pip package and the extra that brings it. Reads the command line only; imports no plugin.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence

from rnn_experiments.errors import UserError

# (config group, option) -> (pip distribution, module that provides it)
PLUGINS: dict[tuple[str, str], tuple[str, str]] = {
    ("hydra/launcher", "joblib"): ("hydra-joblib-launcher", "hydra_plugins.hydra_joblib_launcher"),
    ("hydra/launcher", "submitit_local"): (
        "hydra-submitit-launcher",
        "hydra_plugins.hydra_submitit_launcher",
    ),
    ("hydra/launcher", "submitit_slurm"): (
        "hydra-submitit-launcher",
        "hydra_plugins.hydra_submitit_launcher",
    ),
    ("hydra/launcher", "slurm"): (
        "hydra-submitit-launcher",
        "hydra_plugins.hydra_submitit_launcher",
    ),
    ("hydra/sweeper", "optuna"): ("hydra-optuna-sweeper", "hydra_plugins.hydra_optuna_sweeper"),
    ("hparams_search", "*"): ("hydra-optuna-sweeper", "hydra_plugins.hydra_optuna_sweeper"),
}


def is_installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def check_plugins(args: Sequence[str]) -> None:
    """Raise UserError if an override selects a launcher or sweeper whose plugin is missing."""
    for arg in args:
        key, sep, value = arg.lstrip("+~").partition("=")
        if not sep:
            continue
        needed = PLUGINS.get((key, value)) or PLUGINS.get((key, "*"))
        if needed is None:
            continue
        dist, module = needed
        if not is_installed(module):
            raise UserError(
                f"{key}={value} needs the Hydra plugin {dist}, which is not installed; "
                f"install it with: pip install {dist}  (or: pip install -e '.[sweep]')"
            )

"""Config nodes for the `fast` launcher and sweeper, stored where Hydra's defaults find them.

Hydra imports this module when it scans plugins; it imports only Hydra's ConfigStore. (No
`from __future__ import annotations`: Hydra's scanner runs the module before registering it in
sys.modules, where dataclasses would look string annotations up.)
"""

from dataclasses import dataclass
from typing import Dict, Optional  # noqa: UP035 -- OmegaConf reads these annotations

from hydra.core.config_store import ConfigStore


@dataclass
class FastLauncherConf:
    _target_: str = "hydra_plugins.rnn_experiments_launcher.fast_launcher.FastLauncher"


@dataclass
class FastSweeperConf:
    _target_: str = "hydra_plugins.rnn_experiments_launcher.fast_launcher.FastSweeper"
    # As for Hydra's basic sweeper: jobs per batch (None = all), and sweep params from config.
    max_batch_size: Optional[int] = None  # noqa: UP045
    params: Optional[Dict[str, str]] = None  # noqa: UP006, UP045


ConfigStore.instance().store(
    group="hydra/launcher", name="fast", node=FastLauncherConf, provider="rnn-experiments"
)
ConfigStore.instance().store(
    group="hydra/sweeper", name="fast", node=FastSweeperConf, provider="rnn-experiments"
)

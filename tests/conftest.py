"""Shared test helpers: compose the real config, run the real CLI in a subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hydra import compose, initialize_config_dir

from rnn_experiments.cli import CONF_DIR

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def pytest_configure(config: pytest.Config) -> None:
    # Tests that call torch directly get what runs get from `num_threads: 1` (see schema.py).
    import torch

    torch.set_num_threads(1)


def compose_config(*overrides: str) -> Any:
    """The project's real config, composed through Hydra with `overrides`."""
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        return compose(config_name="config", overrides=list(overrides))


def run_cli(
    *args: str, cwd: Path, command: str = "rnn-exp", check: int | None = 0
) -> subprocess.CompletedProcess[str]:
    """Run a console script of this project in a subprocess; assert its exit status."""
    # Tests see what a user sees: no HYDRA_FULL_ERROR stack traces.
    env = {k: v for k, v in os.environ.items() if k != "HYDRA_FULL_ERROR"}
    done = subprocess.run(
        [str(BIN / command), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=600
    )
    if check is not None:
        assert done.returncode == check, (
            f"{command} {' '.join(args)} exited {done.returncode}\n"
            f"--- stdout\n{done.stdout}\n--- stderr\n{done.stderr}"
        )
    return done


def read_json(path: Path) -> dict[str, Any]:
    return json.loads(Path(path).read_text(encoding="utf-8"))


@pytest.fixture
def compose_cfg():
    return compose_config

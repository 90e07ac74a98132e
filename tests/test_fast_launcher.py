"""The `fast` launcher and sweeper against Hydra's own launcher test suites, and against plain
Hydra on a real project sweep: same .hydra files, same results, failures still reported."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from hydra import compose, initialize_config_dir
from hydra import version as hydra_version
from hydra.core.plugins import Plugins
from hydra.plugins.launcher import Launcher
from hydra.plugins.sweeper import Sweeper
from hydra.test_utils.launcher_common_tests import IntegrationTestSuite, LauncherTestSuite
from hydra.version import VersionBase
from hypothesis import given, settings
from hypothesis import strategies as st
from omegaconf import OmegaConf, open_dict

from hydra_plugins.rnn_experiments_launcher.fast_launcher import FastLauncher, FastSweeper
from hydra_plugins.rnn_experiments_launcher.job_runner import (
    PER_JOB_KEYS,
    SharedByBase,
    dump_hydra_yaml,
    dump_yaml,
)
from rnn_experiments.cli import CONF_DIR
from tests.conftest import read_json, run_cli


def test_plugins_are_discovered() -> None:
    assert FastLauncher.__name__ in [p.__name__ for p in Plugins.instance().discover(Launcher)]
    assert FastSweeper.__name__ in [p.__name__ for p in Plugins.instance().discover(Sweeper)]


@pytest.fixture
def fresh_hydra_version_base():
    """Hydra's version base as in a fresh process: the suites' apps set none, and importing
    rnn_experiments.cli (conftest does) set 1.3 for this whole process."""
    base = VersionBase.instance()
    previous = base.version_base
    base.version_base = hydra_version._UNSPECIFIED_
    yield
    base.version_base = previous


# Hydra's suites: the fast launcher alone (basic sweeper), and with the fast sweeper.
@pytest.mark.usefixtures("fresh_hydra_version_base")
@pytest.mark.parametrize(
    "launcher_name, overrides",
    [
        ("fast", []),
        ("fast", ["hydra/sweeper=fast"]),
    ],
    ids=["fast-launcher", "fast-launcher-and-sweeper"],
)
class TestFastLauncher(LauncherTestSuite):
    pass


@pytest.mark.usefixtures("fresh_hydra_version_base")
@pytest.mark.parametrize(
    "task_launcher_cfg, extra_flags",
    [
        (
            {
                "defaults": [
                    {"override hydra/launcher": "fast"},
                    {"override hydra/sweeper": "fast"},
                    "_self_",
                ]
            },
            ["-m"],
        )
    ],
)
class TestFastLauncherIntegration(IntegrationTestSuite):
    pass


yaml_scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text().filter(lambda s: "$" not in s)  # "${" would be an interpolation
    | st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=70).filter(
        lambda s: "$" not in s
    )
    | st.sampled_from(["yes", "off", "1e3", "0x1f", "1_000", "1:20", ".inf", "null", "~", ""])
)
yaml_trees = st.recursive(
    yaml_scalars,
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.text() | st.from_regex(r"[a-z_][a-z0-9_.-]{0,10}", fullmatch=True), children
        )
    ),
    max_leaves=12,
)


@settings(max_examples=500, deadline=None)
@given(st.dictionaries(st.text(), yaml_trees, max_size=5))
def test_dump_yaml_matches_omegaconf_to_yaml(tree: dict[str, Any]) -> None:
    config = OmegaConf.create(tree)
    assert dump_yaml(config) == OmegaConf.to_yaml(config)


SWEEP = ["model.hidden_size=1,3", "model=rnn,gru", "+data.extra=7", "++seed=3"]
# Values that legitimately differ between two sweeps: where and when, and which plugin ran.
RUN_SPECIFIC_HYDRA_KEYS = [
    ("sweep", "dir"),
    ("launcher",),
    ("sweeper",),
    ("runtime", "output_dir"),
    ("runtime", "cwd"),
    ("overrides", "hydra"),
    ("runtime", "choices", "hydra/launcher"),
    ("runtime", "choices", "hydra/sweeper"),
]


def comparable_hydra_yaml(path: Path) -> dict[str, Any]:
    hydra = yaml.safe_load(path.read_text(encoding="utf-8"))["hydra"]
    for keys in RUN_SPECIFIC_HYDRA_KEYS:
        node = hydra
        for key in keys[:-1]:
            node = node[key]
        node.pop(keys[-1])
    return hydra


def comparable_results(path: Path) -> dict[str, Any]:
    results = read_json(path)
    prov = results["provenance"]
    for key in ("run_dir", "start_time", "end_time", "duration_s"):
        prov.pop(key)
    return results


def test_project_sweep_writes_what_plain_hydra_writes(tmp_path: Path) -> None:
    fast, basic = tmp_path / "fast", tmp_path / "basic"
    run_cli("-m", *SWEEP, f"hydra.sweep.dir={fast}", cwd=tmp_path)
    run_cli(
        "-m",
        *SWEEP,
        f"hydra.sweep.dir={basic}",
        "hydra/launcher=basic",
        "hydra/sweeper=basic",
        cwd=tmp_path,
    )
    fast_jobs = sorted(p.name for p in fast.iterdir() if p.is_dir())
    assert fast_jobs == sorted(p.name for p in basic.iterdir() if p.is_dir())
    assert fast_jobs == ["0", "1", "2", "3"]
    for job in fast_jobs:
        for name in ("config.yaml", "overrides.yaml"):
            fast_bytes = (fast / job / ".hydra" / name).read_bytes()
            assert fast_bytes == (basic / job / ".hydra" / name).read_bytes(), (job, name)
        fast_hydra = comparable_hydra_yaml(fast / job / ".hydra" / "hydra.yaml")
        assert fast_hydra == comparable_hydra_yaml(basic / job / ".hydra" / "hydra.yaml")
        assert fast_hydra["job"]["num"] == int(job)
        assert (fast / job / "rnn-exp.log").read_text().strip()
        results = comparable_results(fast / job / "results.json")
        assert results["status"] == "completed"
        assert results == comparable_results(basic / job / "results.json")
    # The sweep really varied: job 3 is model=gru with hidden_size=3, data.extra added.
    config = yaml.safe_load((fast / "3" / ".hydra" / "config.yaml").read_text())
    assert config["model"]["cell"] == "gru" and config["model"]["hidden_size"] == 3
    assert config["data"]["extra"] == 7 and config["seed"] == 3


def test_failed_job_is_reported_and_the_others_complete(tmp_path: Path) -> None:
    sweep = tmp_path / "sweep"
    done = run_cli("-m", "model.hidden_size=0,2", f"hydra.sweep.dir={sweep}", cwd=tmp_path, check=1)
    assert read_json(sweep / "0" / "results.json")["status"] == "failed"
    assert read_json(sweep / "1" / "results.json")["status"] == "completed"
    assert "1 job(s) failed: 0 (UserError: model.hidden_size" in done.stderr


COLD_START = """
import sys
from rnn_experiments.cli import main
sys.argv = ["rnn-exp", *sys.argv[1:]]
try:
    main()
except SystemExit as exit:
    assert not exit.code, exit.code
print(json.dumps(sorted(m for m in sys.modules if m == "torch" or m.startswith("torch."))))
"""


@pytest.mark.parametrize("args", [["--help"], ["--cfg", "job"]])
def test_help_and_cfg_import_no_torch(tmp_path: Path, args: list[str]) -> None:
    done = subprocess.run(
        [sys.executable, "-c", "import json\n" + COLD_START, *args],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.strip().splitlines()[-1]) == []


@pytest.mark.parametrize(
    "overrides",
    [[], ["hydra/launcher=joblib"], ["experiment=hihello", "+hydra.job.env_set.A=1"]],
)
def test_hydra_yaml_by_sections_equals_omegaconf(overrides: list[str]) -> None:
    """hydra.yaml written section by section (cached or not) is OmegaConf's text, byte for byte."""
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        config = compose("config", overrides, return_hydra_config=True)
    expected = OmegaConf.to_yaml({"hydra": config.hydra})
    cache: dict[str, str] = {}
    assert dump_hydra_yaml(config.hydra, None) == expected
    assert dump_hydra_yaml(config.hydra, cache) == expected
    shared = set(config.hydra) - set(PER_JOB_KEYS)
    assert shared < set(cache) and "runtime.choices" in cache and "job.num" not in cache
    assert dump_hydra_yaml(config.hydra, cache) == expected


def test_job_logging_from_the_base_template_equals_omegaconf_resolving(tmp_path: Path) -> None:
    """The per-job logging config, resolved leaf by leaf, is what to_container(resolve) gives."""
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        config = compose("config", [], return_hydra_config=True)
    shared = SharedByBase()
    for job in ("0", "1"):
        with open_dict(config):
            config.hydra.runtime.output_dir = str(tmp_path / job)
        expected = OmegaConf.to_container(config.hydra.job_logging, resolve=True)
        assert shared.job_logging_config(config.hydra.job_logging) == expected
        assert expected["handlers"]["file"]["filename"] == str(tmp_path / job / "rnn-exp.log")

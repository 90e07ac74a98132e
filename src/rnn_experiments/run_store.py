"""What a run leaves on disk: results.json, written atomically, with provenance.

Every file this project writes goes through `write_bytes_atomic` (temp file in the same
directory, fsync, rename), so a reader sees either the old file or the whole new one.
This module imports neither torch nor Hydra.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import platform
import socket
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any

RESULTS_FILE = "results.json"
# Hydra records a sweep (its config and overrides) in this file of the sweep dir,
MULTIRUN_FILE = "multirun.yaml"
# and each job's config, hydra config and overrides in this folder of its run dir.
HYDRA_DIR = ".hydra"
RESULTS_SCHEMA_VERSION = 1


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_UMASK = _current_umask()


def write_bytes_atomic(path: str | os.PathLike[str], data: bytes) -> None:
    """Write `data` to `path` so that no reader ever sees a partial file."""
    path = Path(path)
    if not path.parent.is_dir():  # a stat, cheaper than mkdir's failed attempt on most runs
        path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        # mkstemp makes the file private (0600); results are meant to be read like any file.
        os.fchmod(fd, 0o666 & ~_UMASK)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_text_atomic(path: str | os.PathLike[str], text: str) -> None:
    write_bytes_atomic(path, text.encode("utf-8"))


def write_json_atomic(path: str | os.PathLike[str], obj: Any) -> None:
    write_text_atomic(path, json.dumps(obj, indent=2, sort_keys=False, allow_nan=True) + "\n")


def config_hash(config: Mapping[str, Any]) -> str:
    """A stable hash of a resolved job config (plain containers): same values, same hash."""
    canonical = json.dumps(config, sort_keys=True, separators=(",", ":"), default=str)
    return "sha256:" + hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="microseconds")


@functools.lru_cache(maxsize=1)
def package_versions() -> dict[str, str | None]:
    def version(dist: str) -> str | None:
        try:
            return metadata.version(dist)
        except metadata.PackageNotFoundError:
            return None

    return {
        "python": platform.python_version(),
        "torch": version("torch"),
        "numpy": version("numpy"),
        "hydra-core": version("hydra-core"),
        "omegaconf": version("omegaconf"),
        "rnn-experiments": version("rnn-experiments"),
    }


@functools.lru_cache(maxsize=1)
def code_version() -> dict[str, Any]:
    """Git commit and dirty flag of the checkout this package runs from (None outside one)."""
    here = Path(__file__).resolve().parent

    def git(*args: str) -> str | None:
        try:
            done = subprocess.run(
                ["git", "-C", str(here), *args], capture_output=True, text=True, timeout=10
            )
        except (OSError, subprocess.TimeoutExpired):
            return None
        return done.stdout if done.returncode == 0 else None

    commit = git("rev-parse", "HEAD")
    if commit is None:
        return {"git_commit": None, "git_dirty": None}
    status = git("status", "--porcelain")
    return {"git_commit": commit.strip(), "git_dirty": bool(status and status.strip())}


def platform_info() -> dict[str, str]:
    return {
        "host": socket.gethostname(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "executable": sys.executable,
    }


def write_results(run_dir: str | os.PathLike[str], results: Mapping[str, Any]) -> Path:
    path = Path(run_dir) / RESULTS_FILE
    write_json_atomic(path, results)
    return path


def read_results(run_dir: str | os.PathLike[str]) -> dict[str, Any]:
    with open(Path(run_dir) / RESULTS_FILE, encoding="utf-8") as f:
        return json.load(f)

"""Time the framework's train task against a bare hand-written torch loop on the longseq preset.

Both train the same network (2-layer RNN, hidden 25, linear head) on the same windows with the
same seed and epochs, in this one process, interleaved, `--repeats` times each; the script
prints best and median seconds and the ratios (target: the train task within 1.10x of the bare
loop). The framework's time includes what it does beyond the loop: encoding, per-epoch
predictions and accuracy, metrics.csv and model.pt. Both end on the same last-epoch loss, which
shows they did the same work.

    .venv/bin/python benchmarks/train_overhead.py [--repeats 7] [--threads 1]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable

import torch
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf
from torch import nn

from rnn_experiments.cli import CONF_DIR
from rnn_experiments.runner import execute_run, seed_everything
from rnn_experiments.training import run_train


def bare_loop(sentence: str, window: int, epochs: int, lr: float, seed: int) -> float:
    """The lesson's loop written by hand: no framework, no records. Returns the last loss."""
    chars = sorted(set(sentence))
    index = {c: i for i, c in enumerate(chars)}
    starts = range(len(sentence) - window)
    x_codes = torch.tensor([[index[c] for c in sentence[i : i + window]] for i in starts])
    y = torch.tensor([[index[c] for c in sentence[i + 1 : i + window + 1]] for i in starts])
    x = torch.eye(len(chars))[x_codes]
    seed_everything(seed)
    rnn = nn.RNN(len(chars), len(chars), num_layers=2, batch_first=True)
    fc = nn.Linear(len(chars), len(chars))
    optimizer = torch.optim.Adam([*rnn.parameters(), *fc.parameters()], lr=lr)
    loss_fn = nn.CrossEntropyLoss()
    for _ in range(epochs):
        optimizer.zero_grad()
        output, _ = rnn(x)
        loss = loss_fn(fc(output).reshape(-1, len(chars)), y.reshape(-1))
        loss.backward()
        optimizer.step()
    return float(loss.detach())


def timed(fn: Callable[[], float]) -> tuple[float, float]:
    t0 = time.perf_counter()
    value = fn()
    return time.perf_counter() - t0, value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads (both)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        cfg = compose(config_name="config", overrides=["experiment=longseq"])
    config = OmegaConf.to_container(cfg, resolve=True)
    sentence, window = cfg.data.words[0], cfg.data.window

    def framework_task() -> float:
        with tempfile.TemporaryDirectory() as run_dir:
            seed_everything(cfg.seed)
            return run_train(cfg, run_dir)["metrics"]["last_epoch_loss"]

    def framework_run() -> float:
        with tempfile.TemporaryDirectory() as run_dir:
            return execute_run(config, run_dir)["metrics"]["last_epoch_loss"]

    def bare() -> float:
        return bare_loop(sentence, window, cfg.task.epochs, cfg.task.lr, cfg.seed)

    ways = {"bare torch loop": bare, "train task": framework_task, "full run": framework_run}
    for fn in ways.values():  # warm-up: first-call allocations and lazy imports
        fn()
    times: dict[str, list[float]] = {name: [] for name in ways}
    losses: dict[str, float] = {}
    for _ in range(args.repeats):
        for name, fn in ways.items():
            seconds, losses[name] = timed(fn)
            times[name].append(seconds)

    print(
        f"longseq: {len(sentence) - window} windows x {window} chars, {cfg.task.epochs} epochs, "
        f"{args.repeats} repeats, torch threads {torch.get_num_threads()}"
    )
    base = times["bare torch loop"]
    base_best, base_median = min(base), statistics.median(base)
    print(
        f"{'':<16}{'best s':>9}{'median s':>10}{'best x':>8}{'median x':>10}"
        f"{'paired x':>10}  last loss"
    )
    for name, ts in times.items():
        best, median = min(ts), statistics.median(ts)
        # Each repeat runs every way back to back: the median of those same-moment ratios is the
        # figure least moved by this machine's drifting speed.
        paired = statistics.median(t / b for t, b in zip(ts, base, strict=True))
        print(
            f"{name:<16}{best:>9.3f}{median:>10.3f}{best / base_best:>8.3f}"
            f"{median / base_median:>10.3f}{paired:>10.3f}  {losses[name]:.6f}"
        )
    same = len(set(losses.values())) == 1
    print(f"same last loss everywhere: {same}  (target: train task within 1.10x of the bare loop)")


if __name__ == "__main__":
    main()

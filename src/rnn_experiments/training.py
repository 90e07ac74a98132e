"""The train task: next-character training with cross-entropy, per-epoch metrics, saved weights.

Encodes the words into training pairs (`encoding`), builds a `model.CharRNN`, trains it, and
writes metrics.csv and model.pt into the run dir through run_store's atomic writers; the
runner writes results.json from what `run_train` returns. Nothing here knows Hydra.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

import numpy as np
import torch
from torch import nn

from rnn_experiments import run_store
from rnn_experiments.encoding import check_words, encode_padded_words, next_char_pairs, pad_codes
from rnn_experiments.model import TORCH_DTYPES, CharRNN, resolve_device

log = logging.getLogger("rnn_experiments")

METRICS_FILE = "metrics.csv"
MODEL_FILE = "model.pt"
# Target code of padded steps: cross-entropy skips it, accuracy does not count it.
IGNORE_INDEX = -100


@dataclass
class TrainingData:
    inputs: list[str]
    targets: list[str]
    x: torch.Tensor  # one-hot inputs, laid out as the model expects
    y: torch.Tensor  # target codes (batch, seq), IGNORE_INDEX after each sequence's end
    lengths: torch.Tensor | None  # CPU int64 lengths when data.padding=pack, else None


def build_training_data(cfg: Any, device: torch.device) -> TrainingData:
    """The configured words as next-character pairs, encoded and padded to the longest."""
    words, vocab = list(cfg.data.words), list(cfg.data.vocab)
    window = cfg.data.window
    index = check_words(words, vocab, ragged=window is not None or cfg.data.padding != "none")
    # Windows all share one length, so only whole words need padding to be ragged.
    inputs, targets = next_char_pairs(words, window)
    x_np, lengths = encode_padded_words(
        inputs, vocab, batch_major=cfg.model.batch_first, dtype=cfg.dtype
    )
    y_np, _ = pad_codes(targets, index, fill=IGNORE_INDEX)
    return TrainingData(
        inputs=inputs,
        targets=targets,
        x=torch.from_numpy(x_np).to(device),
        y=torch.from_numpy(y_np).to(device),
        lengths=torch.from_numpy(lengths) if cfg.data.padding == "pack" else None,
    )


def build_optimizer(task: Any, params: Any) -> torch.optim.Optimizer:
    if task.optimizer == "sgd":
        return torch.optim.SGD(
            params, lr=task.lr, momentum=task.momentum, weight_decay=task.weight_decay
        )
    return torch.optim.Adam(params, lr=task.lr, weight_decay=task.weight_decay)


def decode(codes: np.ndarray, lengths: list[int], vocab: list[str]) -> list[str]:
    """Predicted codes (..., seq) to one string per sequence, over its valid steps (`lengths`
    per sequence of the last axis but one); the leading axes are flattened."""
    seq = codes.shape[-1]
    flat = codes.reshape(-1, seq)
    counts = lengths * (len(flat) // len(lengths))
    if all(len(token) == 1 for token in vocab):
        # Single characters: join each row inside numpy by viewing seq x U1 as one U<seq>
        # string; Python-level joins of 17,000 longseq rows cost 10-40 ms per run.
        chars = np.asarray(vocab, dtype="<U1")[flat]
        words = np.ascontiguousarray(chars).view(f"<U{seq}").ravel().tolist()
        return [w[:n] if n < seq else w for w, n in zip(words, counts, strict=True)]
    rows = np.asarray(vocab, dtype=object)[flat].tolist()
    return ["".join(row[:n]) for row, n in zip(rows, counts, strict=True)]


def reconstruct_text(predictions: list[str]) -> str:
    """Sliding-window predictions back to one text: the first window, then each last char."""
    return predictions[0] + "".join(p[-1] for p in predictions[1:])


class EpochProgress:
    """A progress bar when `stream` is a terminal; otherwise a log line every `log_every`."""

    def __init__(self, epochs: int, log_every: int, stream: TextIO | None = None) -> None:
        self.epochs, self.log_every = epochs, log_every
        stream = sys.stderr if stream is None else stream
        self.bar = None
        if stream.isatty():
            from tqdm import tqdm

            self.bar = tqdm(total=epochs, file=stream, desc="train", unit="epoch")

    def update(self, epoch: int, loss: torch.Tensor) -> None:
        if self.bar is not None:
            self.bar.update(1)
            self.bar.set_postfix(loss=f"{float(loss):.4f}", refresh=False)
        elif epoch == self.epochs or (self.log_every and epoch % self.log_every == 0):
            log.info("epoch %d/%d loss %.6f", epoch, self.epochs, float(loss))

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def metrics_csv(losses: list[float], accuracies: list[float], predictions: list[list[str]]) -> str:
    """One row per epoch; `prediction` is a JSON list with one string per sequence."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["epoch", "loss", "accuracy", "prediction"])
    for epoch, (loss, acc, pred) in enumerate(zip(losses, accuracies, predictions, strict=True)):
        writer.writerow([epoch + 1, repr(loss), repr(acc), json.dumps(pred, ensure_ascii=False)])
    return out.getvalue()


def save_state_dict(path: Path, model: nn.Module) -> None:
    buffer = io.BytesIO()
    torch.save(model.state_dict(), buffer)
    run_store.write_bytes_atomic(path, buffer.getvalue())


def run_train(cfg: Any, run_dir: Path, progress_stream: TextIO | None = None) -> dict[str, Any]:
    """Train on next-character targets; write metrics.csv and model.pt; return results fields.

    metrics.csv row N holds epoch N's training pass (before its update); results' `metrics`
    evaluate the trained weights saved in model.pt.
    """
    run_dir = Path(run_dir)
    task, vocab = cfg.task, list(cfg.data.vocab)
    device = resolve_device(cfg.device)
    # The model is built first, straight after the runner seeded torch: its initial weights
    # depend on nothing else.
    model = CharRNN(cfg.model, len(vocab)).to(device=device, dtype=TORCH_DTYPES[cfg.dtype])
    data = build_training_data(cfg, device)
    optimizer = build_optimizer(task, model.parameters())
    loss_fn = nn.CrossEntropyLoss(ignore_index=IGNORE_INDEX)
    batch_first = cfg.model.batch_first

    def logits_of(x: torch.Tensor) -> torch.Tensor:
        logits = model(x, data.lengths)
        return logits if batch_first else logits.transpose(0, 1)  # (batch, seq, vocab)

    # Per-epoch values stay tensors until the end: no conversions inside the loop.
    losses: list[torch.Tensor] = []
    predicted: list[torch.Tensor] = []
    progress = EpochProgress(task.epochs, task.log_every, progress_stream)
    model.train()
    try:
        for epoch in range(1, task.epochs + 1):
            optimizer.zero_grad()
            logits = logits_of(data.x)
            loss = loss_fn(logits.reshape(-1, len(vocab)), data.y.reshape(-1))
            loss.backward()
            if task.grad_clip is not None:
                nn.utils.clip_grad_norm_(model.parameters(), task.grad_clip)
            optimizer.step()
            losses.append(loss.detach())
            predicted.append(logits.detach().argmax(dim=-1))
            progress.update(epoch, loss.detach())
    finally:
        progress.close()

    model.eval()
    with torch.no_grad():
        logits = logits_of(data.x)
        final_loss = float(loss_fn(logits.reshape(-1, len(vocab)), data.y.reshape(-1)))
        final_codes = logits.argmax(dim=-1)

    valid = data.y != IGNORE_INDEX
    n_valid = int(valid.sum())
    lengths = [len(s) for s in data.inputs]
    history = torch.stack(predicted)  # (epochs, batch, seq)
    accuracies = ((history == data.y) & valid).sum(dim=(1, 2)).double() / n_valid
    per_epoch = decode(history.cpu().numpy(), lengths, vocab)
    batch = len(lengths)
    predictions = [per_epoch[i : i + batch] for i in range(0, len(per_epoch), batch)]
    prediction = decode(final_codes.cpu().numpy(), lengths, vocab)
    accuracy = float(((final_codes == data.y) & valid).sum()) / n_valid

    run_store.write_text_atomic(
        run_dir / METRICS_FILE,
        metrics_csv([float(v) for v in losses], accuracies.tolist(), predictions),
    )
    save_state_dict(run_dir / MODEL_FILE, model)

    metrics: dict[str, Any] = {
        "final_loss": final_loss,
        "accuracy": accuracy,
        "prediction": prediction,
        "target": data.targets,
        "epochs": task.epochs,
        "last_epoch_loss": float(losses[-1]),
    }
    if cfg.data.window is not None:
        metrics["reconstructed"] = reconstruct_text(prediction)
        metrics["reconstructed_target"] = reconstruct_text(data.targets)

    seq_axes = ["batch", "seq"] if batch_first else ["seq", "batch"]
    results: dict[str, Any] = {
        "input_layout": "batch_major" if batch_first else "seq_major",
        "batch_size": len(data.inputs),
        "seq_len": max(lengths),
        "shapes": {
            "input": list(data.x.shape),
            "logits": list(logits.shape if batch_first else logits.transpose(0, 1).shape),
            "targets": list(data.y.shape),
            "axes": {
                "input": [*seq_axes, "feature"],
                "logits": [*seq_axes, "vocab"],
                "targets": ["batch", "seq"],
            },
        },
        "metrics": metrics,
        "files": {"metrics": METRICS_FILE, "model": MODEL_FILE},
    }
    if cfg.data.padding != "none":
        results["lengths"] = lengths
    return results

"""The training engine: a plain loop (``train_one_epoch``, ``evaluate``) driven by ``fit``.

``fit`` trains any subset of a prepared dataset (official split, k-fold folds, ...) and writes a
run directory (names: :class:`aiducation.rundir.RunDir`)::

    config.json           TrainConfig + data description
    log.csv               one row per epoch (losses, val metrics, learning rate, seconds)
    checkpoints/best/     model chosen on validation (safetensors + model.json)
    checkpoints/last/     model after the latest epoch
    checkpoints/resume/   optimizer + model + history, for bit-exact resumption

Randomness is a function of (seed, epoch): each epoch reseeds dropout and uses its own generator
for shuffling and augmentation, so a run resumed from epoch k repeats the uninterrupted run.

The images, targets, model and augmentation live on ``config.device`` (see
:mod:`aiducation.devices`). On the CPU one generator draws the order and the augmentation; on a
GPU the order still comes from a CPU generator and the augmentation from one on the GPU, both
seeded by (seed, epoch). Checkpoints and resume states are saved from CPU copies.
"""

from __future__ import annotations

import json
import time
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from aiducation.atomic import write_json
from aiducation.data.augment import augment_batch
from aiducation.data.dataset import PreparedDataset
from aiducation.devices import describe_device, make_deterministic, resolve_device
from aiducation.metrics import LOGGED_METRICS
from aiducation.models import count_parameters, create_model, has_aux_head
from aiducation.models.checkpoint import Checkpoint, save_checkpoint, warm_start
from aiducation.models.predict import classify_batches, to_batch
from aiducation.rundir import RunDir
from aiducation.training.callbacks import (
    Callback,
    Checkpointer,
    CSVLogger,
    EarlyStopping,
    ProgressBar,
    best_epoch,
)
from aiducation.training.config import TrainConfig
from aiducation.training.evaluation import score
from aiducation.training.losses import model_loss
from aiducation.training.optim import build_optimizer, lr_at, use_bf16
from aiducation.training.state import has_state, load_state, save_state
from aiducation.training.targets import vote_shares
from aiducation.training.trainset import model_classes, training_rows


def epoch_seed(seed: int, epoch: int) -> int:
    return (seed * 1_000_003 + epoch) % 2**63


@dataclass
class FitResult:
    run_dir: Path
    best_epoch: int
    best_checkpoint: Path
    history: list[dict]
    val_metrics: dict  # the best epoch's validation metrics (as logged: loss, accuracy, ...)
    stop_reason: str
    elapsed_s: float = 0.0


class Learner:
    """State of one training run; the loop functions below read and update it."""

    def __init__(
        self,
        config: TrainConfig,
        dataset: PreparedDataset,
        train_idx: np.ndarray,
        val_idx: np.ndarray,
        run_dir: Path,
        sample_weights: np.ndarray | None = None,
        sampler_weights: np.ndarray | None = None,
        callbacks: list[Callback] | None = None,
        exclude_groups: np.ndarray | None = None,
        resuming: bool = False,
        warm_source: Checkpoint | None = None,
    ) -> None:
        self.config, self.run_dir = config, Path(run_dir)
        self.files = RunDir(self.run_dir)
        self.device = resolve_device(config.device)
        make_deterministic(self.device)
        self.scheme_classes = dataset.classes  # what validation scores (labelled faces)
        self.classes = model_classes(config, dataset)  # the model's outputs
        self.val_idx = np.asarray(val_idx, np.int64)
        self.sample_weights = _weights(sample_weights, len(train_idx), "sample_weights")
        self.sampler_weights = _weights(sampler_weights, len(train_idx), "sampler_weights")
        rows = training_rows(config, dataset, train_idx, exclude_groups=exclude_groups)
        self.train_idx, self.n_unlabelled, self.labels = (
            rows.train_idx,
            rows.n_unlabelled,
            rows.labels,
        )
        # unlabelled faces that joined the labelled ones: group unknown, weight 1
        self.sample_weights = _with_ones(self.sample_weights, rows.n_unlabelled)
        self.sampler_weights = _with_ones(self.sampler_weights, rows.n_unlabelled)
        if self.sample_weights is not None:
            self.sample_weights /= self.sample_weights.mean()
        on_device = self._on_device
        self.images = on_device(rows.images)
        self.targets = on_device(rows.targets).float()
        self.label_ids = on_device(rows.labels)
        self.train_rows = on_device(self.train_idx)
        self.vote_shares = on_device(vote_shares(rows.votes)).float() if config.aux_weight else None
        if self.sample_weights is not None:
            self.sample_weights = self.sample_weights.to(self.device)
        self.bf16 = use_bf16(config, self.device)
        self.arch_kwargs = {"num_classes": len(self.classes), **config.model_kwargs}
        if config.aux_weight:
            self.arch_kwargs["aux_classes"] = self.vote_shares.shape[1]
        if config.aux_weight and not has_aux_head(config.model):
            raise ValueError(
                f"aux_weight needs a model with an auxiliary head; {config.model} has none"
            )
        torch.manual_seed(config.seed)
        self.model = create_model(config.model, **self.arch_kwargs)
        if config.init_from and resuming:  # the resume state holds the weights: the warm
            #   start's source is not needed any more (it may be gone)
            saved = json.loads(self.files.config.read_text())
            self.fresh_layers = list(saved.get("warm_start_fresh_layers", []))
        elif config.init_from:  # ``warm_source``: init_from already loaded by the caller
            self.fresh_layers = warm_start(
                self.model, config.model, self.arch_kwargs, warm_source or config.init_from
            )
        else:
            self.fresh_layers = []
        self.model = self.model.to(self.device)
        if config.channels_last:
            self.model = self.model.to(memory_format=torch.channels_last)
        self.optimizer = build_optimizer(self.model, config)
        self.steps_per_epoch = -(-len(self.train_idx) // config.batch_size)
        self.epoch = 0  # completed epochs
        self.history: list[dict] = []
        self.stop_reason = ""
        self.callbacks = list(callbacks or [])

    def _on_device(self, array: np.ndarray) -> torch.Tensor:
        """``array`` (copied only when read-only or not contiguous) as a tensor on the device."""
        return torch.from_numpy(np.require(array, requirements="CW")).to(self.device)

    def emit(self, event: str, *args) -> None:
        for callback in self.callbacks:
            getattr(callback, event)(self, *args)

    # ----- persistence -----
    def describe(self) -> dict:
        warm = {"warm_start_fresh_layers": self.fresh_layers} if self.config.init_from else {}
        return {
            "train": TrainConfig.to_dict(self.config),
            "classes": self.classes,
            "n_train": len(self.train_idx) - self.n_unlabelled,
            "n_train_unlabelled": self.n_unlabelled,
            "n_val": len(self.val_idx),
            "parameters": count_parameters(self.model),
            "device": describe_device(self.device),
            "bf16": self.bf16,
            "torch": torch.__version__,
            "threads": torch.get_num_threads(),
            **warm,
        }

    def save_model(self, name: str) -> Path:
        row = self.history[-1] if self.history else {}
        return save_checkpoint(
            self.files.checkpoint(name),
            self.model,
            arch=self.config.model,
            arch_kwargs=self.arch_kwargs,
            classes=self.classes,
            normalization="inside the model (Normalize layer); input float in [0, 1]",
            epoch=self.epoch,
            metrics=row,
            train_config=self.config.to_dict(),
        )

    def save_resume_state(self) -> None:
        save_state(
            self.files.checkpoint("resume"),
            {
                "epoch": self.epoch,
                "model": self.model.state_dict(),
                "optimizer": self.optimizer.state_dict(),
                "history": self.history,
                "config": self.config.to_dict(),
                "subset": _subset_fingerprint(self.train_idx, self.val_idx),
            },
        )

    def load_resume_state(self) -> bool:
        directory = self.files.checkpoint("resume")
        if not has_state(directory):
            return False
        state = load_state(directory)
        if not self.config.same_run(state["config"]):  # the device may differ
            raise ValueError(f"{directory}: saved config differs from this run's config")
        if state["subset"] != _subset_fingerprint(self.train_idx, self.val_idx):
            raise ValueError(f"{directory}: saved run used other train/val images")
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.epoch, self.history = state["epoch"], state["history"]
        return True


def _weights(values: np.ndarray | None, n: int, name: str) -> torch.Tensor | None:
    if values is None:
        return None
    values = torch.as_tensor(np.asarray(values, np.float64), dtype=torch.float32)
    if values.shape != (n,) or (values < 0).any() or values.sum() <= 0:
        raise ValueError(f"{name} must hold {n} non-negative values (one per training image)")
    return values.clone()


def _with_ones(weights: torch.Tensor | None, n: int) -> torch.Tensor | None:
    return None if weights is None else torch.cat([weights, torch.ones(n)])


def _subset_fingerprint(train_idx: np.ndarray, val_idx: np.ndarray) -> list[int]:
    return [len(train_idx), int(train_idx.sum()), len(val_idx), int(val_idx.sum())]


def train_one_epoch(learner: Learner) -> dict:
    """One pass over the training images; returns mean loss and accuracy (augmented batches)."""
    config, model, opt, device = learner.config, learner.model, learner.optimizer, learner.device
    seed = epoch_seed(config.seed, learner.epoch)
    torch.manual_seed(seed)  # dropout (every device)
    generator = torch.Generator().manual_seed(seed)  # order (+ augmentation on the CPU)
    augment_generator = (
        generator if device.type == "cpu" else torch.Generator(device).manual_seed(seed)
    )
    n = len(learner.train_idx)
    if learner.sampler_weights is not None:
        order = torch.multinomial(learner.sampler_weights, n, replacement=True, generator=generator)
    else:
        order = torch.randperm(n, generator=generator)
    order = order.to(device)
    total_steps = learner.steps_per_epoch * config.epochs
    autocast = torch.autocast(device.type, dtype=torch.bfloat16) if learner.bf16 else nullcontext()
    model.train()
    loss_sum, correct, labelled = 0.0, 0, 0
    for step in range(learner.steps_per_epoch):
        positions = order[step * config.batch_size : (step + 1) * config.batch_size]
        rows = learner.train_rows[positions]
        x = to_batch(learner.images[rows], config.channels_last)
        if config.augment.enabled:
            x = augment_batch(x, config.augment, augment_generator)
        lr = lr_at(learner.epoch * learner.steps_per_epoch + step, total_steps,
                   learner.steps_per_epoch, config)  # fmt: skip
        for group in opt.param_groups:
            group["lr"] = lr
        weights = learner.sample_weights[positions] if learner.sample_weights is not None else None
        labels = learner.label_ids[rows]
        has_label = labels >= 0  # unlabelled rows (label −1) only feed the auxiliary loss
        n_labelled = int(has_label.sum())
        targets = learner.targets[rows]
        vote_shares = learner.vote_shares[rows] if config.aux_weight else None
        loss, logits = model_loss(model, x, targets, has_label, weights, vote_shares,
                                  config.aux_weight, autocast)  # fmt: skip
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        hits = int((logits.argmax(dim=1) == labels).sum())
        loss_sum += loss.item() * len(rows)
        correct, labelled = correct + hits, labelled + n_labelled
        learner.emit("on_batch_end", loss.item(), hits, n_labelled)
    return {"train_loss": loss_sum / n, "train_accuracy": correct / max(1, labelled), "lr": lr}


def evaluate_val(learner: Learner) -> tuple[dict, torch.Tensor]:
    """Loss and metrics of the model on the validation images, and its probabilities (every
    output)."""
    config = learner.config
    probs, _ = classify_batches(
        learner.model,
        learner.images[torch.from_numpy(learner.val_idx).to(learner.device)],
        len(learner.classes),
        batch_size=config.eval_batch_size,
        tta_flip=config.tta_flip,
        channels_last=config.channels_last,
    )
    return score(probs.numpy(), learner.labels[learner.val_idx], learner.scheme_classes), probs


def default_callbacks(config: TrainConfig, run_dir: Path) -> list[Callback]:
    return [
        CSVLogger(RunDir(run_dir).log),
        Checkpointer(config.monitor),
        EarlyStopping(config.monitor, config.patience, config.max_minutes),
        ProgressBar(bar=config.progress, epochs=config.epochs),
    ]


def fit(
    config: TrainConfig,
    dataset: PreparedDataset,
    train_idx: np.ndarray,
    val_idx: np.ndarray,
    run_dir: str | Path,
    *,
    sample_weights: np.ndarray | None = None,
    sampler_weights: np.ndarray | None = None,
    callbacks: list[Callback] | None = None,
    resume: bool = True,
    described: dict | None = None,
    exclude_groups: np.ndarray | None = None,
    warm_source: Checkpoint | None = None,
) -> FitResult:
    """Train ``config.model`` on ``train_idx``, choosing the best epoch on ``val_idx``.

    ``sample_weights`` (per training image, in ``train_idx`` order) scale each image's loss;
    ``sampler_weights`` draw each epoch's images with replacement in proportion to them
    (over-sampling). ``callbacks`` default to CSV log, checkpoints, early stopping and progress.
    With ``resume`` the run continues from ``run_dir/checkpoints/resume`` when present.
    ``described`` adds entries (e.g. ``data``) to the run's config.json, written before epoch 1.
    ``exclude_groups``: duplicate groups no unlabelled training face may come from (faces
    reserved for a bias study). ``warm_source``: the checkpoint of ``config.init_from``, when
    the caller has loaded it already (else it is loaded here).
    """
    if config.threads > 0:
        torch.set_num_threads(config.threads)
    run_dir = Path(run_dir)
    if callbacks is None:
        callbacks = default_callbacks(config, run_dir)
    resuming = resume and has_state(RunDir(run_dir).checkpoint("resume"))
    learner = Learner(
        config, dataset, train_idx, val_idx, run_dir, sample_weights, sampler_weights, callbacks,
        exclude_groups, resuming, warm_source,
    )  # fmt: skip
    run_dir.mkdir(parents=True, exist_ok=True)  # only once the Learner accepted the config
    if resuming and learner.load_resume_state():
        print(f"resuming {run_dir} after epoch {learner.epoch}", flush=True)
    write_json(learner.files.config, {**learner.describe(), **(described or {})})
    elapsed_before = learner.history[-1]["elapsed_s"] if learner.history else 0.0
    start = time.perf_counter()
    learner.emit("on_fit_start")
    while learner.epoch < config.epochs and not learner.stop_reason:
        learner.emit("on_epoch_start")
        t0 = time.perf_counter()
        train_row = train_one_epoch(learner)
        val_metrics, _ = evaluate_val(learner)
        learner.epoch += 1
        row = {"epoch": learner.epoch, **train_row, "val_loss": val_metrics["loss"]}
        row.update({f"val_{k}": val_metrics[k] for k in LOGGED_METRICS})
        row["seconds"] = time.perf_counter() - t0
        row["elapsed_s"] = elapsed_before + time.perf_counter() - start
        learner.history.append(row)
        learner.emit("on_epoch_end", row)
    learner.emit("on_fit_end")
    return _result(learner)


def _result(learner: Learner) -> FitResult:
    best = best_epoch(learner.history, learner.config.monitor)
    logged = next((row for row in learner.history if row["epoch"] == best), {})
    return FitResult(
        run_dir=learner.run_dir,
        best_epoch=best,
        best_checkpoint=learner.files.checkpoint("best"),
        history=learner.history,
        val_metrics={k[4:]: v for k, v in logged.items() if k.startswith("val_")},
        stop_reason=learner.stop_reason or "completed all epochs",
        elapsed_s=learner.history[-1]["elapsed_s"] if learner.history else 0.0,
    )

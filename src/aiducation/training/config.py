"""All training hyper-parameters in one JSON-serialisable dataclass (units in the comments)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

from aiducation.atomic import write_json
from aiducation.data.augment import AugmentConfig
from aiducation.defaults import EVAL_BATCH_SIZE
from aiducation.devices import check_device_name
from aiducation.training.choices import (
    BF16_MODES,
    OPTIMIZERS,
    SCHEDULES,
    TARGETS,
    without_retired,
)


@dataclass
class TrainConfig:
    """Hyper-parameters of one training run; saved as ``config.json`` in the run directory."""

    model: str = "faceresnet_s"  # registry name (``aiducation.models.list_models``)
    model_kwargs: dict = field(default_factory=dict)  # overrides of the model's defaults
    init_from: str = ""  # warm start: a checkpoint (or run dir) of the same architecture whose
    #   weights replace the random initialisation (a head for other classes stays random)
    epochs: int = 30  # passes over the training images
    batch_size: int = 128  # images per optimiser step
    optimizer: str = "adamw"  # adamw | adam | sgd (Nesterov momentum)
    lr: float = 2e-3  # peak learning rate
    weight_decay: float = 5e-4  # decoupled for adamw, L2 for adam/sgd
    momentum: float = 0.9  # sgd momentum / adam beta1
    schedule: str = "onecycle"  # onecycle (linear warm-up, cosine decay) | cosine | constant
    warmup_epochs: float = 1.0  # epochs of linear warm-up (onecycle)
    label_smoothing: float = 0.0  # ε: targets become (1 − ε)·t + ε/K
    targets: str = "hard"  # hard: rule labels; soft: class probabilities under vote re-sampling
    soft_draws: int = 200  # vote re-samplings per image for soft targets
    hard_mix: float = 0.0  # soft targets only: weight of the one-hot rule label mixed in (0–1)
    aux_weight: float = 0.0  # weight of the auxiliary loss: a second head learns each face's
    #   FER+ emotion vote shares (cross-entropy); 0 = off; needs a model with ``aux_classes``
    aux_unlabelled: bool = False  # also train that head on the unlabelled training images
    #   (cleaned FER+ faces no rule labels; written by ``aiducation prepare``)
    other_class: bool = False  # a fifth class "Other" (faces no rule labels): the unlabelled
    #   training images become its examples; needs aux_unlabelled
    augment: AugmentConfig = field(default_factory=AugmentConfig)
    patience: int = 0  # early stopping: epochs without val improvement (0 = off)
    monitor: str = "val_accuracy"  # log column that chooses the best checkpoint (higher wins)
    max_minutes: float = 0.0  # stop after the epoch that exceeds this wall time (0 = off)
    seed: int = 0  # seeds weights, shuffling, augmentation and dropout
    threads: int = 0  # torch intra-op threads (0 = leave torch's default)
    device: str = "auto"  # auto (CUDA, then MPS, then CPU) | cpu | cuda | cuda:N | mps; the
    #   device used is recorded in config.json ("device"); a run may resume on another one
    bf16: str = "auto"  # bfloat16 autocast: auto (CUDA GPUs with bf16, CPUs with native bf16)
    #   | on (also other CPUs) | off
    channels_last: bool = True  # NHWC memory format for the model and batches
    eval_batch_size: int = EVAL_BATCH_SIZE  # images per evaluation batch
    tta_flip: bool = False  # test-time flip averaging for validation/test metrics
    progress: bool = True  # tqdm progress bar per epoch

    def __post_init__(self) -> None:
        if isinstance(self.augment, dict):
            self.augment = AugmentConfig(**self.augment)
        for name, value, allowed in (
            ("schedule", self.schedule, SCHEDULES),
            ("optimizer", self.optimizer, OPTIMIZERS),
            ("targets", self.targets, TARGETS),
            ("bf16", self.bf16, BF16_MODES),
        ):
            if value not in allowed:
                raise ValueError(f"{name} must be one of {', '.join(allowed)}, got {value!r}")
        if not 0 <= self.hard_mix <= 1 or (self.hard_mix and self.targets != "soft"):
            raise ValueError("hard_mix must be in [0, 1] and needs targets='soft'")
        if self.aux_weight < 0 or (self.aux_unlabelled and not self.aux_weight):
            raise ValueError("aux_unlabelled needs aux_weight > 0 (and aux_weight must be ≥ 0)")
        if self.other_class and not self.aux_unlabelled:
            raise ValueError("other_class needs aux_unlabelled (its examples are those images)")
        self.device = check_device_name(self.device)
        if self.epochs < 1 or self.batch_size < 1:
            raise ValueError("epochs and batch_size must be at least 1")

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> TrainConfig:
        """The config of saved fields; a retired option (:data:`.choices.RETIRED`) is dropped at
        its default, else refused (:class:`.choices.RetiredOptionError`)."""
        data = without_retired(data)
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown TrainConfig fields: {', '.join(unknown)}")
        return cls(**data)

    def same_run(self, other: dict) -> bool:
        """Whether ``other`` (a saved :meth:`to_dict`, perhaps from before a field existed:
        it has its default, or with a retired one at its default) describes this run,
        whatever its device."""
        return TrainConfig.from_dict({**other, "device": self.device}).to_dict() == self.to_dict()

    def save(self, path: str | Path) -> None:
        write_json(path, self.to_dict())

    @classmethod
    def load(cls, path: str | Path) -> TrainConfig:
        return cls.from_dict(json.loads(Path(path).read_text()))

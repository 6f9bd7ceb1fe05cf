"""What TrainConfig fields may hold, and the options it no longer has, without heavy imports:
:mod:`.config` validates with them and :mod:`.flags` builds the command line from them, so
neither imports the other for these (``--help`` stays fast).

Retired options were measured and not kept (docs/training.md, sessions 6–12). A saved
``config.json`` may still carry them: at their default value they are dropped; a run that used
one is refused with one line naming the option and the commit that still has its code.
"""

from __future__ import annotations

from dataclasses import dataclass

from aiducation.errors import InputError

SCHEDULES = ("onecycle", "cosine", "constant")
OPTIMIZERS = ("adamw", "adam", "sgd")
TARGETS = ("hard", "soft")
BF16_MODES = ("auto", "on", "off")

LAST_COMMIT = "c15810e"  # the last commit whose code trains with the retired options


@dataclass(frozen=True)
class Retired:
    """A TrainConfig field and its flag that no longer exist."""

    field: str
    flag: str
    what: str  # the method, as docs/training.md measured it
    default: object = 0.0
    same_as: str = ""  # a value equal to this field's is also the default (weight_seed: seed)

    def used(self, config: dict) -> bool:
        value = config[self.field]
        return value != self.default and not (self.same_as and value == config.get(self.same_as, 0))


RETIRED = (
    Retired("sam_rho", "--sam-rho", "sharpness-aware minimisation"),
    Retired("mixup_alpha", "--mixup", "mixup"),
    Retired("teachers", "--teacher", "distillation", default=[]),
    Retired("distill_weight", "--distill-weight", "distillation"),
    Retired("ema_decay", "--ema-decay", "an exponential moving average of the weights"),
    Retired(
        "weight_seed",
        "--weight-seed",
        "initial weights from their own seed",
        default=None,
        same_as="seed",
    ),
)


class RetiredOptionError(InputError, ValueError):
    """A saved configuration or a flag uses a retired option: one line, no traceback."""


def retired_note(count: int = 1) -> str:
    it = "it" if count == 1 else "them"
    return (
        f"retired in this version of aiducation (measured and not kept, docs/training.md); "
        f"commit {LAST_COMMIT} still has {it}"
    )


def without_retired(config: dict) -> dict:
    """``config`` (TrainConfig fields) without the retired ones, which must be at their
    default; :class:`RetiredOptionError` names those that are not."""
    used = [r for r in RETIRED if r.field in config and r.used(config)]
    if used:
        names = ", ".join(f"{r.field}={config[r.field]!r} ({r.what})" for r in used)
        raise RetiredOptionError(f"{names}: {retired_note(len(used))}")
    return {k: v for k, v in config.items() if k not in {r.field for r in RETIRED}}

"""The training engine on the small generated dataset: learns, logs, resumes bit-exactly."""

import itertools
import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from safetensors.torch import load_file

from aiducation.data.augment import AugmentConfig
from aiducation.data.dataset import auxiliary_rows, load_prepared
from aiducation.data.labels import VOTE_COLUMNS
from aiducation.models.checkpoint import load_checkpoint
from aiducation.training.callbacks import Callback, best_epoch, should_stop_early
from aiducation.training.config import TrainConfig
from aiducation.training.learner import Learner, fit
from aiducation.training.losses import batch_loss, soft_cross_entropy
from aiducation.training.optim import lr_at

torch.set_num_threads(1)


def tiny_config(**overrides) -> TrainConfig:
    base = dict(
        model="faceresnet_t",
        model_kwargs={"width": 8},
        epochs=4,
        batch_size=16,
        lr=3e-3,
        progress=False,
        threads=1,
    )
    return TrainConfig(**{**base, **overrides})


def splits(root: Path):
    data = load_prepared(root)
    return data, data.split_indices("train"), data.split_indices("val")


def test_fit_learns_and_writes_run_dir(prepared_dir: Path, tmp_path: Path) -> None:
    data, train, val = splits(prepared_dir)
    result = fit(tiny_config(epochs=6, lr=1e-2), data, train, val, tmp_path / "run")
    log = pd.read_csv(tmp_path / "run" / "log.csv")
    assert list(log["epoch"]) == [1, 2, 3, 4, 5, 6]
    for column in ("train_loss", "val_loss", "val_accuracy", "val_macro_f1", "val_micro_recall",
                   "lr", "seconds"):  # fmt: skip
        assert column in log
    assert log["train_loss"].iloc[-1] < log["train_loss"].iloc[0]
    assert result.val_metrics["accuracy"] >= 0.8  # the bands are easy to learn
    assert result.best_epoch == best_epoch(result.history, "val_accuracy")
    best = load_checkpoint(tmp_path / "run")
    assert best.config["arch"] == "faceresnet_t" and best.config["epoch"] == result.best_epoch
    assert best.config["train_config"]["seed"] == 0
    assert (tmp_path / "run" / "checkpoints" / "last" / "model.safetensors").is_file()


class InterruptAt(Callback):
    def __init__(self, epoch: int) -> None:
        self.epoch = epoch

    def on_epoch_start(self, learner) -> None:
        if learner.epoch == self.epoch:
            raise KeyboardInterrupt


def weights(run: Path, name: str = "last") -> dict:
    return load_file(str(run / "checkpoints" / name / "model.safetensors"))


@pytest.mark.parametrize(
    "overrides",
    [
        {"targets": "hard"},
        {"targets": "soft"},
        {"aux_weight": 0.5, "aux_unlabelled": True},
        {
            "targets": "soft",
            "hard_mix": 0.5,
            "aux_weight": 1.0,
            "aux_unlabelled": True,
            "other_class": True,
        },
    ],
    ids=["hard", "soft", "aux", "other"],
)
def test_resume_after_interrupt_is_bit_exact(prepared_dir: Path, tmp_path: Path, overrides) -> None:
    data, train, val = splits(prepared_dir)
    config = tiny_config(epochs=3, augment=AugmentConfig(erase_prob=0.3), **overrides)
    fit(config, data, train, val, tmp_path / "full")
    with pytest.raises(KeyboardInterrupt):
        from aiducation.training.learner import default_callbacks

        callbacks = [InterruptAt(2), *default_callbacks(config, tmp_path / "cut")]
        fit(config, data, train, val, tmp_path / "cut", callbacks=callbacks)
    assert len(pd.read_csv(tmp_path / "cut" / "log.csv")) == 2
    resumed = fit(config, data, train, val, tmp_path / "cut")
    assert [row["epoch"] for row in resumed.history] == [1, 2, 3]
    full, cut = weights(tmp_path / "full"), weights(tmp_path / "cut")
    for key in full:
        torch.testing.assert_close(cut[key], full[key], rtol=0, atol=0)
    drop = ["seconds", "elapsed_s"]
    pd.testing.assert_frame_equal(
        pd.read_csv(tmp_path / "cut" / "log.csv").drop(columns=drop),
        pd.read_csv(tmp_path / "full" / "log.csv").drop(columns=drop),
    )


def test_a_warm_start_copies_the_features_and_keeps_a_head_for_other_classes_fresh(
    prepared_dir: Path, tmp_path: Path
) -> None:
    data, train, val = splits(prepared_dir)
    fit(tiny_config(epochs=1), data, train, val, tmp_path / "source")
    source = load_checkpoint(tmp_path / "source").model.state_dict()
    five = dict(aux_weight=1.0, aux_unlabelled=True, other_class=True)
    cold = Learner(tiny_config(**five), data, train, val, tmp_path / "cold").model.state_dict()
    warm = Learner(
        tiny_config(**five, init_from=str(tmp_path / "source")), data, train, val,
        tmp_path / "warm",
    )  # fmt: skip
    assert warm.fresh_layers == ["head.3.weight", "head.3.bias", "aux_head.weight",
                                 "aux_head.bias"]  # fmt: skip
    state = warm.model.state_dict()
    for key, value in state.items():
        if key in warm.fresh_layers:  # 5 classes and a vote head: as a cold start
            torch.testing.assert_close(value, cold[key], rtol=0, atol=0)
        else:
            torch.testing.assert_close(value, source[key], rtol=0, atol=0)
    assert not torch.equal(state["features.0.0.weight"], cold["features.0.0.weight"])
    result = fit(warm.config, data, train, val, tmp_path / "warm")
    assert json.loads((result.run_dir / "config.json").read_text())[
        "warm_start_fresh_layers"] == warm.fresh_layers  # fmt: skip
    wider = tiny_config(model_kwargs={"width": 12}, init_from=str(tmp_path / "source"))
    with pytest.raises(ValueError, match="warm start needs 'faceresnet_t' with arguments"):
        Learner(wider, data, train, val, tmp_path / "wider")


def test_a_warm_started_run_resumes_bit_exactly_without_its_source(
    prepared_dir: Path, tmp_path: Path
) -> None:
    from aiducation.training.learner import default_callbacks

    data, train, val = splits(prepared_dir)
    fit(tiny_config(epochs=1), data, train, val, tmp_path / "source")
    config = tiny_config(epochs=2, init_from=str(tmp_path / "source"), aux_weight=0.5)
    fit(config, data, train, val, tmp_path / "full")
    with pytest.raises(KeyboardInterrupt):
        callbacks = [InterruptAt(1), *default_callbacks(config, tmp_path / "cut")]
        fit(config, data, train, val, tmp_path / "cut", callbacks=callbacks)
    shutil.rmtree(tmp_path / "source")
    resumed = fit(config, data, train, val, tmp_path / "cut")
    assert [row["epoch"] for row in resumed.history] == [1, 2]
    full, cut = weights(tmp_path / "full"), weights(tmp_path / "cut")
    for key in full:
        torch.testing.assert_close(cut[key], full[key], rtol=0, atol=0)
    described = json.loads((tmp_path / "cut" / "config.json").read_text())
    assert described["warm_start_fresh_layers"] == ["aux_head.weight", "aux_head.bias"]
    with pytest.raises(FileNotFoundError):  # a run started afresh still needs the source
        fit(config, data, train, val, tmp_path / "cut", resume=False)


def test_a_config_saved_before_a_field_existed_is_the_same_run() -> None:
    config = tiny_config()
    saved = config.to_dict()
    del saved["tta_flip"]  # as if saved before the field existed: it has its default
    assert config.same_run(saved)
    assert not tiny_config(tta_flip=True).same_run(saved)


def test_resume_refuses_other_config(prepared_dir: Path, tmp_path: Path) -> None:
    data, train, val = splits(prepared_dir)
    fit(tiny_config(epochs=1), data, train, val, tmp_path / "run")
    with pytest.raises(ValueError, match="config differs"):
        fit(tiny_config(epochs=1, lr=1e-2), data, train, val, tmp_path / "run")


def test_a_run_resumes_on_another_device_and_records_the_one_used(
    prepared_dir: Path, tmp_path: Path
) -> None:
    from aiducation.training.learner import default_callbacks

    data, train, val = splits(prepared_dir)
    cpu = tiny_config(epochs=2, device="cpu")
    fit(cpu, data, train, val, tmp_path / "full")
    with pytest.raises(KeyboardInterrupt):
        callbacks = [InterruptAt(1), *default_callbacks(cpu, tmp_path / "cut")]
        fit(cpu, data, train, val, tmp_path / "cut", callbacks=callbacks)
    resumed = fit(tiny_config(epochs=2, device="auto"), data, train, val, tmp_path / "cut")
    assert [row["epoch"] for row in resumed.history] == [1, 2]
    full, cut = weights(tmp_path / "full"), weights(tmp_path / "cut")
    for key in full:  # "auto" is the CPU here: the same numbers
        torch.testing.assert_close(cut[key], full[key], rtol=0, atol=0)
    described = json.loads((tmp_path / "cut" / "config.json").read_text())
    assert described["train"]["device"] == "auto" and described["device"] == "cpu"


def test_early_stopping_rule() -> None:
    history = [{"epoch": e, "val_accuracy": a} for e, a in enumerate([0.5, 0.7, 0.6, 0.7], 1)]
    assert not should_stop_early(history, "val_accuracy", 3)
    assert should_stop_early(history, "val_accuracy", 2)  # best at 2, ties do not count
    assert not should_stop_early(history, "val_accuracy", 0)


def test_early_stopping_stops_fit(prepared_dir: Path, tmp_path: Path) -> None:
    data, train, val = splits(prepared_dir)
    result = fit(tiny_config(epochs=30, lr=0.0, schedule="constant", patience=2), data,
                 train, val, tmp_path / "run")  # fmt: skip
    assert len(result.history) == 3 and "no val_accuracy improvement" in result.stop_reason


def test_schedules() -> None:
    config = tiny_config(lr=1.0, warmup_epochs=1, schedule="onecycle")
    lrs = [lr_at(s, 100, 10, config) for s in range(100)]
    assert lrs[0] == pytest.approx(0.1) and lrs[9] == pytest.approx(1.0)
    assert all(a >= b for a, b in itertools.pairwise(lrs[9:])) and lrs[-1] < 1e-3
    assert lr_at(50, 100, 10, tiny_config(lr=0.3, schedule="constant")) == 0.3


def test_sample_and_sampler_weights(prepared_dir: Path, tmp_path: Path) -> None:
    data, train, val = splits(prepared_dir)
    angry = (data.labels[train] == 0).astype(float)
    # Loss weight only on Angry images: the model learns to answer Angry everywhere.
    fit(tiny_config(epochs=3), data, train, val, tmp_path / "w", sample_weights=angry)
    model = load_checkpoint(tmp_path / "w" / "checkpoints" / "last").model
    x = torch.from_numpy(data.images[val]).unsqueeze(1).float() / 255
    assert (model(x).argmax(dim=1) == 0).float().mean() > 0.9
    # Drawing only Angry images has the same effect through the sampler.
    fit(tiny_config(epochs=3), data, train, val, tmp_path / "s", sampler_weights=angry)
    model = load_checkpoint(tmp_path / "s" / "checkpoints" / "last").model
    assert (model(x).argmax(dim=1) == 0).float().mean() > 0.9
    with pytest.raises(ValueError, match="one per training image"):
        fit(tiny_config(), data, train, val, tmp_path / "bad", sample_weights=np.ones(3))


def test_config_round_trip_and_validation(tmp_path: Path) -> None:
    config = tiny_config(model_kwargs={"width": 8}, augment=AugmentConfig(erase_prob=0.25))
    config.save(tmp_path / "c.json")
    assert TrainConfig.load(tmp_path / "c.json") == config
    with pytest.raises(ValueError, match="schedule"):
        TrainConfig(schedule="linear")
    with pytest.raises(ValueError, match="unknown TrainConfig fields: colour"):
        TrainConfig.from_dict({"colour": 1})


def test_auxiliary_vote_head_learns_from_unlabelled_images(
    prepared_dir: Path, tmp_path: Path
) -> None:
    data, train, val = splits(prepared_dir)
    # The first unlabelled image copies a validation image: never trained on.
    assert auxiliary_rows(data, train).tolist() == list(range(1, 24))
    assert auxiliary_rows(data, np.concatenate([train, val[:1]]))[0] == 0
    happy = torch.from_numpy(data.unlabelled.images[1:]).unsqueeze(1).float() / 255
    happiness = VOTE_COLUMNS.index("happiness")
    answers = {}
    for unlabelled in (False, True):
        run = tmp_path / f"aux-{unlabelled}"
        config = tiny_config(epochs=4, lr=1e-2, aux_weight=1.0, aux_unlabelled=unlabelled)
        result = fit(config, data, train, val, run)
        assert result.val_metrics["accuracy"] >= 0.8  # the main task is still learned
        described = json.loads((run / "config.json").read_text())
        assert (described["n_train"], described["n_train_unlabelled"]) == (96, 23 * unlabelled)
        model = load_checkpoint(run).model.eval()  # rebuilt from the checkpoint alone
        _, aux = model.forward_with_aux(happy)
        answers[unlabelled] = (aux.argmax(dim=1) == happiness).float().mean().item()
    # No labelled face has happiness votes: only the unlabelled images teach it.
    assert answers[True] > 0.9 and answers[False] < 0.1


def test_auxiliary_head_errors(prepared_dir: Path, tmp_path: Path) -> None:
    data, train, val = splits(prepared_dir)
    with pytest.raises(ValueError, match="auxiliary head; B4_N1_FC1_K3_AP4 has none"):
        fit(tiny_config(model="B4_N1_FC1_K3_AP4", model_kwargs={}, aux_weight=1.0),
            data, train, val, tmp_path / "seed")  # fmt: skip
    # per-image weights cover the labelled rows; the unlabelled faces that join get weight 1
    weights = np.arange(1, len(train) + 1, dtype=float)
    config = tiny_config(aux_weight=1.0, aux_unlabelled=True)
    sampled = Learner(config, data, train, val, tmp_path / "w", sampler_weights=weights)
    extra = sampled.n_unlabelled
    assert extra > 0 and len(sampled.sampler_weights) == len(train) + extra
    np.testing.assert_allclose(sampled.sampler_weights[: len(train)].numpy(), weights)
    assert (sampled.sampler_weights[len(train) :] == 1).all()
    weighted = Learner(config, data, train, val, tmp_path / "v", sample_weights=weights)
    assert weighted.sample_weights.mean().item() == pytest.approx(1.0)
    (prepared_dir / "unlabelled.npy").unlink()
    with pytest.raises(ValueError, match="no unlabelled training images"):
        fit(tiny_config(aux_weight=1.0, aux_unlabelled=True), load_prepared(prepared_dir),
            train, val, tmp_path / "old")  # fmt: skip
    with pytest.raises(ValueError, match="aux_unlabelled needs aux_weight"):
        TrainConfig(aux_unlabelled=True)


def test_batch_loss_counts_only_labelled_rows() -> None:
    logits = torch.tensor([[2.0, 0.0], [0.0, 2.0], [5.0, -5.0]], requires_grad=True)
    targets = torch.tensor([[1.0, 0.0], [1.0, 0.0], [0.0, 0.0]])
    mask = torch.tensor([True, True, False])
    expected = soft_cross_entropy(logits[:2], targets[:2])
    torch.testing.assert_close(batch_loss(logits, targets, mask), expected)
    none = batch_loss(logits, targets, torch.zeros(3, dtype=torch.bool))
    none.backward()
    assert none.item() == 0 and logits.grad.abs().sum() == 0


def test_hard_mix_blends_rule_labels_into_soft_targets(prepared_dir: Path, tmp_path: Path) -> None:
    data, train, val = splits(prepared_dir)
    soft = Learner(tiny_config(targets="soft"), data, train, val, tmp_path / "s").targets
    mixed = Learner(tiny_config(targets="soft", hard_mix=0.25), data, train, val, tmp_path / "m")
    onehot = torch.eye(4)[torch.from_numpy(data.labels)]
    torch.testing.assert_close(mixed.targets, 0.25 * onehot + 0.75 * soft)
    assert not torch.equal(soft, onehot)  # the fixture's votes are not all unanimous
    with pytest.raises(ValueError, match="hard_mix"):
        tiny_config(targets="hard", hard_mix=0.5)


def test_other_class_learns_the_unlabelled_faces(prepared_dir: Path, tmp_path: Path) -> None:
    data, train, val = splits(prepared_dir)
    config = tiny_config(epochs=6, lr=1e-2, aux_weight=1.0, aux_unlabelled=True,
                         other_class=True, targets="soft", hard_mix=0.5)  # fmt: skip
    learner = Learner(config, data, train, val, tmp_path / "t")
    assert learner.classes == [*data.classes, "Other"]
    extra = learner.targets[len(data.labels) :]
    assert len(extra) == 23 and bool((extra[:, 4] >= 0.5).all())  # mostly "Other"
    torch.testing.assert_close(learner.targets.sum(dim=1), torch.ones(len(learner.targets)))
    result = fit(config, data, train, val, tmp_path / "run")
    assert result.val_metrics["accuracy"] >= 0.7  # scored on the four rule classes (chance 0.25)
    checkpoint = load_checkpoint(tmp_path / "run")
    assert checkpoint.classes == [*data.classes, "Other"]
    model = checkpoint.model.eval()
    happy = torch.from_numpy(data.unlabelled.images[1:]).unsqueeze(1).float() / 255
    labelled = torch.from_numpy(data.images[val]).unsqueeze(1).float() / 255
    with torch.no_grad():
        assert (model(happy).argmax(dim=1) == 4).float().mean() > 0.9
        assert (model(labelled).argmax(dim=1) == 4).float().mean() < 0.2
    with pytest.raises(ValueError, match="other_class needs aux_unlabelled"):
        TrainConfig(other_class=True)

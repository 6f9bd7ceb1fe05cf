"""Training state round-trips without pickle; soft targets follow the vote distribution."""

import numpy as np
import pytest
import torch

from aiducation.data.labels import VOTE_COLUMNS, get_rule_set
from aiducation.training.state import load_state, save_state
from aiducation.training.targets import label_flip_rate, smooth, vote_resample_probs


def test_optimizer_state_round_trip(tmp_path) -> None:
    model = torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3), torch.nn.Flatten(), torch.nn.Linear(8, 2))
    opt = torch.optim.AdamW(model.parameters(), lr=1e-2)
    model(torch.rand(2, 1, 4, 4)).sum().backward()
    opt.step()
    state = {"opt": opt.state_dict(), "history": [{"epoch": 1, "loss": 0.5}], "t": (1, "a")}
    save_state(tmp_path / "s", state)
    loaded = load_state(tmp_path / "s")
    assert loaded["history"] == state["history"] and loaded["t"] == (1, "a")
    assert loaded["opt"]["param_groups"] == state["opt"]["param_groups"]
    for key, value in state["opt"]["state"].items():
        for name, tensor in value.items():
            torch.testing.assert_close(loaded["opt"]["state"][key][name], tensor, rtol=0, atol=0)
    assert not list(tmp_path.glob(".*"))  # no temporary leftovers


def test_unsupported_objects_are_refused(tmp_path) -> None:
    with pytest.raises(TypeError):
        save_state(tmp_path / "s", {"x": object()})
    assert not (tmp_path / "s").exists() and not list(tmp_path.glob(".*"))


def votes(**counts) -> list[int]:
    return [counts.get(c, 0) for c in VOTE_COLUMNS]


def test_soft_targets_follow_votes() -> None:
    rule_set = get_rule_set("seed")
    v = np.array([votes(anger=10), votes(neutral=10), votes(neutral=5, sadness=2, anger=3)])
    labels = rule_set(v)
    assert list(labels) == [0, 2, 0]
    probs = vote_resample_probs(v, labels, rule_set, draws=400, seed=0)
    np.testing.assert_allclose(probs.sum(axis=1), 1)
    np.testing.assert_allclose(probs[:2], np.eye(4)[[0, 2]])  # unanimous: certain
    assert 0.3 < probs[2, 0] < 0.95 and probs[2].max() < 1  # ambiguous: spread out
    assert label_flip_rate(v[:2], labels[:2], rule_set) == 0.0
    np.testing.assert_allclose(smooth(np.eye(4)[[1]], 0.1), [[0.025, 0.925, 0.025, 0.025]])

"""Shared experiment helpers: subsets for smoke runs, atomic writes, Markdown tables."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from aiducation.atomic import write_json
from aiducation.data.dataset import load_prepared
from aiducation.experiments.runs import (
    atomic_write,
    check_unchanged,
    subsample,
)
from aiducation.tables import markdown_table


def test_subsample_is_seeded_and_keeps_rows_whole(exp_data: Path) -> None:
    data = load_prepared(exp_data)
    small = subsample(data, 50, seed=1)
    assert len(small.meta) == len(small.images) == 50
    assert small.meta["index"].is_monotonic_increasing
    rows = small.meta["index"].to_numpy()
    assert np.array_equal(small.images, data.images[rows])
    assert (small.meta["split"].to_numpy() == data.meta["split"].to_numpy()[rows]).all()
    assert small.meta.equals(subsample(data, 50, seed=1).meta)
    assert subsample(data, 0) is data and subsample(data, 10_000) is data


def test_subsample_of_one_split_keeps_the_others_whole(exp_data: Path) -> None:
    data = load_prepared(exp_data)
    splits = data.meta["split"]
    small = subsample(data, 10, seed=3, split="train")
    assert (small.meta["split"] == "train").sum() == 10
    for other in ("val", "test"):
        assert small.meta.loc[small.meta["split"] == other, "index"].tolist() == (
            data.meta.loc[splits == other, "index"].tolist()
        )
    rows = small.meta["index"].to_numpy()
    assert np.array_equal(small.images, data.images[rows])


def test_atomic_write_leaves_nothing_behind_on_error(tmp_path: Path) -> None:
    target = tmp_path / "table.csv"
    write_json(target, {"a": 1})

    def fail(tmp: Path) -> None:
        tmp.write_text("half")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        atomic_write(target, fail)
    assert [p.name for p in tmp_path.iterdir()] == ["table.csv"]
    assert target.read_text().strip() == '{\n  "a": 1\n}'


def test_check_unchanged_refuses_other_options(tmp_path: Path) -> None:
    path = tmp_path / "grid.json"
    check_unchanged(path, {"config": {"epochs": 1}}, ("config",))  # nothing saved yet
    write_json(path, {"config": {"epochs": 1}, "data": "a"})
    check_unchanged(path, {"config": {"epochs": 1}, "data": Path("a")}, ("config", "data"))
    with pytest.raises(ValueError, match=r"other options \(config.epochs: 1 then, 2 now\)"):
        check_unchanged(path, {"config": {"epochs": 2}}, ("config",))


def test_markdown_table_rounds_floats_and_blanks_missing_values() -> None:
    frame = pd.DataFrame({"model": ["a", "b"], "acc": [0.123456, float("nan")]})
    frame["n"] = pd.array([3, None], dtype="Int64")
    assert markdown_table(frame).splitlines() == [
        "| model | acc | n |",
        "|---|---|---|",
        "| a | 0.1235 | 3 |",
        "| b |  |  |",
    ]


def test_markdown_table_with_index_and_thousands() -> None:
    table = pd.DataFrame({"train": [3954, 12]}, index=pd.Index(["Angry", "total"], name="class"))
    assert markdown_table(table, index=True, thousands=True).splitlines() == [
        "| class | train |",
        "|---|---|",
        "| Angry | 3,954 |",
        "| total | 12 |",
    ]

"""The SPEC's numbers on the real FER+ data (skipped when ../shared/data is absent)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from aiducation.data.cleaning import clean
from aiducation.data.labels import LEARNING_STATES, VOTE_COLUMNS, seed_rules
from aiducation.data.prepare import PrepareConfig, build
from aiducation.data.sources import read_ferplus_votes

SPEC_CLASS_COUNTS = {"Angry": 3954, "Bored": 3960, "Focused": 4553, "Neutral": 3789}


def test_cleaning_and_labels_match_the_spec(shared_data: Path) -> None:
    table = read_ferplus_votes(shared_data / "ferplus" / "fer2013new.csv")
    votes = table[list(VOTE_COLUMNS)].to_numpy()
    cleaning = clean(votes)
    assert (cleaning.rows_total, cleaning.rows_after_nf, cleaning.rows_after_unknown) == (
        35887, 35538, 35459,
    )  # fmt: skip
    assert cleaning.removed_by_nf == {10: 176, 4: 2, 2: 4, 1: 167}
    assert cleaning.removed_by_unknown == {8: 3, 7: 3, 6: 18, 5: 55}
    labels = seed_rules(votes[cleaning.keep])
    counts = {c: int((labels == i).sum()) for i, c in enumerate(LEARNING_STATES)}
    assert counts == SPEC_CLASS_COUNTS


@pytest.mark.slow
def test_prepare_from_the_real_folders(shared_data: Path, tmp_path: Path) -> None:
    config = PrepareConfig(out=tmp_path / "o", ferplus_dir=shared_data / "ferplus", progress=False)
    prepared = build(config)
    summary = prepared.summary
    assert summary["images"] == 16256 and summary["class_counts"] == SPEC_CLASS_COUNTS
    assert summary["source"]["label_csv_votes_differing"] == 1602  # data README's figure
    # data README: the PNGs hold ~33,870 distinct arrays; among the cleaned rows fewer remain.
    assert 33000 < summary["duplicates"]["cleaned"]["distinct"] < 33870
    groups = prepared.meta["dup_group"].to_numpy()
    first = {g: i for i, g in reversed(list(enumerate(groups)))}
    same = np.array([first[g] for g in groups])
    assert (prepared.images.reshape(len(groups), -1) == prepared.images[same].reshape(
        len(groups), -1)).all()  # fmt: skip

"""Cleaning of FER+ rows, in the SPEC's order: drop any NF vote, then unknown ≥ 5."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from aiducation.data.labels import VOTE_COLUMNS

NF = VOTE_COLUMNS.index("NF")
UNKNOWN = VOTE_COLUMNS.index("unknown")
UNKNOWN_LIMIT = 5  # rows with unknown >= this many votes are dropped


@dataclass(frozen=True)
class Cleaning:
    """Which rows survive cleaning and what each step removed."""

    keep: np.ndarray  # bool mask over all rows
    rows_total: int
    rows_after_nf: int
    rows_after_unknown: int
    removed_by_nf: dict[int, int]  # NF vote value -> rows removed
    removed_by_unknown: dict[int, int]  # unknown vote value -> rows removed

    def counts(self) -> dict:
        """The summary.json fields (dict keys as strings, sorted by value descending)."""
        return {
            "rows_total": self.rows_total,
            "rows_after_nf": self.rows_after_nf,
            "rows_after_unknown": self.rows_after_unknown,
            "removed_by_nf": {str(k): v for k, v in self.removed_by_nf.items()},
            "removed_by_unknown": {str(k): v for k, v in self.removed_by_unknown.items()},
        }


def _value_counts(values: np.ndarray) -> dict[int, int]:
    unique, counts = np.unique(values, return_counts=True)
    return {int(u): int(c) for u, c in sorted(zip(unique, counts, strict=True), reverse=True)}


def clean(votes: np.ndarray) -> Cleaning:
    """Drop rows with any not-a-face vote, then rows with unknown ≥ 5 (in that order)."""
    votes = np.asarray(votes)
    nf_rows = votes[:, NF] > 0
    unknown_rows = ~nf_rows & (votes[:, UNKNOWN] >= UNKNOWN_LIMIT)
    keep = ~nf_rows & ~unknown_rows
    return Cleaning(
        keep=keep,
        rows_total=len(votes),
        rows_after_nf=int((~nf_rows).sum()),
        rows_after_unknown=int(keep.sum()),
        removed_by_nf=_value_counts(votes[nf_rows, NF]),
        removed_by_unknown=_value_counts(votes[unknown_rows, UNKNOWN]),
    )

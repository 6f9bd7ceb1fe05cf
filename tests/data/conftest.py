"""Fixtures of the data tests: the generated raw FER2013 + FER+ inputs (see ferworld.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from ferworld import RawWorld, make_world


@pytest.fixture
def world(tmp_path: Path) -> RawWorld:
    """The generated raw inputs (both formats) in a fresh temp folder."""
    return make_world(tmp_path / "raw")

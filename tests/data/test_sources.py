"""Raw readers: pixel-string parsing and the FER+ vote file."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from aiducation.data.labels import VOTE_COLUMNS
from aiducation.data.sources import parse_pixels, read_ferplus_votes
from aiducation.errors import InputError


def test_parse_pixels_round_trips() -> None:
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(5, 48, 48), dtype=np.uint8)
    images[0] = 0
    images[1] = 255
    text = [" ".join(map(str, image.ravel())) for image in images]
    text[2] = "  " + text[2].replace(" ", "  ") + " "  # extra spaces are tolerated
    np.testing.assert_array_equal(parse_pixels(text, "f.csv"), images)


@pytest.mark.parametrize(
    ("bad", "fragment"),
    [
        ("", "got 0 values"),
        ("1 2 3", "got 3 values"),
        ("-1 " + "0 " * 2303, "got -1 at position 0"),
        ("7, " * 2304, "non-numeric"),
        ("1.5 " + "0 " * 2303, "non-numeric"),
        ("0 " * 2303 + "256", "got 256 at position 2303"),
    ],
)
def test_parse_pixels_names_the_row(bad: str, fragment: str) -> None:
    good = " ".join(["7"] * 2304)
    with pytest.raises(InputError) as exc:
        parse_pixels([good, bad, good], "f.csv", first_row=10)
    assert "f.csv: row 11 (line 13), field 'pixels'" in str(exc.value)
    assert fragment in str(exc.value)


def test_read_ferplus_votes(tmp_path: Path) -> None:
    path = tmp_path / "fer2013new.csv"
    path.write_text(
        ",".join(["Usage", "Image name", *VOTE_COLUMNS]) + "\n"
        "Training,fer0000000.png,4,0,0,1,3,2,0,0,0,0\n"
        "PrivateTest,,0,0,0,0,0,0,0,0,0,10\n"
    )
    table = read_ferplus_votes(path)
    assert table["source_row"].tolist() == [0, 1]
    assert table["image_name"].tolist() == ["fer0000000.png", ""]
    assert table["usage"].tolist() == ["Training", "PrivateTest"]
    assert table["anger"].tolist() == [3, 0] and table["NF"].tolist() == [0, 10]

"""The benchmarks' detector evaluation (benchmarks/_evaluation.py, whose numbers
docs/benchmarks.md reports; its tracker scores are tested in test_tracking.py) and end-to-end
checks on the real media (skip when absent)."""

import sys
from pathlib import Path

import pytest

from aiducation.inference import analyze_video, create_detector, read_image
from aiducation.inference.api import Analyzer
from aiducation.inference.classifier import FaceClassifier

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))
from _evaluation import DetectionCounts, match_boxes, read_dlib_boxes  # noqa: E402  (benchmark code)


def test_match_boxes_counts_hits_false_positives_and_misses() -> None:
    truth = [(0, 0, 10, 10), (50, 50, 10, 10), (100, 0, 10, 10)]
    predicted = [(1, 1, 10, 10), (0, 0, 10, 10), (52, 49, 10, 10), (200, 200, 5, 5)]
    assert match_boxes(predicted, truth) == DetectionCounts(2, 2, 1)
    assert match_boxes([], truth) == DetectionCounts(0, 0, 3)
    assert (DetectionCounts(1, 2, 3) + DetectionCounts(1, 1, 1)).faces == 6


def test_read_dlib_boxes(tmp_path: Path) -> None:
    (tmp_path / "t.xml").write_text(
        "<dataset><images><image file='a.jpg'><box top='5' left='7' width='3' height='4'/>"
        "</image><image file='b.jpg'/></images></dataset>"
    )
    assert read_dlib_boxes(tmp_path / "t.xml") == {"a.jpg": [(7, 5, 3, 4)], "b.jpg": []}


@pytest.mark.slow
def test_yunet_recall_on_dlib_ground_truth(media_dir: Path) -> None:
    truth = read_dlib_boxes(media_dir / "pascal_voc_dlib" / "testing.xml")
    detector = create_detector("yunet")
    total = DetectionCounts(0, 0, 0)
    for name, boxes in truth.items():
        found = detector.detect(read_image(media_dir / "pascal_voc_dlib" / name))
        total += match_boxes([d.box for d in found], boxes)
    assert total.faces == 25
    assert total.true_positives >= 23 and total.false_positives <= 3


@pytest.mark.slow
def test_walking_video_gives_three_tracks(media_dir: Path, checkpoint_dir: Path) -> None:
    analyzer = Analyzer(create_detector("yunet"), FaceClassifier.load(checkpoint_dir))
    result = analyze_video(media_dir / "walking_pause_3faces.mp4", analyzer=analyzer, every=2)
    assert len(result.frames) == 21
    assert len(result.track_ids) == 3
    assert all(len(frame.faces) == 3 for frame in result.frames)

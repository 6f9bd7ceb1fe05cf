"""Each input gets output names of its own (issue 34): no result silently replaces another."""

from pathlib import Path

import cv2
import pytest
from tests.inference.conftest import BRIGHT, DARK, scene, write_video

from aiducation.inference.runner import AnalyzeConfig, run_analysis

FACES = [(50, 60, 80, 80, BRIGHT), (300, 200, 60, 60, DARK)]


def analyze(analyzer, inputs: list[Path], out: Path, **options) -> dict:
    config = AnalyzeConfig(inputs=[str(p) for p in inputs], out=str(out), progress=False, **options)
    return run_analysis(config, analyzer)


def test_a_gif_and_its_png_name_get_two_annotated_pictures(stub_analyzer, tmp_path: Path):
    folder = tmp_path / "in"
    folder.mkdir()
    cv2.imwrite(str(folder / "a.gif.png"), scene(FACES))
    rgb = cv2.cvtColor(scene(FACES[:1]), cv2.COLOR_BGR2RGB)
    from PIL import Image

    Image.fromarray(rgb).save(folder / "a.gif")
    analyze(stub_analyzer, [folder], tmp_path / "out", save_crops=True)
    annotated = sorted(p.name for p in (tmp_path / "out" / "annotated").iterdir())
    assert annotated == ["a.gif.png", "a.gif_1.png"]
    faces = {p.name.split("_f")[0] for p in (tmp_path / "out" / "crops").iterdir()}
    assert faces == {"a.gif", "a.gif_1"}  # one face in a.gif, two in a.gif.png
    assert len(list((tmp_path / "out" / "crops").iterdir())) == 3


@pytest.mark.parametrize("names", [("lesson.mp4", "lesson.avi"), ("sub/a.mp4", "sub_a.mp4")])
def test_videos_never_share_a_timeline(stub_analyzer, tmp_path: Path, names) -> None:
    folder = tmp_path / "in"
    for name in names:
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        write_video(folder / name, n_frames=4)
    summary = analyze(stub_analyzer, [folder], tmp_path / "out")
    assert len(summary["per_source"]) == 2 and not summary["errors"]
    timelines = sorted(p.name for p in (tmp_path / "out").glob("timeline_*.csv"))
    assert len(timelines) == 2, timelines
    videos = sorted(p.name for p in (tmp_path / "out" / "annotated").rglob("*.mp4"))
    assert len(videos) == 2, videos

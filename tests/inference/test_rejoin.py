"""Re-joining broken tracks (inference/rejoin.py) on small generated frame sequences."""

import pytest

from aiducation.inference.rejoin import RejoinConfig, rejoin_tracks
from aiducation.inference.results import FaceResult, FrameResult

Box = tuple[int, int, int, int]


def frames_of(tracks: dict[int, list[Box | None]], fps: float = 2.0) -> list[FrameResult]:
    """Frames at ``fps`` where track ``t`` has box ``tracks[t][i]`` (None: not seen)."""
    n = max(len(boxes) for boxes in tracks.values())
    frames = []
    for i in range(n):
        faces = [
            FaceResult(t, boxes[i], 0.9, "Focused", 0.8, {"Focused": 0.8})
            for t, boxes in tracks.items()
            if i < len(boxes) and boxes[i] is not None
        ]
        frames.append(FrameResult("lesson.mp4", 640, 480, faces, frame=i * 12, time=i / fps))
    return frames


def ids_per_frame(frames: list[FrameResult]) -> list[list[int]]:
    return [[face.face_id for face in frame.faces] for frame in frames]


def test_a_track_broken_in_two_near_the_same_place_is_merged() -> None:
    face = (100, 100, 40, 48)
    moved = (110, 104, 42, 50)  # a few pixels away, about the same size
    frames = frames_of({3: [face] * 4 + [None] * 6, 7: [None] * 10 + [moved] * 4})
    joined = rejoin_tracks(frames)
    assert joined.mapping == {3: 3, 7: 3}
    assert joined.merged == {7: 3}
    assert ids_per_frame(joined.frames) == [[3]] * 4 + [[]] * 6 + [[3]] * 4
    # everything but the id is kept, and the input is not changed
    assert joined.frames[12].faces[0].box == moved
    assert joined.frames[12].faces[0].state == "Focused"
    assert ids_per_frame(frames)[12] == [7]


def test_pieces_that_take_turns_are_one_person() -> None:
    """A duplicate track that alternates with the first one (never seen with it) is joined."""
    a, b = (100, 100, 40, 48), (104, 98, 40, 48)
    frames = frames_of({0: [a, a, None, a, None, a], 5: [None, None, b, None, b]})
    assert rejoin_tracks(frames).merged == {5: 0}


def test_two_people_side_by_side_are_never_merged() -> None:
    left, right = (100, 100, 40, 48), (145, 100, 40, 48)  # one face size apart
    # seen together, then each breaks and comes back where it was
    frames = frames_of(
        {
            0: [left] * 4,
            1: [right] * 4,
            2: [None] * 6 + [left] * 4,
            3: [None] * 6 + [right] * 4,
        }
    )
    joined = rejoin_tracks(frames)
    assert joined.merged == {2: 0, 3: 1}  # each with itself, never with the neighbour
    assert all(len(set(ids)) == len(ids) for ids in ids_per_frame(joined.frames))


def test_overlapping_tracks_are_never_merged() -> None:
    """Two tracks seen in one frame are two people, however close and however alike."""
    face = (100, 100, 40, 48)
    frames = frames_of({0: [face] * 5, 1: [None] * 4 + [(101, 100, 40, 48)] * 5})
    joined = rejoin_tracks(frames)
    assert joined.merged == {}
    assert joined.frames == frames


def test_a_gap_longer_than_the_limit_is_not_merged() -> None:
    face = (100, 100, 40, 48)
    # at 2 frames/s: last seen at 1.5 s, seen again at 5.5 s (gap 4 s) or 9.5 s (gap 8 s)
    short = frames_of({0: [face] * 4, 1: [None] * 11 + [face] * 3})
    long = frames_of({0: [face] * 4, 1: [None] * 19 + [face] * 3})
    config = RejoinConfig(max_gap_seconds=5.0)
    assert rejoin_tracks(short, config).merged == {1: 0}
    assert rejoin_tracks(long, config).merged == {}
    assert rejoin_tracks(long, RejoinConfig(max_gap_seconds=10.0)).merged == {1: 0}


def test_too_far_or_of_another_size_is_not_merged() -> None:
    face = (100, 100, 40, 48)
    far = frames_of({0: [face] * 3, 1: [None] * 4 + [(200, 100, 40, 48)] * 3})
    small = frames_of({0: [face] * 3, 1: [None] * 4 + [(110, 110, 16, 20)] * 3})
    assert rejoin_tracks(far).merged == {}
    assert rejoin_tracks(far, RejoinConfig(max_distance=3.0)).merged == {1: 0}
    assert rejoin_tracks(small).merged == {}
    assert rejoin_tracks(small, RejoinConfig(min_size_ratio=0.3)).merged == {1: 0}


def test_pieces_in_different_shots_are_never_merged() -> None:
    face = (100, 100, 40, 48)
    frames = frames_of({0: [face] * 3, 1: [None] * 3 + [face] * 3})
    assert rejoin_tracks(frames).merged == {1: 0}
    shots = [0, 0, 0, 1, 1, 1]  # a cut between the two pieces
    assert rejoin_tracks(frames, shots=shots).merged == {}
    with pytest.raises(ValueError, match="shot numbers"):
        rejoin_tracks(frames, shots=[0, 0])


def test_ids_after_merging_are_the_earliest() -> None:
    """Three pieces of one face: all take the id of the piece seen first, whatever its number;
    the closest candidate wins where two pieces could continue one."""
    face = (100, 100, 40, 48)
    frames = frames_of(
        {
            9: [None] * 3 + [face] * 3,  # seen second
            4: [None] * 8 + [(104, 100, 40, 48)] * 3,  # seen last
            12: [face] * 3,  # seen first, highest id
        }
    )
    joined = rejoin_tracks(frames)
    assert joined.mapping == {4: 12, 9: 12, 12: 12}
    assert {face.face_id for frame in joined.frames for face in frame.faces} == {12}
    # deterministic: the same answer for the same frames
    assert rejoin_tracks(frames).mapping == joined.mapping


def test_each_person_continues_with_the_nearest_piece() -> None:
    """Two people both break; each is joined with the piece nearest to where it ended (the
    smallest distance first), never both with one."""
    a, b = (100, 100, 40, 48), (150, 100, 40, 48)
    frames = frames_of(
        {
            0: [a] * 3,
            1: [b] * 3,
            2: [None] * 5 + [(140, 100, 40, 48)] * 3,  # near b (10 px), 40 px from a
            3: [None] * 5 + [(106, 100, 40, 48)] * 3,  # near a
        }
    )
    assert rejoin_tracks(frames).merged == {2: 1, 3: 0}


def test_nothing_to_join() -> None:
    assert rejoin_tracks([]).mapping == {}
    one = frames_of({0: [(10, 10, 20, 20)]})
    assert rejoin_tracks(one).frames == one
    with pytest.raises(ValueError, match="time"):
        rejoin_tracks([FrameResult("a.jpg", 64, 48, [], frame=i) for i in range(2)])
    with pytest.raises(ValueError):
        RejoinConfig(min_size_ratio=1.5)


def test_the_pipeline_gives_a_looped_person_one_student(stub_analyzer, tmp_path) -> None:
    """A face that leaves and comes back at the same place is one student in analyze."""
    import cv2
    from tests.inference.conftest import BRIGHT, scene

    from aiducation.inference.runner import AnalyzeConfig, run_analysis

    path = tmp_path / "gap.mp4"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 10.0, (640, 480))
    for i in range(150):  # 15 s: present, away from 3 to 8 s (longer than the tracker keeps
        faces = [] if 30 <= i < 80 else [(200, 150, 80, 80, BRIGHT)]  # a lost track), back
        writer.write(scene(faces))
    writer.release()
    config = AnalyzeConfig(inputs=[str(path)], out=str(tmp_path / "o"), progress=False)
    summary = run_analysis(config, stub_analyzer)
    video = summary["per_source"][0]
    assert video["tracks"] == 2 and video["students"] == 1  # two tracks, one person

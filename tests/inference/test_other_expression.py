"""An "Other" face never reads "Other: neutral" (issue 31): it names its most likely
non-neutral expression (aiducation.models.answers.other_expression), per frame and when
smoothing makes a track "Other" over a frame whose own answer was a state."""

import numpy as np

from aiducation.inference.results import FrameResult, face_records, faces_from_probabilities
from aiducation.inference.smoothing import answered
from aiducation.models.answers import EXPRESSIONS, AnswerScheme, other_expression

CLASSES = ["Angry", "Bored", "Focused", "Neutral", "Other"]
#                neutral happy surprise sad  anger disgust fear contempt
NEUTRAL_HEAD = [0.50, 0.05, 0.30, 0.10, 0.02, 0.01, 0.01, 0.01]  # neutral, then surprise
HAPPY_HEAD = [0.20, 0.70, 0.05, 0.02, 0.01, 0.01, 0.005, 0.005]


def test_other_expression_is_the_most_likely_non_neutral_emotion() -> None:
    picked = other_expression(np.array([NEUTRAL_HEAD, HAPPY_HEAD, np.eye(8)[0]]))
    assert [EXPRESSIONS[i] for i in picked] == ["surprise", "happiness", "happiness"]
    assert EXPRESSIONS[other_expression(NEUTRAL_HEAD)[0]] == "surprise"  # one face, 1-D
    assert "neutral" not in {EXPRESSIONS[i] for i in other_expression(np.random.rand(50, 8))}


def test_an_other_face_whose_head_says_neutral_never_shows_other_neutral() -> None:
    probs = np.array([[0.1, 0.1, 0.1, 0.1, 0.6], [0.1, 0.1, 0.1, 0.1, 0.6]])  # both Other
    faces = faces_from_probabilities(
        [(0, 0, 10, 10), (20, 0, 10, 10)], [0.9, 0.9], probs, CLASSES,
        expressions=np.array([NEUTRAL_HEAD, HAPPY_HEAD]), other_threshold=0.48,
    )  # fmt: skip
    assert [f.state for f in faces] == ["Other", "Other"]
    assert faces[0].expression == "neutral"  # the head's own answer is kept for the API
    assert [f.label for f in faces] == ["Other: surprised", "Other: happy"]
    frame = FrameResult("x.jpg", 64, 64, faces)
    assert [r["expression"] for r in face_records([frame], CLASSES)] == ["surprise", "happiness"]


def test_a_face_smoothed_into_other_names_a_non_neutral_expression_too() -> None:
    probs = np.array([[0.05, 0.05, 0.8, 0.05, 0.05]])  # this frame alone: Focused, neutral face
    (face,) = faces_from_probabilities(
        [(0, 0, 10, 10)], [0.9], probs, CLASSES,
        expressions=np.array([NEUTRAL_HEAD]), other_threshold=0.48,
    )  # fmt: skip
    assert face.state == "Focused" and face.label == "Focused"
    assert face_records([FrameResult("v.mp4", 64, 64, [face])], CLASSES)[0]["expression"] == (
        "neutral"
    )
    track = answered(face, np.array([0.05, 0.05, 0.1, 0.05, 0.75]), AnswerScheme(CLASSES, 0.48))
    assert track.state == "Other" and track.frame_state == "Focused"
    assert track.label == "Other: surprised"
    rows = face_records([FrameResult("v.mp4", 64, 64, [track])], CLASSES)
    assert rows[0]["expression"] == "surprise"


def test_a_hand_made_other_face_with_a_neutral_expression_is_just_other() -> None:
    (face,) = faces_from_probabilities(
        [(0, 0, 10, 10)], [0.9], np.array([[0.1, 0.1, 0.1, 0.1, 0.6]]), CLASSES,
        other_threshold=0.48,
    )  # fmt: skip
    assert face.label == "Other"  # no expression head: no word
    from dataclasses import replace

    assert replace(face, expression="neutral").label == "Other"

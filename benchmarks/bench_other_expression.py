"""Which expression an "Other" face should show (issue 31, part 5): measured on the held-out
FER+ **test** faces (labelled and unlabelled, i.e. every valid face) with the bundled model as
the pipeline runs it (``FaceClassifier``, no flip averaging, its operating threshold).

"Other" means no labelling rule would give the face a state; a neutral face with no sadness
or anger vote is Focused by the rules, so "Other: neutral" reads as a contradiction. For the
faces the model answers "Other", candidate rules for what is shown:

- ``as-is``: the expression head's most likely emotion (neutral included);
- ``non-neutral``: the most likely emotion among the seven non-neutral ones;
- ``uncertain``: answer "Uncertain" (no state, no share) when the head says neutral, else as-is;
- (for reference) ``state``: answer the best learning state instead of "Other" when the head
  says neutral (four-state accuracy of those faces against their labels, where they have one).

Each is compared with the crowd: the FER+ majority of the eight emotions (ties: any of the
top ones counts as agreement) and the crowd's most voted non-neutral emotion.

Then the real media (``--media``: photos, and clips at ``--fps``) through the whole pipeline
(gate on), with and without per-track smoothing: the "Other" faces, how many of them the
expression head calls neutral (the frame's own answer may be a state when smoothing makes the
track "Other"), and the labels shown.

    .venv/bin/python benchmarks/bench_other_expression.py --data /tmp/prepared \
        [--media ../shared/data/media] [--out /tmp/bench_other_expression]
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd

from aiducation.data.dataset import load_prepared
from aiducation.data.labels import OTHER
from aiducation.inference.api import Analyzer, analyze_image, analyze_video
from aiducation.inference.classifier import FaceClassifier
from aiducation.inference.smoothing import SmoothingConfig
from aiducation.models.answers import EXPRESSIONS, answers, other_expression
from aiducation.tables import markdown_table

NEUTRAL = EXPRESSIONS.index("neutral")
HERE = Path(__file__).resolve().parent
DEFAULT_MEDIA = HERE.parent.parent / "shared" / "data" / "media"
VIDEO_SUFFIXES = (".mp4", ".avi", ".mov", ".mkv", ".webm")
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")


def test_faces(data: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Test images, their ten vote counts and rule labels (``-1``: unlabelled)."""
    dataset = load_prepared(data)
    idx = dataset.split_indices("test")
    images, votes, labels = [dataset.images[idx]], [dataset.votes[idx]], [dataset.labels[idx]]
    if dataset.unlabelled is not None:
        mask = dataset.unlabelled.meta["split"].to_numpy() == "test"
        images.append(dataset.unlabelled.images[mask])
        votes.append(dataset.unlabelled.votes[mask])
        labels.append(np.full(int(mask.sum()), -1))
    return np.concatenate(images), np.concatenate(votes), np.concatenate(labels)


def agrees(shown: np.ndarray, votes: np.ndarray) -> np.ndarray:
    """Whether each shown expression index is among the crowd's most voted of the eight."""
    emotions = votes[:, :8]
    top = emotions.max(axis=1)
    return emotions[np.arange(len(shown)), shown] == top


def top_non_neutral(votes: np.ndarray) -> np.ndarray:
    """Whether the crowd's most voted non-neutral emotion(s); a mask ``(N, 8)``."""
    emotions = votes[:, :8].astype(float)
    emotions[:, NEUTRAL] = -1
    return emotions == emotions.max(axis=1, keepdims=True)


def summarise(shown: np.ndarray, votes: np.ndarray) -> dict:
    n = len(shown)
    crowd_top = agrees(shown, votes)
    nn_top = top_non_neutral(votes)[np.arange(n), shown]
    return {
        "faces": n,
        "shown_neutral": int((shown == NEUTRAL).sum()),
        "agree_crowd_majority": round(float(crowd_top.mean()), 4) if n else None,
        "agree_crowd_top_non_neutral": round(float(nn_top.mean()), 4) if n else None,
        "shown_has_a_vote": round(float((votes[np.arange(n), shown] > 0).mean()), 4) if n else None,
    }


def media_other_faces(media: Path, fps: float) -> list[dict]:
    """The "Other" faces of the real media through the pipeline, smoothed and not."""
    analyzer = Analyzer.load(device="cpu")
    rows = []
    for method in ("hmm", "none"):
        for path in sorted(media.iterdir()):
            if path.suffix.lower() in VIDEO_SUFFIXES:
                smoothing = SmoothingConfig(method=method)
                frames = analyze_video(path, fps=fps, analyzer=analyzer, smoothing=smoothing).frames
            elif path.suffix.lower() in IMAGE_SUFFIXES and method == "hmm":
                frames = [analyze_image(path, analyzer=analyzer)]
            else:
                continue
            faces = [f for frame in frames for f in frame.faces]
            other = [f for f in faces if f.state == OTHER]
            rows.append(
                {
                    "medium": path.name,
                    "smoothing": method if path.suffix.lower() in VIDEO_SUFFIXES else "",
                    "faces": len(faces),
                    "other": len(other),
                    "head_neutral": sum(f.expression == "neutral" for f in other),
                    "of_them_frame_state": sum(
                        f.expression == "neutral" and f.frame_state not in (None, OTHER)
                        for f in other
                    ),
                    "labels": ", ".join(
                        f"{label} {n}" for label, n in Counter(f.label for f in other).most_common()
                    ),
                }
            )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("/tmp/prepared"))
    parser.add_argument("--media", type=Path, default=DEFAULT_MEDIA)
    parser.add_argument("--fps", type=float, default=2.0)
    parser.add_argument("--out", type=Path, default=Path("/tmp/bench_other_expression"))
    args = parser.parse_args()
    images, votes, labels = test_faces(args.data)
    classifier = FaceClassifier.load(device="cpu")
    probs, expr = classifier.predict_with_expression(images)
    k = len(classifier.classes) - 1
    answer = answers(probs, classifier.other_threshold)
    other = answer == k
    o_votes, o_expr, o_labels = votes[other], expr[other], labels[other]
    head = o_expr.argmax(axis=1)
    head_neutral = head == NEUTRAL
    crowd_major = votes[:, :8].argmax(axis=1)
    crowd_unique = (votes[:, :8] == votes[:, :8].max(axis=1, keepdims=True)).sum(axis=1) == 1
    o_crowd_neutral = (crowd_major[other] == NEUTRAL) & crowd_unique[other]

    rules = {
        "as-is": summarise(head, o_votes),
        "non-neutral": summarise(other_expression(o_expr), o_votes),
        "uncertain (kept faces)": summarise(head[~head_neutral], o_votes[~head_neutral]),
    }
    in_scheme = 1.0 - probs[other][:, k]
    neutral_faces = {
        "faces": int(head_neutral.sum()),
        "labelled_by_a_rule": int((o_labels[head_neutral] >= 0).sum()),
        "crowd_neutral_majority": int(o_crowd_neutral[head_neutral].sum()),
        "median_in_scheme": round(float(np.median(in_scheme[head_neutral])), 4),
        "median_in_scheme_other_faces": round(float(np.median(in_scheme[~head_neutral])), 4),
        "non_neutral_rule": summarise(
            other_expression(o_expr[head_neutral]), o_votes[head_neutral]
        ),
        "median_p_shown_non_neutral": round(
            float(
                np.median(
                    o_expr[head_neutral].max(axis=1, where=np.arange(8) != NEUTRAL, initial=0.0)
                )
            ),
            4,
        ),
    }
    # reference: answer the best state for head-neutral Other faces that have a label
    ref = head_neutral & (o_labels >= 0)
    best_state = probs[other][:, :k].argmax(axis=1)
    state_acc = float((best_state[ref] == o_labels[ref]).mean()) if ref.any() else None
    correct = answer == np.where(labels >= 0, labels, k)  # five-way: unlabelled faces are Other
    head_neutral_all = other & (expr.argmax(axis=1) == NEUTRAL)
    result = {
        "five_way_accuracy": round(float(correct.mean()), 4),
        "five_way_accuracy_head_neutral_other": round(float(correct[head_neutral_all].mean()), 4),
        "five_way_accuracy_uncertain_rule_kept": round(float(correct[~head_neutral_all].mean()), 4),
        "faces": len(images),
        "labelled": int((labels >= 0).sum()),
        "other_answers": int(other.sum()),
        "other_answers_labelled": int((o_labels >= 0).sum()),
        "other_crowd_neutral_majority": int(o_crowd_neutral.sum()),
        "threshold": classifier.other_threshold,
        "rules": rules,
        "head_neutral_other_faces": neutral_faces,
        "state_instead_accuracy_on_labelled_head_neutral": (
            None if state_acc is None else round(state_acc, 4)
        ),
        "crowd_majority_of_other_faces": {
            EXPRESSIONS[i]: int(((crowd_major[other] == i) & crowd_unique[other]).sum())
            for i in range(8)
        }
        | {"tie": int((~crowd_unique[other]).sum())},
    }
    media = media_other_faces(args.media, args.fps) if args.media.is_dir() else []
    result["media"] = media
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "summary.json").write_text(json.dumps(result, indent=2))
    print(json.dumps({k: v for k, v in result.items() if k != "media"}, indent=2))
    print(markdown_table(pd.DataFrame([{"rule": name, **vals} for name, vals in rules.items()])))
    if media:
        print(markdown_table(pd.DataFrame(media)))


if __name__ == "__main__":
    main()

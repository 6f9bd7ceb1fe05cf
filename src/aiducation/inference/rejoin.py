"""Re-joining a student's broken tracks within a video (issue 31).

The tracker gives a face a new id when it loses it for longer than it waits
(``TrackerConfig.lost_seconds``) or when the face jumps further than its matching allows, so
one student can become several "students". :func:`rejoin_tracks` is a pure step over a video's
analysed frames (after tracking, before smoothing and student summaries) that gives such pieces
one id again, from time and position alone.

Two groups of tracks are one person when

- they are never in the same analysed frame (two faces seen together are two people), and
- at every *hand-off* between them (two consecutive sightings of the union in time, one from
  each group; for a plain break, where one ends and the other begins) the second sighting
  comes at most ``max_gap_seconds`` after the first, in the same shot (``shots``: people in
  different shots are never joined), with box centres at most ``max_distance`` face sizes
  apart (a face's size is the square root of its box's area, the two averaged) and the smaller
  face at least ``min_size_ratio`` of the larger.

Groups are joined greedily, the pair whose largest hand-off distance is smallest first (ties
by id), each new group checked again against the others, until no pair qualifies: the result
is deterministic, and a group never holds two faces of one frame. The joined track keeps the
id of its earliest piece. The defaults are measured (benchmarks/bench_rejoin.py,
docs/benchmarks.md). An appearance check was measured too and left out: the similarity of
12×12 thumbnails of the crops overlapped between pieces of one person and two people seen
together, and position alone reached the true counts.
"""

from __future__ import annotations

import math
from array import array
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from aiducation.inference.results import FrameResult


@dataclass(frozen=True)
class RejoinConfig:
    """When two pieces of track are one person (measured: docs/benchmarks.md)."""

    max_gap_seconds: float = 30.0  # a piece starts at most this long after the other was seen
    max_distance: float = 1.25  # box centres at a hand-off, in face sizes (sqrt of box area)
    min_size_ratio: float = 0.5  # smaller / larger face size at a hand-off

    def __post_init__(self) -> None:
        if not (self.max_gap_seconds >= 0 and self.max_distance >= 0):
            raise ValueError("rejoin: max_gap_seconds and max_distance must be ≥ 0")
        if not 0 <= self.min_size_ratio <= 1:
            raise ValueError("rejoin: min_size_ratio must be in [0, 1]")


@dataclass(frozen=True)
class Rejoined:
    """Frames with re-joined ids, and ``mapping``: every track id → the id it has now."""

    frames: list[FrameResult]
    mapping: dict[int, int]

    @property
    def merged(self) -> dict[int, int]:
        """The ids that changed: old id → the id of the piece it joined."""
        return {old: new for old, new in self.mapping.items() if old != new}


@dataclass
class _Group:
    """The sightings of one or more tracks, in time order."""

    ids: list[int]
    index: np.ndarray  # position of each sighting in the frame list (sorted, unique)
    time: np.ndarray
    shot: np.ndarray
    centre: np.ndarray  # (n, 2)
    size: np.ndarray  # sqrt of box area

    @property
    def reach(self) -> np.ndarray:
        """``(x0, y0, x1, y1)``: the box around the centres (a cheap bound on hand-offs)."""
        return np.concatenate([self.centre.min(axis=0), self.centre.max(axis=0)])

    def joined(self, other: _Group) -> _Group:
        order = np.argsort(np.concatenate([self.index, other.index]), kind="stable")
        both = {
            name: np.concatenate([getattr(self, name), getattr(other, name)])[order]
            for name in ("index", "time", "shot", "centre", "size")
        }
        return _Group(sorted(self.ids + other.ids), **both)


def rejoin_tracks(
    frames: Sequence[FrameResult],
    config: RejoinConfig | None = None,
    *,
    shots: Sequence[int] | None = None,
) -> Rejoined:
    """Give the pieces of one person's broken track one id, that of the earliest piece.

    ``frames``: one video's analysed frames in time order, each with its ``time`` (seconds) and
    each face's ``face_id`` its track id. ``shots``: the shot number of each frame, e.g.
    :attr:`FaceTracker.shots <aiducation.inference.tracking.FaceTracker.shots>` read after each
    frame's update; pieces in different shots are never joined (``None``: all one shot).
    ``frames`` are not changed; faces keep everything but their ``face_id``.
    """
    config = config or RejoinConfig()
    frames = list(frames)
    if shots is not None and len(shots) != len(frames):
        raise ValueError(f"rejoin: {len(shots)} shot numbers for {len(frames)} frames")
    if len(frames) > 1 and any(frame.time is None for frame in frames):
        raise ValueError("rejoin: every frame needs its time (seconds)")
    groups = _groups(frames, shots)
    bounds = _Bounds(groups)
    pairs: dict[tuple[int, int], float] = {}
    for a in sorted(groups):
        for b in bounds.near(groups[a], config, after=a):
            cost = _cost(groups[a], groups[b], config)
            if cost is not None:
                pairs[(a, b)] = cost
    while pairs:
        a, b = min(pairs, key=lambda pair: (pairs[pair], pair))  # a < b: a stays the key
        group = groups.pop(a).joined(groups.pop(b))
        pairs = {pair: cost for pair, cost in pairs.items() if a not in pair and b not in pair}
        groups[a] = group
        bounds.update(a, group)
        bounds.remove(b)
        for other in bounds.near(group, config):
            if other != a:
                cost = _cost(group, groups[other], config)
                if cost is not None:
                    pairs[(min(a, other), max(a, other))] = cost
    mapping = {}
    for group in groups.values():
        first = frames[int(group.index[0])]
        keep = min({face.face_id for face in first.faces} & set(group.ids))
        mapping |= dict.fromkeys(group.ids, keep)
    mapping = dict(sorted(mapping.items()))
    if all(old == new for old, new in mapping.items()):
        return Rejoined(frames, mapping)
    new_frames = [
        replace(frame, faces=[replace(f, face_id=mapping[f.face_id]) for f in frame.faces])
        if any(mapping[f.face_id] != f.face_id for f in frame.faces)
        else frame
        for frame in frames
    ]
    return Rejoined(new_frames, mapping)


class _Bounds:
    """Each live group's first and last time, centre box and largest face, as arrays, to
    find in one step the groups that could share a hand-off with a given one."""

    def __init__(self, groups: dict[int, _Group]) -> None:
        self.keys = np.array(sorted(groups), int)
        self.row = {int(key): n for n, key in enumerate(self.keys)}
        self.alive = np.ones(len(self.keys), bool)
        self.values = np.zeros((len(self.keys), 7))
        for key, group in groups.items():
            self.update(key, group)

    def update(self, key: int, group: _Group) -> None:
        self.values[self.row[key]] = [group.time[0], group.time[-1], *group.reach, group.size.max()]

    def remove(self, key: int) -> None:
        self.alive[self.row[key]] = False

    def near(self, group: _Group, config: RejoinConfig, after: int | None = None) -> list[int]:
        """Live groups (with a key above ``after``) within reach in time and space."""
        start, end, x0, y0, x1, y1, size = self.values.T
        gap = config.max_gap_seconds
        reach = config.max_distance * np.maximum(size, group.size.max())
        (gx0, gy0, gx1, gy1) = group.reach
        ok = self.alive & (start - group.time[-1] <= gap) & (group.time[0] - end <= gap)
        ok &= (np.maximum(x0 - gx1, gx0 - x1) <= reach) & (np.maximum(y0 - gy1, gy0 - y1) <= reach)
        if after is not None:
            ok &= self.keys > after
        return [int(k) for k in self.keys[ok]]


def _groups(frames: list[FrameResult], shots: Sequence[int] | None) -> dict[int, _Group]:
    """One group per track id (in order of first sighting). The sightings are gathered in flat
    columns (a long video has a few hundred thousand), then split by track."""
    track, index, shot = array("q"), array("q"), array("q")
    time, x_centre, y_centre, size = array("d"), array("d"), array("d"), array("d")
    for i, frame in enumerate(frames):
        frame_shot = 0 if shots is None else int(shots[i])
        frame_time = 0.0 if frame.time is None else float(frame.time)
        for face in frame.faces:
            x, y, w, h = (float(v) for v in face.box)
            track.append(face.face_id)
            index.append(i)
            shot.append(frame_shot)
            time.append(frame_time)
            x_centre.append(x + w / 2)
            y_centre.append(y + h / 2)
            size.append(math.sqrt(max(w * h, 1e-9)))
    ids = np.asarray(track, np.int64)
    order = np.argsort(ids, kind="stable")  # each track's sightings stay in frame order
    pieces = np.split(order, np.flatnonzero(np.diff(ids[order])) + 1) if len(order) else []
    columns = (np.asarray(index, int), np.asarray(time, float), np.asarray(shot, int),
               np.column_stack([x_centre, y_centre]), np.asarray(size, float))  # fmt: skip
    groups = {}
    for rows in sorted(pieces, key=lambda rows: rows[0]):  # tracks in order of first sighting
        key = int(ids[rows[0]])
        at, when, where, centre, side = (column[rows] for column in columns)
        if len(at) > 1 and (np.diff(at) == 0).any():
            raise ValueError(f"rejoin: track {key} has two faces in one frame")
        groups[key] = _Group([key], index=at, time=when, shot=where, centre=centre, size=side)
    return groups


def _cost(a: _Group, b: _Group, config: RejoinConfig) -> float | None:
    """The largest hand-off distance (in face sizes) between two groups, or ``None`` when they
    cannot be one person: seen together, or a hand-off too late, across a shot cut, too far or
    between faces of too different sizes."""
    gap = config.max_gap_seconds
    if a.time[0] - b.time[-1] > gap or b.time[0] - a.time[-1] > gap:
        return None
    # No two sightings closer than this: then no hand-off is near enough either.
    near = config.max_distance * max(a.size.max(), b.size.max())
    (ax0, ay0, ax1, ay1), (bx0, by0, bx1, by1) = a.reach, b.reach
    if max(bx0 - ax1, ax0 - bx1) > near or max(by0 - ay1, ay0 - by1) > near:
        return None
    at = np.searchsorted(b.index, a.index)
    if (b.index[np.minimum(at, len(b.index) - 1)] == a.index).any():
        return None  # seen together
    index = np.concatenate([a.index, b.index])
    order = np.argsort(index, kind="stable")
    label = np.concatenate([np.zeros(len(a.index), bool), np.ones(len(b.index), bool)])[order]
    before = np.flatnonzero(label[1:] != label[:-1])  # sighting i, then i + 1 of the other
    after = before + 1
    time = np.concatenate([a.time, b.time])[order]
    shot = np.concatenate([a.shot, b.shot])[order]
    if (time[after] - time[before] > gap).any() or (shot[after] != shot[before]).any():
        return None
    size = np.concatenate([a.size, b.size])[order]
    small = np.minimum(size[before], size[after])
    large = np.maximum(size[before], size[after])
    if (small < config.min_size_ratio * large).any():
        return None
    centre = np.concatenate([a.centre, b.centre])[order]
    distance = np.linalg.norm(centre[after] - centre[before], axis=1)
    worst = float((distance / ((size[before] + size[after]) / 2)).max())
    return worst if worst <= config.max_distance else None

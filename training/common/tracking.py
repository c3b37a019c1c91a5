"""Faces or people followed across sampled frames of one video or session: a greedy IoU tracker that
keeps each track's values per frame (a face's emotions, whether a person looks at the screen) summed
and exponentially smoothed, so a report can say "player 1" or "watched for 12 s" and a live view
does not flicker."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MIN_IOU = 0.3       # a face or person in the next sampled frame overlaps its last box at least this much
MAX_GAP_S = 2.0     # a face or person unseen for longer is a new track when it comes back
SMOOTHING = 0.5     # weight of the newest frame in the smoothed values


def iou(a, b) -> float:
    x0, y0, x1, y1 = max(a[0], b[0]), max(a[1], b[1]), min(a[2], b[2]), min(a[3], b[3])
    inter = max(0, x1 - x0) * max(0, y1 - y0)
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


@dataclass
class Track:
    id: int
    box: tuple
    first_seen: float
    last_seen: float
    smoothed: np.ndarray
    total: np.ndarray  # sum of the per-frame values, for shares over the track
    frames: int = 1


class Tracker:
    def __init__(self):
        self.tracks: dict[int, Track] = {}
        self.next_id = 1

    def update(self, time_s: float, boxes: list, values: list[np.ndarray]) -> list[Track]:
        """This frame's boxes and their values -> their tracks (in the same order), continuing the best-overlapping
        live track of each, most overlapping pairs first."""
        live = [t for t in self.tracks.values() if time_s - t.last_seen <= MAX_GAP_S]
        pairs = sorted(((iou(box, t.box), i, t.id) for i, box in enumerate(boxes) for t in live), reverse=True)
        assigned: dict[int, Track] = {}
        used = set()
        for overlap, i, track_id in pairs:
            if overlap < MIN_IOU:
                break
            if i in assigned or track_id in used:
                continue
            track = self.tracks[track_id]
            track.box, track.last_seen, track.frames = boxes[i], time_s, track.frames + 1
            track.smoothed = SMOOTHING * values[i] + (1 - SMOOTHING) * track.smoothed
            track.total = track.total + values[i]
            assigned[i] = track
            used.add(track_id)
        for i, box in enumerate(boxes):
            if i not in assigned:
                first = values[i].astype(np.float64)
                assigned[i] = self.tracks[self.next_id] = Track(self.next_id, box, time_s, time_s, first, first.copy())
                self.next_id += 1
        return [assigned[i] for i in range(len(boxes))]

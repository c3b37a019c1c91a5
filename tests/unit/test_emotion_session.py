"""What turns frames into a session: the face tracker, the live-session registry of the
real-time endpoint, the report and its HTML page."""

from __future__ import annotations

import re
import threading
import time

import numpy as np
import pytest

from bentos.emotion.sessions import REORDER_FRAMES, NotYours, OutOfOrder, Sessions
from training.emotion.serving import html, report
from training.emotion.serving.expression import EMOTIONS
from training.common.tracking import MAX_GAP_S, Tracker

HAPPY, SAD, NEUTRAL = (np.eye(len(EMOTIONS))[EMOTIONS.index(e)] for e in ("happy", "sad", "neutral"))
LEFT, RIGHT = (10, 10, 60, 70), (200, 12, 250, 72)


def test_faces_keep_their_ids_as_they_move_and_swap_places_in_the_list():
    tracker = Tracker()
    first = tracker.update(0.0, [LEFT, RIGHT], [HAPPY, SAD])
    moved = tracker.update(0.5, [(204, 14, 254, 74), (14, 10, 64, 70)], [SAD, HAPPY])
    assert [t.id for t in first] == [1, 2] and [t.id for t in moved] == [2, 1]
    assert moved[1].frames == 2 and np.allclose(moved[1].smoothed, HAPPY)


def test_a_face_gone_longer_than_the_gap_comes_back_as_a_new_track():
    tracker = Tracker()
    tracker.update(0.0, [LEFT], [HAPPY])
    assert tracker.update(MAX_GAP_S - 0.1, [LEFT], [HAPPY])[0].id == 1
    assert tracker.update(2 * MAX_GAP_S + 0.1, [LEFT], [HAPPY])[0].id == 2


def test_smoothing_moves_halfway_to_each_new_frame():
    tracker = Tracker()
    tracker.update(0.0, [LEFT], [HAPPY])
    (track,) = tracker.update(0.5, [LEFT], [SAD])
    assert track.smoothed[EMOTIONS.index("happy")] == pytest.approx(0.5) and track.smoothed[EMOTIONS.index("sad")] == pytest.approx(0.5)
    assert np.allclose(track.total / track.frames, (HAPPY + SAD) / 2)


def answered(sessions: Sessions, client: str, session_id: str, frame: int, **kwargs):
    claim = sessions.claim(client, session_id, frame, **kwargs)
    claim.session.done(frame, {"frame": frame, "time_s": claim.time_s})
    return claim


def test_live_sessions_are_forgotten_when_idle_closed_or_over_the_cap():
    now = [0.0]
    sessions = Sessions(idle_s=10, max_sessions=2, clock=lambda: now[0])
    first = answered(sessions, "game", "a", 0)
    now[0] = 1.5
    again = answered(sessions, "game", "a", 3)  # gaps in numbering are fine (a client samples its webcam)
    assert again.session is first.session and (first.time_s, again.time_s) == (0.0, 1.5)
    answered(sessions, "game", "b", 0)
    answered(sessions, "game", "c", 0)  # over the client's cap: its longest idle ("a") goes
    assert set(sessions.live["game"]) == {"b", "c"}
    with pytest.raises(NotYours):
        sessions.close("other", "b")
    assert sessions.close("game", "b") is not None and set(sessions.live["game"]) == {"c"}
    now[0] = 20
    answered(sessions, "game", "d", 0)  # c idle for over 10 s
    assert set(sessions.live["game"]) == {"d"} and len(sessions) == 1


def test_a_frame_sent_again_gets_its_first_answer_and_late_frames_within_the_window_are_taken():
    sessions = Sessions()
    answered(sessions, "game", "s", 20)
    assert sessions.claim("game", "s", 20).answer == {"frame": 20, "time_s": 0.0}  # a retry: nothing analysed again
    late = sessions.claim("game", "s", 20 - REORDER_FRAMES)  # a parallel upload that arrived after a later one
    assert late.answer is None and 20 - REORDER_FRAMES in late.session.in_flight
    late.session.done(20 - REORDER_FRAMES, None)  # it failed: a retry is analysed again
    assert sessions.claim("game", "s", 20 - REORDER_FRAMES).answer is None
    with pytest.raises(OutOfOrder, match=f"frame: {19 - REORDER_FRAMES} is more than {REORDER_FRAMES} frames behind"):
        sessions.claim("game", "s", 19 - REORDER_FRAMES)


def test_parallel_frames_reach_the_tracker_in_frame_order_and_on_the_capture_clock():
    sessions = Sessions()
    claims = {frame: sessions.claim("game", "p", frame, captured_s=100.0 + frame / 10) for frame in (0, 1, 2)}
    order = []

    session = claims[0].session
    updates = session.tracker.update
    session.tracker.update = lambda t, boxes, values: order.append((boxes[0], t)) or updates(t, boxes, values)

    def update(frame: int) -> None:
        claims[frame].session.track(frame, claims[frame].time_s, [(frame, 0, 10, 10)], [HAPPY])
        claims[frame].session.done(frame, {"frame": frame})

    threads = [threading.Thread(target=update, args=(frame,)) for frame in (2, 1, 0)]  # the analysis of 2 ends first
    for thread in threads:
        thread.start()
        time.sleep(0.05)
    for thread in threads:
        thread.join()
    assert [(box[0], t) for box, t in order] == [(0, 0.0), (1, pytest.approx(0.1)), (2, pytest.approx(0.2))]
    assert claims[2].session.frames == 3 and not claims[2].session.in_flight


def test_a_session_belongs_to_its_client_and_others_cannot_advance_or_evict_it():
    sessions = Sessions(max_sessions=3)
    mine = answered(sessions, "studio", "playtest-7", 0).session
    with pytest.raises(NotYours, match="session_id: no live session 'playtest-7' for this API key"):
        sessions.claim("intruder", "playtest-7", 99)  # cannot push it forward
    for index in range(1000):  # a flood of sessions from another client evicts only its own
        answered(sessions, "intruder", f"flood-{index}", 0)
    assert answered(sessions, "studio", "playtest-7", 1).session is mine
    assert len(sessions.live["intruder"]) == 3 and len(sessions) == 4


def samples() -> list[report.Sample]:
    """6 s at 2 frames/s: happy for 2 s, no face for 2 s, sad for 2 s."""
    rows = []
    for i in range(12):
        t = i / 2
        if t < 2:
            rows.append(report.Sample(t, [1], [HAPPY]))
        elif t < 4:
            rows.append(report.Sample(t, [], []))
        else:
            rows.append(report.Sample(t, [2], [0.5 * SAD + 0.5 * NEUTRAL]))
    return rows


def build() -> dict:
    tracker = Tracker()
    for s in samples():
        tracker.update(s.time_s, [LEFT] * len(s.emotions), s.emotions)
    return report.build(samples(), list(tracker.tracks.values()), 6.0, 2.0)


def test_report_timeline_summary_and_tracks():
    result = build()
    timeline = result["timeline"]
    assert [r["second"] for r in timeline] == list(range(6))
    assert [r["shares"] and report.dominant(r["shares"]) for r in timeline] == ["happy", "happy", None, None, "sad", "sad"]  # a tie: the first in EMOTIONS order
    summary = result["summary"]
    assert summary["sampled_frames"] == 12 and summary["frames_with_face"] == 8 and summary["seconds_with_face"] == 4
    assert summary["share_of_time_with_face"] == pytest.approx(4 / 6, abs=1e-4) and summary["faces_tracked"] == 2
    assert summary["emotions"]["happy"] == pytest.approx(0.5) and summary["dominant_excluding_neutral"] == "happy"
    assert [(t["id"], t["first_s"], t["last_s"], t["dominant"]) for t in result["tracks"]] == [(1, 0.0, 1.5, "happy"), (2, 4.0, 5.5, "sad")]


def test_moments_are_whole_reactions_numbered_in_time_order():
    result = build()
    assert [(m["number"], m["start_s"], m["end_s"], m["emotion"], m["rank"]) for m in result["moments"]] == [
        (1, 0, 2, "happy", 1), (2, 4, 6, "sad", 2)]  # two seconds of happiness are one moment
    assert result["moments"][0]["intensity"] == 1.0 and result["moments"][1]["share"] == 0.5


def row(second: int, emotion: str | None, intensity: float = 0.9) -> dict:
    if emotion is None:
        return {"second": second, "faces": 0.0, "shares": None}
    shares = dict.fromkeys(EMOTIONS, 0.0) | {"neutral": round(1 - intensity, 4)}
    shares[emotion] = round(shares.get(emotion, 0.0) + intensity, 4)
    return {"second": second, "faces": 1.0, "shares": shares}


def test_a_short_anger_is_not_pushed_out_by_the_halves_of_one_long_happy_stretch():
    """Ranked by second (5 s apart), the top two were 0 s and 5 s of one happy stretch."""
    rows = [row(s, "happy", 0.95) for s in range(10)] + [row(10, "neutral", 0.0), row(11, None), row(12, "angry", 0.7), row(13, "neutral", 0.1)]
    moments = report.moments(rows, count=2)
    assert [(m["start_s"], m["end_s"], m["emotion"], m["number"], m["rank"]) for m in moments] == [(0, 10, "happy", 1, 1), (12, 13, "angry", 2, 2)]
    stronger_later = report.moments([row(0, "sad", 0.5), row(1, None), row(2, "fear", 0.9)])
    assert [(m["number"], m["rank"]) for m in stronger_later] == [(1, 2), (2, 1)]  # numbers follow time, ranks strength
    assert report.moments([row(0, "happy", report.REACTION - 0.01)]) == []  # mostly neutral: no reaction


def test_a_video_without_faces_is_a_valid_empty_report():
    result = report.build([report.Sample(t / 2, [], []) for t in range(6)], [], 3.0, 2.0)
    assert result["summary"]["emotions"] is None and result["moments"] == [] and result["tracks"] == []
    assert "No face was seen" in html.render(result)


def test_html_page_is_self_contained_escaped_and_charted():
    page = html.render({"model_version": "emotion:v1", **build()}, title="<script>alert(1)</script> session", source="level-3.mp4")
    assert "Source: level-3.mp4" in page and "Model: emotion:v1" in page and re.search(r"Made \d{4}-\d\d-\d\d \d\d:\d\d UTC", page)
    assert page.startswith("<!doctype html>") and "<svg" in page and "<script" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt; session" in page
    assert not re.search(r"""(src|href)=|url\((?!#)|https?://""", page)  # nothing fetched from anywhere
    assert page.count('fill="#f2b701"') >= 2  # happy's bars in the timeline, and its share bar
    for emotion in EMOTIONS:
        assert emotion in page

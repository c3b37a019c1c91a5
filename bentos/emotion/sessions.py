"""Live sessions of the real-time endpoint: per session id, the face tracker, the frames in flight
and the answers given, so faces keep their ids. Held in the worker's memory only (derived boxes
and numbers, no image), forgotten after IDLE_S without a frame or when the client closes the
session; the cluster routes a session to one pod (sticky sessions at the ingress) and runs one
worker a pod.

Clients upload in parallel and retry after timeouts, so frame numbers need not arrive in order:
a frame up to REORDER_FRAMES behind the newest one is taken, and its tracker update waits (at most
REORDER_WAIT_S) for the earlier frames already being analysed, so the tracker sees them in order;
a frame sent again gets the answer it got the first time (the last ANSWERS_KEPT are kept), and
one sent again while its first copy is analysed waits for that answer. Only a frame further behind
is refused (OutOfOrder, a 409). The client may send each frame's capture time: the session's
clock is then the capture clock, not the arrival times.

A session belongs to the API client that sent its first frame: another client's frame for it is
refused as if it did not exist (NotYours), and each client's sessions are capped and evicted on
their own (MAX_SESSIONS per client), so no client can push another's sessions forward or out."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from training.common.tracking import Track, Tracker

IDLE_S = 600.0       # a playtest paused for 10 minutes starts over
MAX_SESSIONS = 200   # per client; beyond this the client's longest-idle session is forgotten
REORDER_FRAMES = 8   # a frame this far behind the session's newest is still taken (a few parallel uploads)
REORDER_WAIT_S = 2.0  # what a frame's tracker update waits for earlier frames in flight
ANSWERS_KEPT = 64    # answered frames kept per session, for retries (more than the reorder window)


class OutOfOrder(ValueError):
    pass


class NotYours(LookupError):
    pass


@dataclass
class Session:
    tracker: Tracker = field(default_factory=Tracker)
    newest: int = -1  # the highest frame number taken
    started: float = field(default_factory=time.monotonic)
    seen: float = field(default_factory=time.monotonic)
    first_capture: float | None = None  # the capture time of its first frame that had one
    clock: float = 0.0  # the tracker's time: it only moves forward
    frames: int = 0  # frames in the tracker
    in_flight: set[int] = field(default_factory=set)
    answers: OrderedDict[int, Any] = field(default_factory=OrderedDict)
    changed: threading.Condition = field(default_factory=threading.Condition)  # guards all of the above but tracker's reads

    def track(self, frame: int, time_s: float, boxes: list, values: list) -> tuple[list[Track], float]:
        """The frame's faces into the tracker once the earlier frames in flight are in (or
        REORDER_WAIT_S has passed): their tracks, and the time the tracker was given."""
        with self.changed:
            self.changed.wait_for(lambda: not any(f < frame for f in self.in_flight), REORDER_WAIT_S)
            self.clock = max(self.clock, time_s)
            self.frames += 1
            return self.tracker.update(self.clock, boxes, values), self.clock

    def done(self, frame: int, answer: Any) -> None:
        """The frame's answer (None when it failed: a retry is analysed again)."""
        with self.changed:
            self.in_flight.discard(frame)
            if answer is not None:
                self.answers[frame] = answer
                while len(self.answers) > ANSWERS_KEPT:
                    self.answers.popitem(last=False)
            self.changed.notify_all()


@dataclass(frozen=True)
class Claim:
    session: Session
    time_s: float  # the frame's time in the session: capture or arrival, seconds since its start
    answer: Any = None  # the stored answer of a frame sent again


class Sessions:
    def __init__(self, idle_s: float = IDLE_S, max_sessions: int = MAX_SESSIONS, clock=time.monotonic):
        self.idle_s, self.max_sessions, self.clock = idle_s, max_sessions, clock
        self.live: dict[str, OrderedDict[str, Session]] = {}  # client -> its sessions, most recently used last
        self.owner: dict[str, str] = {}  # session id -> client
        self.lock = threading.Lock()

    def claim(self, client: str, session_id: str, frame: int, captured_s: float | None = None) -> Claim:
        """The client's session for this frame: its time in the session, or the answer it already
        got. OutOfOrder when `frame` is more than REORDER_FRAMES behind the newest one; NotYours
        when another client's session has this id. The caller ends with `session.done`."""
        now = self.clock()
        with self.lock:
            self._expire(now)
            if self.owner.get(session_id, client) != client:
                raise NotYours(f"session_id: no live session {session_id!r} for this API key")
            own = self.live.setdefault(client, OrderedDict())
            session = own.pop(session_id, None) or Session(started=now, seen=now)
            own[session_id], self.owner[session_id] = session, client
            session.seen = now
            while len(own) > self.max_sessions:
                self.owner.pop(own.popitem(last=False)[0])
        with session.changed:
            if frame in session.in_flight:  # its first copy is being analysed: that answer, not a second one
                session.changed.wait_for(lambda: frame not in session.in_flight, REORDER_WAIT_S)
            if frame in session.answers:
                return Claim(session, 0.0, session.answers[frame])
            if frame in session.in_flight:
                raise OutOfOrder(f"frame: {frame} is still being analysed; retry it in a moment")
            if frame < session.newest - REORDER_FRAMES:
                raise OutOfOrder(f"frame: {frame} is more than {REORDER_FRAMES} frames behind this session's newest frame "
                                 f"{session.newest}; send frames in order")
            session.newest = max(session.newest, frame)
            session.in_flight.add(frame)
            if captured_s is None:
                return Claim(session, now - session.started)
            if session.first_capture is None:
                session.first_capture = captured_s
            return Claim(session, max(captured_s - session.first_capture, 0.0))

    def close(self, client: str, session_id: str) -> Session:
        """Forget the client's session and return it (for its summary); NotYours when it has none of this id."""
        with self.lock:
            own = self.live.get(client, {})
            if session_id not in own:
                raise NotYours(f"session_id: no live session {session_id!r} for this API key")
            self.owner.pop(session_id)
            return own.pop(session_id)

    def _expire(self, now: float) -> None:
        for client, own in list(self.live.items()):
            while own and now - next(iter(own.values())).seen > self.idle_s:
                self.owner.pop(own.popitem(last=False)[0])
            if not own:
                del self.live[client]

    def __len__(self) -> int:
        return len(self.owner)

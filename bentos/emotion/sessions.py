"""Live sessions of the real-time endpoint: per session id, the face tracker and the last frame
number, so frames must arrive in order and faces keep their ids. Held in the worker's memory
only (derived boxes and numbers, no image), forgotten after IDLE_S without a frame; the
cluster routes a session to one pod (sticky sessions at the ingress) and runs one worker a pod."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field

from training.common.tracking import Tracker

IDLE_S = 600.0       # a playtest paused for 10 minutes starts over
MAX_SESSIONS = 1000  # beyond this the longest-idle session is forgotten


class OutOfOrder(ValueError):
    pass


@dataclass
class Session:
    tracker: Tracker = field(default_factory=Tracker)
    last_frame: int = -1
    started: float = field(default_factory=time.monotonic)
    seen: float = field(default_factory=time.monotonic)
    lock: threading.Lock = field(default_factory=threading.Lock)  # one tracker update at a time


class Sessions:
    def __init__(self, idle_s: float = IDLE_S, max_sessions: int = MAX_SESSIONS, clock=time.monotonic):
        self.idle_s, self.max_sessions, self.clock = idle_s, max_sessions, clock
        self.live: OrderedDict[str, Session] = OrderedDict()
        self.lock = threading.Lock()

    def claim(self, session_id: str, frame: int) -> tuple[Session, float]:
        """The session for this frame and the frame's time in the session (seconds since its first
        frame). OutOfOrder when `frame` is not after the last frame seen."""
        now = self.clock()
        with self.lock:
            self._expire(now)
            session = self.live.pop(session_id, None) or Session(started=now, seen=now)
            self.live[session_id] = session  # most recently used last
            if frame <= session.last_frame:
                raise OutOfOrder(f"frame: {frame} is not after this session's last frame {session.last_frame}; send frames in order")
            session.last_frame, session.seen = frame, now
            while len(self.live) > self.max_sessions:
                self.live.popitem(last=False)
            return session, now - session.started

    def _expire(self, now: float) -> None:
        while self.live and now - next(iter(self.live.values())).seen > self.idle_s:
            self.live.popitem(last=False)

    def __len__(self) -> int:
        return len(self.live)

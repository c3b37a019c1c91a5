"""Live sessions of the real-time endpoint: per session id, the face tracker and the last frame
number, so frames must arrive in order and faces keep their ids. Held in the worker's memory
only (derived boxes and numbers, no image), forgotten after IDLE_S without a frame; the
cluster routes a session to one pod (sticky sessions at the ingress) and runs one worker a pod.

A session belongs to the API client that sent its first frame: another client's frame for it is
refused as if it did not exist (NotYours), and each client's sessions are capped and evicted on
their own (MAX_SESSIONS per client), so no client can push another's sessions forward or out."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field

from training.common.tracking import Tracker

IDLE_S = 600.0       # a playtest paused for 10 minutes starts over
MAX_SESSIONS = 200   # per client; beyond this the client's longest-idle session is forgotten


class OutOfOrder(ValueError):
    pass


class NotYours(LookupError):
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
        self.live: dict[str, OrderedDict[str, Session]] = {}  # client -> its sessions, most recently used last
        self.owner: dict[str, str] = {}  # session id -> client
        self.lock = threading.Lock()

    def claim(self, client: str, session_id: str, frame: int) -> tuple[Session, float]:
        """The client's session for this frame and the frame's time in the session (seconds since
        its first frame). OutOfOrder when `frame` is not after the last frame seen; NotYours when
        another client's session has this id."""
        now = self.clock()
        with self.lock:
            self._expire(now)
            if self.owner.get(session_id, client) != client:
                raise NotYours(f"session_id: no live session {session_id!r} for this API key")
            own = self.live.setdefault(client, OrderedDict())
            session = own.pop(session_id, None) or Session(started=now, seen=now)
            own[session_id], self.owner[session_id] = session, client
            if frame <= session.last_frame:
                raise OutOfOrder(f"frame: {frame} is not after this session's last frame {session.last_frame}; send frames in order")
            session.last_frame, session.seen = frame, now
            while len(own) > self.max_sessions:
                self.owner.pop(own.popitem(last=False)[0])
            return session, now - session.started

    def _expire(self, now: float) -> None:
        for client, own in list(self.live.items()):
            while own and now - next(iter(own.values())).seen > self.idle_s:
                self.owner.pop(own.popitem(last=False)[0])
            if not own:
                del self.live[client]

    def __len__(self) -> int:
        return len(self.owner)

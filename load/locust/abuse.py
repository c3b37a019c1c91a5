"""Traffic on the abuse scorer as its callers send it: game servers streaming each player's events
as they happen, the review tool asking about one player (from the event store or with a window it
holds), the nightly job scoring a slice of users, and the malformed requests every public endpoint
receives (answered 400 naming the field; counted as success here).

    .venv/bin/locust -f load/locust/abuse.py --headless -u 8 -r 8 -t 60s --host http://127.0.0.1:3000

Payloads come from the training generator (training/abuse/serving/data.py): its users' feature windows, and
its event log replayed in time order under fresh user ids, so that load never writes over the
windows of the users a test or a person is looking at."""

from __future__ import annotations

import itertools
import random
import uuid

import orjson
from locust import HttpUser, between, task

from playserve.api_keys import client_key
from training.abuse.serving import data, features

POPULATION = data.generate(400, seed=11)
WINDOWS = orjson.loads(features.labelled_table(POPULATION.events, POPULATION.users).drop(columns=data.LABEL).to_json(orient="records"))
EVENTS_BY_USER = [list(group.drop(columns=data.ID).to_dict(orient="records")) for _, group in POPULATION.events.groupby(data.ID)]
EVENTS_PER_REQUEST = 50  # a game server's flush: a few seconds of its players' events
JSON = {"content-type": "application/json"}
MISTAKES = itertools.cycle(("missing", "type", "nan", "kind"))  # in turn, so a short run has every kind


def broken_request() -> tuple[str, bytes, str]:
    """(endpoint, body, the field the answer must name): a missing feature, a wrong type, NaN, an unknown event kind."""
    window = dict(random.choice(WINDOWS))
    mistake = next(MISTAKES)
    if mistake == "missing":
        window.pop("gain_total")
        return "/score", orjson.dumps({"windows": [window]}), "gain_total"
    if mistake == "type":
        window["play_minutes"] = "all day"
        return "/score", orjson.dumps({"windows": [window]}), "play_minutes"
    if mistake == "nan":  # orjson writes NaN as null: send it as text
        return "/score", orjson.dumps({"windows": [window]}).replace(b'"sessions":', b'"sessions":NaN,"_":', 1), "sessions"
    return "/events", orjson.dumps({"events": [{"user_id": "x", "time": 1.0, "kind": "teleport"}]}), "kind"


class GameServer(HttpUser):
    wait_time = between(0.05, 0.3)

    def on_start(self):
        self.client.headers["X-API-Key"] = client_key()  # $PLAYSERVE_API_KEY or the local client's
        self.streams: list[tuple[str, list[dict]]] = []  # (fresh user id, the events still to send)
        self.streamed: list[str] = []  # users with events in the store

    @task(40)
    def stream_events(self):
        if not self.streams:
            self.streams = [(f"load-{uuid.uuid4().hex[:12]}", list(random.choice(EVENTS_BY_USER))) for _ in range(4)]
        batch = []
        while self.streams and len(batch) < EVENTS_PER_REQUEST:
            user, pending = self.streams[0]
            take, self.streams[0] = pending[:EVENTS_PER_REQUEST - len(batch)], (user, pending[EVENTS_PER_REQUEST - len(batch):])
            batch += [{"user_id": user, **event} for event in take]
            if not self.streams[0][1]:
                self.streams.pop(0)
                self.streamed.append(user)
        batch.sort(key=lambda event: event["time"])
        self.client.post("/events", data=orjson.dumps({"events": batch}), headers=JSON, name="/events [stream]")

    @task(30)
    def review_one(self):
        self.client.post("/score", data=orjson.dumps({"windows": [random.choice(WINDOWS)]}), headers=JSON, name="/score [1 user]")

    @task(10)
    def review_from_store(self):
        if self.streamed:
            body = {"user_id": random.choice(self.streamed[-50:])}
            self.client.post("/score_user", data=orjson.dumps(body), headers=JSON, name="/score_user")

    @task(10)
    def nightly_slice(self):
        windows = random.sample(WINDOWS, random.randint(10, 100))
        self.client.post("/score", data=orjson.dumps({"windows": windows}), headers=JSON, name="/score [10-100 users]")

    @task(5)
    def malformed(self):
        endpoint, body, field = broken_request()
        with self.client.post(endpoint, data=body, headers=JSON, name=f"{endpoint} [malformed]", catch_response=True) as response:
            if response.status_code == 400 and field.encode() in response.content:
                response.success()
            else:
                response.failure(f"expected 400 naming {field}, got {response.status_code}: {response.text[:200]}")

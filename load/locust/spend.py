"""Traffic on the spend service as its callers send it: game servers asking about one player at
login, the CRM scoring a segment, analysts measuring a nudge, the nightly table upload, and the
malformed requests every public endpoint receives (answered 400; counted as success here).

    .venv/bin/locust -f load/locust/spend.py --headless -u 16 -r 8 -t 60s --host http://127.0.0.1:3000

Payloads are synthetic users from the training generator (training/spend/data.py), so the
feature distributions, missing ages and categorical values are what the model was trained on."""

from __future__ import annotations

import io
import random

import orjson
from locust import HttpUser, between, task

from load.locust import bulk
from playserve.api_keys import client_key
from training.spend import data

POOL = data.generate(5_000, seed=7).frame
USERS = orjson.loads(POOL.drop(columns=[data.TARGET, data.GROUP]).to_json(orient="records"))
OUTCOMES = orjson.loads(POOL.rename(columns={data.TARGET: "actual_spend"}).to_json(orient="records"))
JSON = {"content-type": "application/json"}


def segment_table(size: int) -> bytes:
    buffer = io.BytesIO()
    POOL.drop(columns=[data.TARGET, data.GROUP]).sample(size, random_state=random.randrange(1 << 30)).to_parquet(buffer)
    return buffer.getvalue()


def broken_request() -> bytes:
    """One of the mistakes clients make: a missing field, a wrong type, a non-finite number."""
    user = dict(random.choice(USERS))
    mistake = random.choice(("missing", "type", "nan"))
    if mistake == "missing":
        user.pop("login_count")
    elif mistake == "type":
        user["play_time_hours"] = "a lot"
    else:  # orjson writes NaN as null, which the schema allows for some fields: send it as text
        return orjson.dumps({"users": [user]}).replace(b'"topup_amount":' + orjson.dumps(user["topup_amount"]), b'"topup_amount":NaN')
    return orjson.dumps({"users": [user]})


class GameClient(HttpUser):
    wait_time = between(0.05, 0.3)

    def on_start(self):
        self.client.headers["X-API-Key"] = client_key()  # $PLAYSERVE_API_KEY or the local client's

    @task(70)
    def player_at_login(self):
        self.client.post("/predict", data=orjson.dumps({"users": [random.choice(USERS)]}), headers=JSON, name="/predict [1 user]")

    @task(20)
    def crm_segment(self):
        users = random.sample(USERS, random.randint(10, 200))
        self.client.post("/predict", data=orjson.dumps({"users": users}), headers=JSON, name="/predict [10-200 users]")

    @task(5)
    def malformed(self):
        with self.client.post("/predict", data=broken_request(), headers=JSON, name="/predict [malformed]",
                              catch_response=True) as response:
            if response.status_code == 400 and b"users" in response.content:
                response.success()
            else:
                response.failure(f"expected 400 naming the field, got {response.status_code}")

    @task(2)
    def analyst_nudge_effect(self):
        users = random.sample(OUTCOMES, 400)
        bulk.post(self.client, "/nudge_effect", data=orjson.dumps({"users": users, "bootstrap": 200}), headers=JSON)

    @task(1)
    def table_upload(self):
        bulk.post(self.client, "/predict_table", files={"table": ("users.parquet", segment_table(2_000))})

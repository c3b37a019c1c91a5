"""The `playserve` command line, run as a user would run it."""

import json
import os
import shutil
import re
import socket
import subprocess
import time

import cv2
import httpx
import numpy as np
import pandas as pd
import pytest
import redis
import skimage.data

from bentos.common import auth
from playserve import catalog
from playserve.api_keys import CLIENT_ENV
from playserve.services import free_port, wait_until_ok
from tests.conftest import PLAYSERVE, REPO, run_cli, stop_server
from training.person import photos
from training.spend import data
from training.wallhack import data as data_wallhack

COMMANDS = [[], ["data"], ["train"], ["predict"], ["serve"], ["models"], ["nudge-effect"], ["up"], ["build"],
            *([verb, model] for verb in ("data", "train", "predict", "serve") for model in catalog.names()),
            ["report"], ["report", "emotion"]]


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c) or "playserve")
def test_every_command_has_help(command):
    result = run_cli(*command, "--help")
    assert "Usage" in result.stdout and "--help" in result.stdout


def test_data_spend_writes_population_and_truth(tmp_path):
    out, truth = tmp_path / "users.parquet", tmp_path / "truth.csv"
    summary = json.loads(run_cli("data", "spend", "--users", "3000", "--seed", "4", "--out", str(out), "--truth", str(truth)).stdout)
    frame, uplift = pd.read_parquet(out), pd.read_csv(truth)
    assert len(frame) == summary["users"] == 3000 and frame.equals(data.generate(3000, seed=4).frame)
    assert summary["injected_effect"] == pytest.approx(uplift["injected_uplift"][frame[data.GROUP] == data.NUDGED].mean(), abs=0.01)


@pytest.fixture(scope="module")
def own_table(population, tmp_path_factory):
    """The synthetic population in a user's own shape: other names, a string column, CSV."""
    frame = population.frame.rename(columns={data.ID: "account", data.TARGET: "next_month_topup", data.GROUP: "arm"})
    frame["arm"] = frame["arm"].map({data.CONTROL: "A", data.NUDGED: "B"})
    frame["server"] = np.where(frame["account"] % 3 == 0, "asia", "eu")
    path = tmp_path_factory.mktemp("own") / "own.csv"
    frame.to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def own_model(own_table, tmp_path_factory):
    runs = tmp_path_factory.mktemp("runs")
    result = run_cli("train", "spend", "--data", str(own_table), "--target", "next_month_topup", "--id", "account",
                     "--group", "arm", "--control", "A", "--json", "--runs-dir", str(runs))
    return json.loads(result.stdout)


def test_train_on_own_table_prints_json_and_registers(own_model, population):
    assert own_model["passed_gate"] and own_model["tag"].startswith("spend:")
    assert own_model["metrics"]["rmse"] < min(b["rmse"] for b in own_model["baselines"].values())
    assert own_model["data"]["synthetic"] is False and own_model["rows"]["control"] == (population.frame[data.GROUP] == data.CONTROL).sum()
    models = [json.loads(line) for line in run_cli("models", "--json").stdout.splitlines()]
    assert own_model["tag"] in [m["tag"] for m in models]
    assert own_model["tag"] in run_cli("models").stdout


def test_predict_with_a_named_version(own_model, own_table, tmp_path):
    sample = pd.read_csv(own_table, nrows=500).drop(columns=["next_month_topup"])
    source, out = tmp_path / "in.parquet", tmp_path / "out.csv"
    sample.to_parquet(source)
    run_cli("predict", "spend", "--data", str(source), "--out", str(out), "--model", own_model["tag"])
    scored = pd.read_csv(out)
    assert scored.columns.tolist() == ["account", "expected_spend", "payer_probability"]
    assert scored["account"].tolist() == sample["account"].tolist()
    assert scored["payer_probability"].between(0, 1).all() and (scored["expected_spend"] >= 0).all()


def test_nudge_effect_command(trained, tmp_path):
    path = tmp_path / "fresh.parquet"
    fresh = data.generate(100_000, seed=55)
    fresh.frame.to_parquet(path)
    report = json.loads(run_cli("nudge-effect", "--data", str(path), "--model", trained.model.tag, "--bootstrap", "200",
                                "--out", str(tmp_path / "uplift.csv")).stdout)
    low, high = report["bias_adjusted"]["ci95"]
    assert low < fresh.injected_effect < high
    assert len(pd.read_csv(tmp_path / "uplift.csv")) == 100_000


def test_gate_failure_registers_nothing(tmp_path):
    rng = np.random.default_rng(0)
    noise = pd.DataFrame({"uid": range(4_000), "x": rng.normal(size=4_000),
                          "y": np.where(rng.random(4_000) < 0.4, rng.lognormal(9, 1.5, 4_000), 0.0)})
    noise.to_csv(tmp_path / "noise.csv", index=False)
    before = run_cli("models", "--json").stdout
    result = run_cli("train", "spend", "--data", str(tmp_path / "noise.csv"), "--target", "y", "--id", "uid",
                     "--runs-dir", str(tmp_path / "runs"), check=False)
    assert result.returncode == 3 and "quality gate failed" in result.stderr
    assert run_cli("models", "--json").stdout == before
    assert list((tmp_path / "runs" / "spend").glob("rejected-*/model_card.md"))


@pytest.mark.parametrize(
    "args, message",
    [
        (["train", "spend", "--data", "nope.csv"], "no such file"),
        (["data", "spend", "--source", "kaggle", "--out", "x.csv"], "expected synthetic or cdnow, got 'kaggle'"),
        (["train", "spend", "--data", "README.md"], "unsupported file type"),
        (["predict", "spend", "--data", "x.csv", "--out", "y.csv", "--model", "spend:doesnotexist"], "doesnotexist"),
        (["serve", "spend", "--model", "spend:doesnotexist"], "doesnotexist"),
    ],
)
def test_user_errors_are_clear(args, message, tmp_path):
    result = run_cli(*args, check=False, cwd=tmp_path)
    assert result.returncode == 2 and message in result.stderr


def test_wrong_target_column_is_named(own_table, tmp_path):
    result = run_cli("train", "spend", "--data", str(own_table), "--target", "revenue", "--id", "account", check=False)
    assert result.returncode == 2 and "revenue" in result.stderr


def free_port_run(count: int) -> int:
    """A port p with the `count - 1` after it free as well: `up` serves each next model on the next port."""
    while True:
        port = free_port()
        try:
            for offset in range(1, count):
                with socket.socket() as s:
                    s.bind(("127.0.0.1", port + offset))
            return port
        except OSError:
            continue


def test_up_trains_what_the_store_lacks_then_serves_every_model_with_a_prometheus_scraping_them(
        tmp_path, wallhack_trained, emotion_trained, person_trained, abuse_trained):
    """The README's run command on a store holding every model but spend (the others' defaults are
    the session's: `playserve train <model>` is the same call, and wallhack's takes ~20 min): train
    the spend default, serve all five, answer, abuse from its Redis; the local Prometheus scrapes
    them with the rules loaded, and stopping `up` stops everything."""
    import bentoml

    store = tmp_path / "store"
    for tag in (wallhack_trained["tag"], emotion_trained["tag"], person_trained["tag"], abuse_trained["tag"]):
        stored = bentoml.models.get(tag)
        shutil.copytree(stored.path, store / "models" / stored.tag.name / stored.tag.version)
        (store / "models" / stored.tag.name / "latest").write_text(stored.tag.version)
    # as on a fresh machine: no keys file given, so `up` makes the local client's key and says where
    env = {**{k: v for k, v in os.environ.items() if k not in (auth.ENV, CLIENT_ENV)},
           "BENTOML_HOME": str(store), "PLAYSERVE_HOME": str(tmp_path / "home")}
    assert "no models yet" in run_cli("models", "spend", env=env).stderr
    port, prometheus_port, redis_port = free_port_run(5), free_port(), free_port()
    prometheus = f"http://127.0.0.1:{prometheus_port}"
    log = tmp_path / "up.log"
    process = subprocess.Popen([PLAYSERVE, "up", "--port", str(port), "--prometheus-port", str(prometheus_port), "--redis-port", str(redis_port)],
                               env=env, cwd=tmp_path, stdout=log.open("w"), stderr=subprocess.STDOUT)
    try:
        # the four models the store has are served while spend trains (~40 s here)
        for model_port in range(port + 1, port + 5):
            assert wait_until_ok(f"http://127.0.0.1:{model_port}/readyz", 120, alive=lambda: process.poll() is None), log.read_text()
        assert "registered spend:" not in log.read_text(), "spend was registered before the others were ready; the check proves nothing"
        assert wait_until_ok(f"http://127.0.0.1:{port}/readyz", 300, alive=lambda: process.poll() is None), log.read_text()
        key_file = tmp_path / "home" / "api-key"
        assert f"API key of the local client: {key_file}" in log.read_text() and key_file.stat().st_mode & 0o077 == 0
        local = {"Authorization": f"Bearer {key_file.read_text().strip()}"}
        example = (REPO / "bentos/spend/example_request.json").read_text()
        assert httpx.post(f"http://127.0.0.1:{port}/predict", content=example, headers={"content-type": "application/json"}).status_code == 401
        response = httpx.post(f"http://127.0.0.1:{port}/predict", content=example, headers={"content-type": "application/json", **local})
        assert response.status_code == 200, log.read_text()
        shot = next(data_wallhack.generate(1, seed=3)).image
        verdict = httpx.post(f"http://127.0.0.1:{port + 1}/predict", files=[("images", ("shot.jpg", shot))], headers=local, timeout=60)
        assert verdict.status_code == 200 and verdict.json()["model_version"] == wallhack_trained["tag"], log.read_text()
        astronaut = cv2.imencode(".jpg", skimage.data.astronaut()[..., ::-1])[1].tobytes()
        faces = httpx.post(f"http://127.0.0.1:{port + 2}/predict", files=[("images", ("face.jpg", astronaut))], headers=local, timeout=60)
        assert faces.status_code == 200 and faces.json()["results"][0]["faces"][0]["dominant"] == "happy", log.read_text()
        bus = photos.ultralytics_asset("bus.jpg").read_bytes()
        people = httpx.post(f"http://127.0.0.1:{port + 3}/predict", files=[("images", ("bus.jpg", bus))], headers=local, timeout=60)
        assert people.status_code == 200 and people.json()["results"][0]["count"] == 4, log.read_text()
        event = {"user_id": "up-1", "time": 60, "kind": "reward", "gain": 25}
        assert httpx.post(f"http://127.0.0.1:{port + 4}/events", json={"events": [event]}, headers=local).json()["events"] == 1, log.read_text()
        scored = httpx.post(f"http://127.0.0.1:{port + 4}/score_user", json={"user_id": "up-1"}, headers=local)
        assert scored.status_code == 200 and scored.json()["model_version"] == abuse_trained["tag"], log.read_text()
        text = log.read_text()
        assert "registered spend:" in text and not any(f"no {m} model" in text for m in ("wallhack", "emotion", "person", "abuse"))
        # its progress in a log: a line per step with the time elapsed (a spinner would leave only its last state)
        assert re.search(r"^training spend: payer classifier  0:\d\d:\d\d$", text, re.MULTILINE) and "training spend: done" in text
        assert f"serving spend on http://127.0.0.1:{port}" in text and f"serving wallhack on http://127.0.0.1:{port + 1}" in text
        assert f"serving emotion on http://127.0.0.1:{port + 2}" in text and f"serving person on http://127.0.0.1:{port + 3}" in text
        assert f"serving abuse on http://127.0.0.1:{port + 4}" in text and f"Prometheus: {prometheus}" in text
        assert f"Redis (online features of abuse): redis://:***@127.0.0.1:{redis_port}/0" in text
        rules = httpx.get(f"{prometheus}/api/v1/rules").json()["data"]["groups"]
        assert len(rules) >= 4
        query = {"query": "playserve_model_info"}
        deadline = time.monotonic() + 60  # the first scrapes come within one 15 s interval
        while time.monotonic() < deadline and len(httpx.get(f"{prometheus}/api/v1/query", params=query).json()["data"]["result"]) < 5:
            time.sleep(1)
        infos = httpx.get(f"{prometheus}/api/v1/query", params=query).json()["data"]["result"]
        assert sorted(i["metric"]["model"] for i in infos) == sorted(catalog.names())
        assert {i["metric"]["namespace"] for i in infos} == {"playserve-local"}
    finally:
        stop_server(process)
    assert process.returncode == 0, log.read_text()[-3000:]
    for url in (f"{prometheus}/-/ready", *(f"http://127.0.0.1:{port + i}/readyz" for i in range(5))):
        with pytest.raises(httpx.ConnectError):
            httpx.get(url)
    with pytest.raises(redis.ConnectionError):
        redis.Redis(port=redis_port).ping()
    assert len(run_cli("models", "--json", env=env).stdout.splitlines()) == 5


def test_up_refuses_an_unknown_model():
    result = run_cli("up", "--models", "spend,nosuch", check=False)
    assert result.returncode == 2 and "nosuch" in result.stderr

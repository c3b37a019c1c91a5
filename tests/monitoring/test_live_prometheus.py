"""The live check: a real Prometheus (scraping every second, alert rules loaded) scrapes every real
service while each one's locust file drives a short bounded load; then every dashboard query and
every rule expression runs against it through the HTTP API.

A query fails the check when Prometheus rejects it, or when it returns no series although its
sources run here. Metrics from kube-state-metrics (kube_*) and Argo CD (argocd_*) do not exist
outside a cluster: selectors of those are checked for validity only (their names and labels are
pinned by the promtool unit tests in test_alert_rules.py)."""

from __future__ import annotations

import csv
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import promql_parser
import pytest

from playserve import local_prometheus
from playserve.dashboards import dashboards, targets
from playserve.monitoring import prometheus_rules
from playserve import catalog
from playserve.services import free_port
from tests.conftest import REPO

CLUSTER_ONLY = ("kube_", "argocd_")
LOCUST = str(Path(sys.executable).with_name("locust"))
LOAD_USERS, LOAD_SECONDS = 8, 20
# a camera frame costs ~0.3 s of both cores: 4 cameras are a healthy load for one person replica
USERS = {"person": 4}
RATE_INTERVAL = "5m"  # stands in for Grafana's $__rate_interval; covers the whole load


@dataclass
class Live:
    url: str
    locust: dict[str, list[dict]]  # model -> locust's stats rows

    def query(self, expr: str) -> list[dict]:
        body = httpx.get(f"{self.url}/api/v1/query", params={"query": expr}, timeout=30).json()
        assert body["status"] == "success", f"{expr}\n{body.get('error')}"
        return body["data"]["result"]

    def label_values(self, label: str, match: str) -> list[str]:
        return httpx.get(f"{self.url}/api/v1/label/{label}/values", params={"match[]": match}, timeout=30).json()["data"]


def run_locust(model: str, host: str, out: Path) -> list[dict]:
    """The model's locust file, headless and bounded in users and time, in its own process."""
    users = USERS.get(model, LOAD_USERS)
    command = [LOCUST, "-f", str(REPO / "load" / "locust" / f"{model}.py"), "--headless", "-u", str(users),
               "-r", str(users), "-t", f"{LOAD_SECONDS}s", "--host", host, "--csv", str(out), "--only-summary"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=LOAD_SECONDS + 120, cwd=REPO)
    assert result.returncode == 0, result.stderr[-3000:]
    with open(f"{out}_stats.csv") as stats:
        return list(csv.DictReader(stats))


@pytest.fixture(scope="module")
def live(server_of, tmp_path_factory) -> Live:
    state = tmp_path_factory.mktemp("prometheus")
    servers = {model: server_of(model) for model in catalog.names()}
    ports = {model: int(server.url.rsplit(":", 1)[1]) for model, server in servers.items()}
    with local_prometheus.running(state, free_port(), ports, interval="1s") as url:
        live = Live(url, {model: run_locust(model, server.url, state / model) for model, server in servers.items()})
        deadline = time.monotonic() + 60  # a few scrapes and rule evaluations after the load
        while time.monotonic() < deadline and not live.query("playserve:request_errors:ratio_rate5m"):
            time.sleep(1)
        time.sleep(3)
        yield live


def selectors(expr: str) -> list[str]:
    """Every vector selector in a PromQL expression, without offsets (a fresh Prometheus has no past)."""
    found, stack = [], [promql_parser.parse(expr)]
    while stack:
        node = stack.pop()
        if isinstance(node, promql_parser.VectorSelector):
            found.append(f"{node.name or ''}{node.matchers if node.matchers.matchers else ''}")
        elif isinstance(node, promql_parser.MatrixSelector):
            stack.append(node.vector_selector)
        else:
            stack.extend(getattr(node, attr) for attr in ("lhs", "rhs", "expr", "param") if getattr(node, attr, None) is not None)
            stack.extend(getattr(node, "args", None) or [])
    return found


def rules() -> list[dict]:
    return [rule for obj in prometheus_rules().values() for group in obj["spec"]["groups"] for rule in group["rules"]]


def test_selectors_finds_every_selector_and_drops_offsets():
    assert sorted(selectors('abs(a:b{x="1"} / (a:b offset 1d) - 1) > on (m) group_left sum by (m) (rate(c_total{y=~"2"}[5m]))')) \
        == ['a:b', 'a:b{x="1"}', 'c_total{y=~"2"}']


def test_every_served_model_has_a_locust_file():
    assert {p.stem for p in (REPO / "load" / "locust").glob("*.py")} >= set(catalog.names())


@pytest.mark.parametrize("model", catalog.names())
def test_locust_load_ran_every_task_without_failures(live, model):
    rows = {row["Name"]: row for row in live.locust[model]}
    assert int(rows["Aggregated"]["Failure Count"]) == 0, rows
    # person's cameras send a frame every 5-8 s from staggered starts, after one broken upload: 2-3 each in 20 s
    assert int(rows["Aggregated"]["Request Count"]) >= USERS.get(model, LOAD_USERS) * (2 if model == "person" else 5)
    tasks = {"spend": {"/predict [1 user]", "/predict [10-200 users]", "/predict [malformed]"},
             "wallhack": {"/predict [1 image]", "/predict [2-8 images]", "/predict [broken]"},
             "emotion": {"/stream [1 frame]", "/predict [broken]", "/report [not a video]"},
             "person": {"/predict [1 frame]", "/predict [broken]", "/video [not a video]"},
             "abuse": {"/events [stream]", "/score [1 user]", "/score [10-100 users]", "/score_user", "/score [malformed]", "/events [malformed]"}}
    assert tasks[model] <= set(rows)


def test_every_dashboard_query_returns_series(live):
    checked = 0
    for name, board in dashboards().items():
        values = {"__rate_interval": RATE_INTERVAL}
        for variable in board["templating"]["list"]:
            if variable["type"] != "query":
                continue
            selector, label = re.fullmatch(r"label_values\((.*), (\w+)\)", variable["query"]).groups()
            found = live.label_values(label, substitute(selector, values))
            assert found, f"{name}: variable {variable['name']} has no values"
            values[variable["name"]] = "|".join(found)  # as Grafana's multi-value selection renders it
        for target in targets(board):
            expr = substitute(target["expr"], values)
            assert live.query(expr), f"{name}: no series for {expr}"
            checked += 1
    assert checked == sum(len(targets(board)) for board in dashboards().values())


def substitute(expr: str, values: dict[str, str]) -> str:
    for name in sorted(values, key=len, reverse=True):  # $service before $s...
        expr = expr.replace(f"${name}", values[name])
    return expr


@pytest.mark.parametrize("rule", rules(), ids=lambda r: r.get("alert") or r["record"])
def test_every_rule_expression_is_valid_and_its_sources_exist(live, rule):
    live.query(rule["expr"])  # valid: Prometheus accepts it
    for selector in selectors(rule["expr"]):
        if selector.startswith(CLUSTER_ONLY):
            continue
        assert live.query(selector), f"{rule.get('alert') or rule['record']}: no series for {selector}"
    if "record" in rule:
        assert live.query(rule["record"]), f"recording rule {rule['record']} produced nothing"


def test_prometheus_evaluates_every_rule_without_error_and_a_healthy_service_raises_no_alert(live):
    groups = httpx.get(f"{live.url}/api/v1/rules", timeout=30).json()["data"]["groups"]
    evaluated = [rule for group in groups for rule in group["rules"]]
    assert len(evaluated) == len(rules())
    assert [r["name"] for r in evaluated if r["health"] != "ok"] == []
    active = {r["name"] for r in evaluated if r["type"] == "alerting" and r["state"] != "inactive"}
    assert active == {"Watchdog"}, [alert["labels"] for r in evaluated for alert in r.get("alerts", [])]

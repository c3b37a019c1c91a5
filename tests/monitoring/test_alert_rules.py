"""Every alert is well formed, points at a runbook that exists, passes `promtool check rules`,
and has a firing and a quiet case under `promtool test rules` (Watchdog only fires, by design)."""

import re
import shutil
import subprocess

import pytest
import yaml

from playserve.monitoring import RUNBOOKS_URL, alerts, write_rule_files
from tests.conftest import REPO

NS = 'namespace="playserve-prod"'
OK = f'bentoml_service_request_total{{endpoint="/predict",http_response_code="200",service_name="spend",{NS}}}'
ERR = f'bentoml_service_request_total{{endpoint="/predict",http_response_code="500",service_name="spend",{NS}}}'
SPEND = {"service_name": "spend", "namespace": "playserve-prod"}
OVERLOAD = ERR.replace('"500"', '"429"')
NO_KEY = OK.replace('"200"', '"401"')
UNKNOWN_ROUTE = OK.replace('"/predict"', '"/<unknown>"').replace('"200"', '"404"')


def latency(endpoint: str, fast: str, slow: str, service: str = "spend") -> list[dict]:
    """Duration buckets: `fast` requests under 100 ms, `slow` ones between 0.5 and 1 s (per minute)."""
    name = f'bentoml_service_request_duration_seconds_bucket{{endpoint="{endpoint}",http_response_code="200",service_name="{service}",{NS}'
    return [{"series": f'{name},le="{le}"}}', "values": values} for le, values in
            (("0.1", f"0+{fast}x40"), ("0.5", f"0+{fast}x40"), ("1", f"0+{int(fast) + int(slow)}x40"), ("+Inf", f"0+{int(fast) + int(slow)}x40"))]


POD = '{namespace="playserve-prod",pod="spend-7d9f",container="spend"'
ARGO = 'argocd_app_info{project="playserve",name="spend-prod",dest_namespace="playserve-prod"'
PREDICTION = f'{{model="spend",output="expected_spend",{NS}}}'

# alert -> (eval time, series when it should fire, series when it should not, labels it fires with)
CASES = {
    "PlayserveErrorBudgetFastBurn": ("70m", [{"series": OK, "values": "0+100x80"}, {"series": ERR, "values": "0+10x80"}],
                                     [{"series": OK, "values": "0+100x80"}, {"series": ERR, "values": "0+0.05x80"}],
                                     SPEND),
    "PlayserveErrorBudgetSlowBurn": ("1500m", [{"series": OK, "values": "0+1000x1560"}, {"series": ERR, "values": "0+5x1560"}],
                                     [{"series": OK, "values": "0+1000x1560"}, {"series": ERR, "values": "0+0.5x1560"}],
                                     SPEND),
    "PlayserveLatencyP99High": ("25m", latency("/predict", "10", "90"),
                                # slow bulk uploads and reviewers' explanations are not interactive and must not page,
                                # session and recording reports neither; wallhack's and person's objective is 2 s, emotion's 1 s
                                latency("/predict", "100", "0") + latency("/predict_table", "0", "50")
                                + latency("/explain", "0", "50", "wallhack") + latency("/predict", "10", "90", "wallhack")
                                + latency("/report", "0", "50", "emotion") + latency("/report/html", "0", "50", "emotion")
                                + latency("/stream", "10", "90", "emotion")
                                + latency("/video", "0", "50", "person") + latency("/predict", "10", "90", "person"),
                                SPEND),
    "PlayserveNoTraffic": ("50m", [{"series": OK, "values": "100x60"}], [{"series": OK, "values": "0+5x60"}],
                           SPEND),
    "PlayservePodRestarting": ("25m", [{"series": f"kube_pod_container_status_restarts_total{POD}}}", "values": "0+1x30"}],
                               [{"series": f"kube_pod_container_status_restarts_total{POD}}}", "values": "0x30"},
                                {"series": 'kube_pod_container_status_restarts_total{namespace="kube-system",pod="x",container="x"}', "values": "0+1x30"}],
                               {"namespace": "playserve-prod", "pod": "spend-7d9f", "container": "spend"}),
    "PlayservePodCrashLooping": ("30m", [{"series": f'kube_pod_container_status_waiting_reason{POD},reason="CrashLoopBackOff"}}', "values": "1x40"}],
                                 [{"series": f'kube_pod_container_status_waiting_reason{POD},reason="CrashLoopBackOff"}}', "values": "0x40"}],
                                 {"namespace": "playserve-prod", "pod": "spend-7d9f", "container": "spend", "reason": "CrashLoopBackOff"}),
    "PlayserveFeatureDrift": ("40m", [{"series": f'playserve_feature_psi{{model="spend",feature="age",pod="a",{NS}}}', "values": "0.4x60"}],
                              [{"series": f'playserve_feature_psi{{model="spend",feature="age",pod="a",{NS}}}', "values": "0.05x60"}],
                              {"model": "spend", "feature": "age", "namespace": "playserve-prod"}),
    # Mean 100 for a day, then 200: compared with the same hour yesterday, +100%.
    "PlayservePredictionShift": ("1700m", [{"series": f"playserve_prediction_count{PREDICTION}", "values": "0+600x170"},
                                           {"series": f"playserve_prediction_sum{PREDICTION}", "values": "0+60000x150 9120000+120000x19"}],
                                 [{"series": f"playserve_prediction_count{PREDICTION}", "values": "0+600x170"},
                                  {"series": f"playserve_prediction_sum{PREDICTION}", "values": "0+60000x170"}],
                                 {"model": "spend", "output": "expected_spend", "namespace": "playserve-prod"}),
    "PlayserveFeatureStoreRefusing": ("10m", [{"series": f'playserve_feature_store_errors_total{{model="abuse",reason="full",pod="a",{NS}}}', "values": "0+3x20"}],
                                      [{"series": f'playserve_feature_store_errors_total{{model="abuse",reason="full",pod="a",{NS}}}', "values": "4x20"}],
                                      {"model": "abuse", "reason": "full", "namespace": "playserve-prod"}),
    "PlayserveScrapeTooLarge": ("30m", [{"series": f'scrape_samples_scraped{{pod="spend-1",job="spend",{NS}}}', "values": "60000x40"}],
                                [{"series": f'scrape_samples_scraped{{pod="spend-1",job="spend",{NS}}}', "values": "3000x40"}],
                                {"namespace": "playserve-prod", "pod": "spend-1"}),
    "PlayserveArgoAppOutOfSync": ("20m", [{"series": f'{ARGO},sync_status="OutOfSync",health_status="Healthy"}}', "values": "1x30"}],
                                  [{"series": f'{ARGO},sync_status="Synced",health_status="Healthy"}}', "values": "1x30"}],
                                  {"name": "spend-prod", "dest_namespace": "playserve-prod"}),
    "PlayserveArgoAppDegraded": ("15m", [{"series": f'{ARGO},sync_status="Synced",health_status="Degraded"}}', "values": "1x20"}],
                                 [{"series": f'{ARGO},sync_status="Synced",health_status="Healthy"}}', "values": "1x20"}],
                                 {"name": "spend-prod", "dest_namespace": "playserve-prod", "health_status": "Degraded"}),
}
INTERVALS = {"PlayserveErrorBudgetSlowBurn": "1m", "PlayservePredictionShift": "10m"}


# Beyond each alert's two cases: (test, alert, eval time, series, fires). A 429 is the server's
# overload and spends budget; 401s and unknown routes are not inference requests: they neither
# dilute the error ratio nor count as traffic.
MORE_CASES = [
    ("429s burn the budget", "PlayserveErrorBudgetFastBurn", "70m",
     [{"series": OK, "values": "0+100x80"}, {"series": OVERLOAD, "values": "0+10x80"}], True),
    ("a flood of 401s does not hide 5xx", "PlayserveErrorBudgetFastBurn", "70m",
     [{"series": OK, "values": "0+10x80"}, {"series": ERR, "values": "0+1x80"}, {"series": NO_KEY, "values": "0+10000x80"},
      {"series": UNKNOWN_ROUTE, "values": "0+10000x80"}], True),
    ("only 401s and unknown routes are no traffic", "PlayserveNoTraffic", "50m",
     [{"series": NO_KEY, "values": "0+100x60"}, {"series": UNKNOWN_ROUTE, "values": "0+100x60"}], True),
]


def render(template: str, labels: dict) -> str:
    """Prometheus' {{ $labels.x }} substitution, the only templating the annotations use."""
    return re.sub(r"\{\{ \$labels\.(\w+) \}\}", lambda m: labels[m.group(1)], template)


def promtool_tests() -> dict:
    by_name = {a["alert"]: a for a in alerts()}
    tests = [{"interval": "1m", "input_series": [], "alert_rule_test": [{"eval_time": "1m", "alertname": "Watchdog", "exp_alerts": [
        {"exp_labels": {"severity": "none"}, "exp_annotations": by_name["Watchdog"]["annotations"]}]}]}]
    for name, (at, firing, quiet, labels) in CASES.items():
        expected = {**labels, "severity": by_name[name]["labels"]["severity"]}
        annotations = {k: render(v, expected) for k, v in by_name[name]["annotations"].items()}
        interval = INTERVALS.get(name, "1m")
        tests.append({"name": f"{name} fires", "interval": interval, "input_series": firing, "alert_rule_test": [
            {"eval_time": at, "alertname": name, "exp_alerts": [{"exp_labels": expected, "exp_annotations": annotations}]}]})
        tests.append({"name": f"{name} stays quiet", "interval": interval, "input_series": quiet, "alert_rule_test": [
            {"eval_time": at, "alertname": name, "exp_alerts": []}]})
    for test, name, at, series, fires in MORE_CASES:
        expected = {**SPEND, "severity": by_name[name]["labels"]["severity"]}
        alerts_expected = [{"exp_labels": expected, "exp_annotations": {k: render(v, expected) for k, v in by_name[name]["annotations"].items()}}]
        tests.append({"name": test, "interval": "1m", "input_series": series, "alert_rule_test": [
            {"eval_time": at, "alertname": name, "exp_alerts": alerts_expected if fires else []}]})
    return {"rule_files": [p.name for p in sorted((REPO / "monitoring/rules").glob("*.yaml"))], "evaluation_interval": "1m", "tests": tests}


def test_every_alert_is_complete_and_has_a_runbook():
    for alert in alerts():
        assert {"summary", "description", "runbook_url"} <= alert["annotations"].keys(), alert["alert"]
        assert alert["labels"]["severity"] in {"critical", "warning", "none"} and "for" in alert, alert["alert"]
        runbook = alert["annotations"]["runbook_url"].removeprefix(RUNBOOKS_URL)
        assert (REPO / "monitoring/runbooks" / runbook).is_file(), alert["alert"]


def test_every_alert_has_cases():
    assert {a["alert"] for a in alerts()} == set(CASES) | {"Watchdog"}


@pytest.fixture(scope="module")
def rules_dir(tmp_path_factory):
    directory = tmp_path_factory.mktemp("rules")
    write_rule_files(directory)
    return directory


def test_promtool_check_rules(rules_dir):
    result = subprocess.run([shutil.which("promtool"), "check", "rules", *map(str, sorted(rules_dir.glob("*.yaml")))], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_promtool_unit_tests(rules_dir):
    (rules_dir / "tests.yml").write_text(yaml.safe_dump(promtool_tests(), sort_keys=False))
    result = subprocess.run([shutil.which("promtool"), "test", "rules", str(rules_dir / "tests.yml")], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_promtool_unit_tests_fail_when_a_rule_is_wrong(rules_dir, tmp_path):
    """The cases can fail: halve the drift threshold's meaning and the quiet case fires."""
    for path in rules_dir.glob("*.yaml"):
        text = path.read_text().replace("playserve_feature_psi) > 0.25", "playserve_feature_psi) > 0.01")
        (tmp_path / path.name).write_text(text)
    drift_only = promtool_tests()  # only the drift cases: the whole set takes promtool ~30 s
    drift_only["tests"] = [t for t in drift_only["tests"] if t.get("name", "").startswith("PlayserveFeatureDrift")]
    (tmp_path / "tests.yml").write_text(yaml.safe_dump(drift_only, sort_keys=False))
    result = subprocess.run([shutil.which("promtool"), "test", "rules", str(tmp_path / "tests.yml")], capture_output=True, text=True)
    assert result.returncode == 1 and "PlayserveFeatureDrift stays quiet" in result.stdout + result.stderr

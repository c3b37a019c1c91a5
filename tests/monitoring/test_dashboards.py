"""Dashboards as code: the committed JSON is what the generator makes, every served model has a
dashboard shipped to Grafana's sidecar, and every query parses as PromQL."""

from __future__ import annotations

import json

import promql_parser
import pytest

from playserve.dashboards import dashboards, targets
from playserve.manifests import REPO_ROOT
from playserve.manifests import render as kustomize
from playserve import catalog

BOARDS = dashboards()


def test_an_overview_and_one_dashboard_per_served_model_ship_as_sidecar_configmaps():
    assert set(BOARDS) == {"playserve-overview.json", *(f"playserve-{m}.json" for m in catalog.names())}
    configmaps = [obj for obj in kustomize(REPO_ROOT / "monitoring") if obj["kind"] == "ConfigMap"]
    shipped = {key: value for cm in configmaps for key, value in cm["data"].items()}
    assert {cm["metadata"]["labels"]["grafana_dashboard"] for cm in configmaps} == {"1"}
    assert {name: json.loads(text) for name, text in shipped.items()} == BOARDS


@pytest.mark.parametrize("name", sorted(BOARDS))
def test_panels_have_unique_ids_and_every_query_parses(name):
    board = BOARDS[name]
    ids = [panel["id"] for panel in board["panels"]]
    assert len(ids) == len(set(ids))
    uids = [b["uid"] for b in BOARDS.values()]
    assert len(uids) == len(set(uids))
    for target in targets(board):
        # Grafana's $__rate_interval and variables are substituted before Prometheus sees a query.
        promql_parser.parse(target["expr"].replace("$__rate_interval", "1m").replace("$namespace", ".*").replace("$service", ".*"))
    for panel in board["panels"]:
        assert panel["type"] == "row" or panel["title"] and panel.get("targets"), panel["title"]

"""Grafana dashboards as code: an overview across models and one dashboard per model, written
to monitoring/dashboards/ by `playserve generate` and shipped to the cluster as ConfigMaps for
Grafana's sidecar.

Every query selects on `namespace=~"$namespace"`: one namespace per environment in the cluster
(playserve-staging, playserve-prod), playserve-local for the run command's Prometheus."""

from __future__ import annotations

import json

from grafana_foundation_sdk.builders import dashboard as db
from grafana_foundation_sdk.builders import prometheus, table, timeseries
from grafana_foundation_sdk.builders.common import GraphThresholdsStyleConfig
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models import dashboard as model
from grafana_foundation_sdk.models.common import GraphThresholdsStyleMode, VisibilityMode
from grafana_foundation_sdk.models.prometheus import PromQueryFormat

from playserve.paths import REPO_ROOT
from playserve import catalog

OUTPUT = REPO_ROOT / "monitoring" / "dashboards"
DATASOURCE = model.DataSourceRef(type_val="prometheus", uid="${datasource}")
RATE = "$__rate_interval"
NS = 'namespace=~"$namespace"'
# Inference requests, the same filter as the SLO rules: not health, metrics or docs, not to an
# unknown route, not refused for a missing or unknown key.
INFERENCE = 'endpoint!~"/|/(livez|readyz|metrics|healthz|docs.json|<unknown>)",http_response_code!="401"'
PSI_MODERATE, PSI_MAJOR = 0.1, 0.25  # PlayserveFeatureDrift fires over PSI_MAJOR


def query(expr: str, legend: str = "", instant: bool = False) -> prometheus.Dataquery:
    q = prometheus.Dataquery().expr(expr).legend_format(legend or "__auto").datasource(DATASOURCE)
    return q.instant().format(PromQueryFormat.TABLE) if instant else q.range()


def thresholds(*steps: tuple[float, str]) -> db.ThresholdsConfig:
    levels = [model.Threshold(None, "green"), *(model.Threshold(value, color) for value, color in steps)]
    return db.ThresholdsConfig().mode(model.ThresholdsMode.ABSOLUTE).steps(levels)


def graph(title: str, unit: str, *queries: prometheus.Dataquery, description: str = "",
          limits: db.ThresholdsConfig | None = None, width: int = 8) -> timeseries.Panel:
    panel = timeseries.Panel().title(title).description(description).unit(unit).datasource(DATASOURCE)
    panel = panel.span(width).height(8).fill_opacity(10).show_points(VisibilityMode.NEVER)
    if limits:
        panel = panel.thresholds(limits).thresholds_style(GraphThresholdsStyleConfig().mode(GraphThresholdsStyleMode.LINE))
    for q in queries:
        panel = panel.with_target(q)
    return panel


def versions_table(title: str, selector: str, width: int = 24) -> table.Panel:
    """Which model version (and git sha) each environment serves, from playserve_model_info."""
    hide = model.DataTransformerConfig(id_val="organize", options={"excludeByName": {"Time": True, "Value": True}})
    return (table.Panel().title(title).datasource(DATASOURCE).span(width).height(5)
            .description("One row per environment and version; two rows for one model mean a rollout is in progress.")
            .with_target(query(f"max by (namespace, model, version, git_sha) (playserve_model_info{{{selector}}})", instant=True))
            .with_transformation(hide))


def rate(metric: str, selector: str) -> str:
    return f"rate({metric}{{{selector}}}[{RATE}])"


def quantile(q: float, metric: str, selector: str, by: str) -> str:
    return f"histogram_quantile({q}, sum by (le, {by}) ({rate(metric + '_bucket', selector)}))"


def mean(metric: str, selector: str, by: str) -> str:
    return f"sum by ({by}) ({rate(metric + '_sum', selector)}) / sum by ({by}) ({rate(metric + '_count', selector)})"


def variables(*extra: db.QueryVariable) -> list:
    datasource = db.DatasourceVariable("datasource").label("Data source").type("prometheus")
    namespace = (db.QueryVariable("namespace").label("Environment").datasource(DATASOURCE)
                 .query("label_values(playserve_model_info, namespace)").refresh(model.VariableRefresh.ON_TIME_RANGE_CHANGED)
                 .multi(True).include_all(True).all_value(".*").sort(model.VariableSort.ALPHABETICAL_ASC))
    return [datasource, namespace, *extra]


def new_dashboard(uid: str, title: str, description: str, variables_: list) -> db.Dashboard:
    board = (db.Dashboard(title).uid(uid).description(description).tags(["playserve"]).refresh("30s")
             .time("now-3h", "now").timezone("browser").tooltip(model.DashboardCursorSync.CROSSHAIR).readonly())
    for variable in variables_:
        board = board.with_variable(variable)
    return board.link(db.DashboardLink("playserve").type(model.DashboardLinkType.DASHBOARDS).tags(["playserve"])
                      .as_dropdown(True).include_vars(True).keep_time(True))


def overview() -> db.Dashboard:
    service = (db.QueryVariable("service").label("Service").datasource(DATASOURCE)
               .query(f"label_values(bentoml_service_request_total{{{NS}}}, service_name)")
               .refresh(model.VariableRefresh.ON_TIME_RANGE_CHANGED).multi(True).include_all(True).all_value(".*"))
    calls = f'{NS},service_name=~"$service",{INFERENCE}'
    served = f'{NS},service_name=~"$service"'
    by_service = "sum by (namespace, service_name)"
    requests = rate("bentoml_service_request_total", calls)
    server_errors = rate("bentoml_service_request_total", calls + ',http_response_code=~"5..|429"')
    client_errors = rate("bentoml_service_request_total", calls + ',http_response_code=~"4..",http_response_code!="429"')
    return (
        new_dashboard("playserve-overview", "playserve / overview",
                      "Is every model service healthy and fast, and which version runs where.", variables(service))
        .with_row(db.Row("Deployed"))
        .with_panel(versions_table("Deployed version per environment", f'{NS},model=~"$service"'))
        .with_row(db.Row("Traffic and errors"))
        .with_panel(graph("Requests per second", "reqps",
                          query(f"{by_service} ({requests})", "{{service_name}} {{namespace}}")))
        .with_panel(graph("Server errors and overload (5xx and 429 share)", "percentunit",
                          query(f"{by_service} ({server_errors}) / {by_service} ({requests})", "{{service_name}} {{namespace}}"),
                          description="Spends the 99.9% availability SLO's error budget (0.1%): a 429 is the pod out of room, not the caller's mistake.",
                          limits=thresholds((0.001, "red"))))
        .with_panel(graph("Bad input (4xx per second)", "reqps",
                          query(f"{by_service} ({client_errors})", "{{service_name}} {{namespace}}"),
                          description="Callers' mistakes (not 429, not 401); does not spend the error budget. Reasons on each model's dashboard."))
        .with_row(db.Row("Latency"))
        .with_panel(graph("p50 latency", "s", query(quantile(0.5, "bentoml_service_request_duration_seconds", calls,
                                                             "namespace, service_name"), "{{service_name}} {{namespace}}")))
        .with_panel(graph("p99 latency", "s", query(quantile(0.99, "bentoml_service_request_duration_seconds", calls,
                                                             "namespace, service_name"), "{{service_name}} {{namespace}}"),
                          description="All endpoints; the alert watches the interactive ones against each model's objective ("
                          + ", ".join(f"{s.name} {s.latency_objective_s:g} s" for s in catalog.models().values()) + ").",
                          limits=thresholds((min(s.latency_objective_s for s in catalog.models().values()), "red"))))
        .with_panel(graph("Error budget burn rate (1 h)", "none",
                          query(f'playserve:request_errors:ratio_rate1h{{{NS},service_name=~"$service"}} / 0.001', "{{service_name}} {{namespace}}"),
                          description="1 = spending the budget exactly over 30 days; the fast-burn page needs 14.4.",
                          limits=thresholds((1, "yellow"), (14.4, "red"))))
        .with_row(db.Row("Load"))
        .with_panel(graph("Requests in flight", "short",
                          query(f"sum by (namespace, service_name) (bentoml_service_request_in_progress{{{served}}})",
                                "{{service_name}} {{namespace}}"), width=24))
    )


def model_dashboard(name: str) -> db.Dashboard:
    calls = f'{NS},service_name="{name}",{INFERENCE}'
    mine = f'{NS},model="{name}"'
    board = (
        new_dashboard(f"playserve-{name}", f"playserve / {name}",
                      f"The {name} model's service: traffic, latency, what it predicts and what it is sent.", variables())
        .with_row(db.Row("Version"))
        .with_panel(versions_table("Serving", mine))
        .with_row(db.Row("Service"))
        .with_panel(graph("Requests per second by endpoint and status", "reqps",
                          query(f"sum by (endpoint, http_response_code) ({rate('bentoml_service_request_total', calls)})",
                                "{{endpoint}} {{http_response_code}}")))
        .with_panel(graph("p99 latency by endpoint", "s",
                          query(quantile(0.99, "bentoml_service_request_duration_seconds", calls, "endpoint"), "{{endpoint}}"),
                          limits=thresholds((catalog.spec(name).latency_objective_s, "red"))))
        .with_panel(graph("Rows per model call (p50, p99)", "short",
                          query(quantile(0.5, "playserve_input_rows", mine, "endpoint"), "p50 {{endpoint}}"),
                          query(quantile(0.99, "playserve_input_rows", mine, "endpoint"), "p99 {{endpoint}}"),
                          description="How many records each call of the model saw (images and frames per request for the image models)."))
        .with_row(db.Row("Predictions"))
        .with_panel(graph("Prediction quantiles (p10, p50, p90)", "short",
                          *(query(quantile(q, "playserve_prediction", mine, "output"), f"p{round(q * 100)} {{{{output}}}}")
                            for q in (0.1, 0.5, 0.9)), width=12))
        .with_panel(graph("Mean prediction", "short", query(mean("playserve_prediction", mine, "output"), "{{output}}"),
                          description="PlayservePredictionShift compares the hourly mean with the same hour yesterday.", width=12))
        .with_row(db.Row("Inputs"))
        .with_panel(graph("Validation failures by reason and field", "reqps",
                          query(f"sum by (endpoint, reason, field) ({rate('playserve_validation_failures_total', mine)})",
                                "{{endpoint}} {{field}}: {{reason}}"), width=12))
    )
    for panel in INPUT_PANELS[catalog.spec(name).input_kind](mine):
        board = board.with_panel(panel)
    return board


def tabular_panels(mine: str) -> list:
    return [graph("Feature drift (PSI against training)", "none",
                  query(f"max by (feature) (playserve_feature_psi{{{mine}}})", "{{feature}}"),
                  description="Population stability index over the last requests; 0.1-0.25 moderate, over 0.25 alerts.",
                  limits=thresholds((PSI_MODERATE, "yellow"), (PSI_MAJOR, "red")), width=12)]


def image_panels(mine: str) -> list:
    return [
        graph("Upload size (p50, p99)", "decbytes",
              query(quantile(0.5, "playserve_input_bytes", mine, "endpoint"), "p50 {{endpoint}}"),
              query(quantile(0.99, "playserve_input_bytes", mine, "endpoint"), "p99 {{endpoint}}"), width=6),
        graph("Image decode failures", "reqps",
              query(f"sum by (reason) ({rate('playserve_image_decode_failures_total', mine)})", "{{reason}}"), width=6),
    ]


# What a model's service exports beyond the shared metrics, by its spec's input kind, hence which panels it gets.
INPUT_PANELS = {"table": tabular_panels, "events": tabular_panels, "images": image_panels, "video": image_panels}


def dashboards() -> dict[str, dict]:
    """File name -> dashboard JSON, for the overview and every served model."""
    boards = {"playserve-overview.json": overview(), **{f"playserve-{m}.json": model_dashboard(m) for m in catalog.names()}}
    return {name: numbered(json.loads(JSONEncoder().encode(board.build()))) for name, board in boards.items()}


def numbered(board: dict) -> dict:
    """Unique panel ids and query refIds (A, B, ...), which Grafana needs and the SDK leaves unset."""
    for panel_id, panel in enumerate(board["panels"], start=1):
        panel["id"] = panel_id
        for index, target in enumerate(panel.get("targets", [])):
            target["refId"] = chr(ord("A") + index)
    return board


def render(board: dict) -> str:
    return json.dumps(board, indent=2, sort_keys=True) + "\n"


def targets(board: dict) -> list[dict]:
    return [target for panel in board["panels"] for target in panel.get("targets", [])]

"""Model metrics every service exposes beside BentoML's request metrics, from one helper:

    playserve_model_info{model, version, git_sha}                 1 for the version being served
    playserve_prediction{model, output}                           histogram of each output value
    playserve_validation_failures_total{model, endpoint, reason, field}
    playserve_feature_psi{model, feature}                         input drift (tabular models), of all workers' windows
    playserve_input_rows{model, endpoint}                         rows per model call, after adaptive batching
    playserve_input_bytes{model, endpoint}                        upload sizes (image and video models)
    playserve_image_decode_failures_total{model, reason}          (image and video models)
    playserve_auth_refusals_total{model, reason}                  401s and 403s: missing, unknown, forbidden
    playserve_feature_store_errors_total{model, reason}           feature store refusals (abuse): full, or the error's class

BentoML serves them at /metrics from its multiprocess registry. prometheus_client is imported
when a service instance is made, inside the worker, after BentoML has set
PROMETHEUS_MULTIPROC_DIR; imported earlier it would write to a registry nobody reads.
"""

from __future__ import annotations

import logging
import os
import re
import threading
import time
import typing
from collections.abc import Iterator, Sequence

import numpy as np
import typing_extensions

from training.common.drift import DEFAULT_WINDOW, DriftWindow, Rows, SharedCounts
from training.common.lazy import lazy

pd = lazy("pandas")

PREFIX = "playserve"
DRIFT_REFRESH_S = 1.0  # recompute PSI at most this often (in a thread of its own: requests never wait for it)
MAX_FIELD_CHARS = 60  # label values stay short and few
OTHER = "<other>"  # an endpoint, field or reason outside the service's own (a caller's invention)
FIXED_FIELDS = frozenset({"<body>", "<request>"})
REASON = re.compile(r"[a-z_]{1,40}")  # pydantic's error types and ours
# One bucket set for every output of every model, so dashboards and alerts need no per-model
# queries: fine steps over [0, 1] for probabilities and scores, then 1-2-5 steps up to a million
# for counts and amounts.
PREDICTION_BUCKETS = (0.01, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99, 1,
                      2, 5, 10, 20, 50, 100, 200, 500, 1e3, 2e3, 5e3, 1e4, 2e4, 5e4, 1e5, 2e5, 5e5, 1e6)


def failure_reasons(found) -> set[tuple[str, str]]:
    """(field, reason) pairs of a 400 (a bentos.common.errors.Problem): the field without its
    indices (users[17].age -> users.age: an index would make a label value per row)."""
    if found.unparsed:
        return {("<body>", "unparsed")}
    if not found.fields:
        return {("<request>", "invalid_argument")}
    return {(re.sub(r"\[\d+\]", "", f["field"])[:MAX_FIELD_CHARS] or "<request>", f["type"]) for f in found.fields}


FEW_VALUES = 8


def observe_many(histogram, values: Sequence[float]) -> None:
    """Histogram.observe for a whole array at once. prometheus_client has no batch call, and
    750,000 single calls take seconds; this counts with numpy and adds each bucket once, as
    observe() would (each value in the first bucket whose bound it does not exceed). NaNs are skipped.
    A few values go through observe() itself: numpy's fixed cost is four times one observe()."""
    values = np.asarray(values, dtype=float)
    if values.size <= FEW_VALUES:
        for value in values.tolist():
            if value == value:  # not NaN
                histogram.observe(value)
        return
    values = values[~np.isnan(values)]
    counts = np.bincount(np.searchsorted(histogram._upper_bounds, values, side="left"), minlength=len(histogram._upper_bounds))
    for bucket, count in zip(histogram._buckets, counts.tolist()):
        if count:
            bucket.inc(count)
    histogram._sum.inc(float(values.sum()))


_METRICS: dict[str, object] = {}


def _metric(kind: str, name: str, documentation: str, labels: Sequence[str], **options):
    """The process's one metric of that name: prometheus_client refuses a second registration."""
    if name not in _METRICS:
        import prometheus_client

        _METRICS[name] = getattr(prometheus_client, kind)(f"{PREFIX}_{name}", documentation, list(labels), **options)
    return _METRICS[name]


def input_rows_histogram():
    """Rows per model call; observed where the model runs, after adaptive batching has merged requests."""
    return _metric("Histogram", "input_rows", "Rows per model call (after adaptive batching)", ["model", "endpoint"],
                   buckets=[1, 10, 100, 1_000, 10_000, 100_000, 1_000_000])


def input_rows(model: str, endpoint: str, rows: int) -> None:
    input_rows_histogram().labels(model, endpoint).observe(rows)


def prediction_histogram():
    return _metric("Histogram", "prediction", "Distribution of each output's values", ["model", "output"], buckets=PREDICTION_BUCKETS)


HISTOGRAMS = {"prediction": prediction_histogram, "input_rows": input_rows_histogram}  # ServiceMetrics' series: by output, by endpoint


STORE_ERRORS = ("full", "TimeoutError", "ConnectionError")  # made at start, so the first refusal is a rise from 0


def store_error(model: str, reason: str | None = None) -> None:
    """A feature-store call that failed: `full` (Redis at maxmemory refuses writes) or the error's
    class; without a reason, the usual reasons' series are made at 0."""
    counter = _metric("Counter", "feature_store_errors", "Feature store calls that failed, answered 503 with nothing written",
                      ["model", "reason"])
    for name in (reason,) if reason else STORE_ERRORS:
        counter.labels(model, name[:MAX_FIELD_CHARS]).inc(1 if reason else 0)


def auth_refused(model: str, reason: str) -> None:
    _metric("Counter", "auth_refusals", "Requests refused for a missing or unknown API key (401) or a client "
            "calling outside its list (403)", ["model", "reason"]).labels(model, reason).inc()


class ServiceMetrics:
    """One per service instance; `reference` is the training reference stored with a tabular
    model (drift)."""

    def __init__(self, model: str, version: str, git_sha: str, reference: dict[str, dict] | None = None,
                 window: int = DEFAULT_WINDOW):
        self.model = model
        _metric("Gauge", "model_info", "The model version this service serves (value 1)", ["model", "version", "git_sha"],
                multiprocess_mode="livemax").labels(model, version, git_sha).set(1)
        self.drift = DriftWindow(reference, window) if reference else None
        if self.drift:
            shared = os.environ.get("PROMETHEUS_MULTIPROC_DIR")  # set by BentoML in every worker
            self.workers = SharedCounts(shared, model, reference) if shared else None
            self._rows_added = threading.Event()
            threading.Thread(target=self._refresh_drift_as_rows_arrive, name="drift", daemon=True).start()
        self._children: dict[tuple[str, str], object] = {}

    def observe(self, endpoint: str, outputs: dict[str, Sequence[float]], features: pd.DataFrame | Rows | None = None) -> None:
        """After a successful prediction: its outputs, its size and (tabular models) its inputs."""
        for name, values in outputs.items():
            observe_many(self._series("prediction", name), values)
        if features is not None:
            self._series("input_rows", endpoint).observe(len(features))
            if self.drift:
                self.drift.add(features)
                self._rows_added.set()

    def _series(self, metric: str, label: str):
        """This model's series of a histogram of HISTOGRAMS, kept: prometheus_client's labels()
        takes a lock and builds a key on every call."""
        key = (metric, label)
        if key not in self._children:
            self._children[key] = HISTOGRAMS[metric]().labels(self.model, label)
        return self._children[key]

    def _refresh_drift_as_rows_arrive(self) -> None:
        """PSI once new rows have arrived, then at most once every DRIFT_REFRESH_S: counting a
        window costs milliseconds, which no request should wait for."""
        while True:
            self._rows_added.wait()
            self._rows_added.clear()
            try:
                self.refresh_drift()
            except Exception:  # a failed refresh (a full disk for the shared counts) must not end the next ones
                logging.getLogger(__name__).exception("drift refresh failed")
            time.sleep(DRIFT_REFRESH_S)

    def refresh_drift(self) -> None:
        gauge = _metric("Gauge", "feature_psi", "Population stability index of a feature over the recent window "
                        "against the training reference", ["model", "feature"], multiprocess_mode="livemostrecent")
        counts = self.drift.counts()
        for feature, value in self.drift.psi(self.workers.total(counts) if self.workers else counts).items():
            gauge.labels(self.model, feature).set(value)

    def input_bytes(self, endpoint: str, size: int) -> None:
        _metric("Histogram", "input_bytes", "Upload size in bytes", ["model", "endpoint"],
                buckets=[1e3, 1e4, 1e5, 1e6, 1e7, 1e8]).labels(self.model, endpoint).observe(size)

    def decode_failure(self, reason: str) -> None:
        _metric("Counter", "image_decode_failures", "Uploads (images, videos) that cannot be decoded", ["model", "reason"]
                ).labels(self.model, reason).inc()


def field_paths(service) -> dict[str, frozenset[str]]:
    """Endpoint -> the dotted names of every field its request can have (users, users.age, ...):
    the only values the validation metric's labels take, whatever a caller sends."""
    return {method.route.strip("/"): frozenset(_paths(method.input_spec)) for method in service.apis.values()}


def _paths(record, prefix: str = "") -> Iterator[str]:
    for name, annotation in _fields(record):
        path = prefix + name
        yield path
        for kind in _types(annotation):
            if _is_record(kind) and prefix.count(".") <= 3:
                yield from _paths(kind, path + ".")


def _is_record(kind) -> bool:
    from pydantic import BaseModel

    return typing_extensions.is_typeddict(kind) or isinstance(kind, type) and issubclass(kind, BaseModel)


def _fields(record) -> Iterator[tuple[str, object]]:
    """A model's or TypedDict's fields as requests name them (their aliases), with their types."""
    if not typing_extensions.is_typeddict(record):
        yield from ((info.alias or name, info.annotation) for name, info in record.model_fields.items())
        return
    for name, annotation in typing.get_type_hints(record, include_extras=True).items():
        if typing.get_origin(annotation) is typing.NotRequired:
            annotation = typing.get_args(annotation)[0]
        aliases = [getattr(item, "alias", None) for item in typing.get_args(annotation)[1:]]
        yield next((alias for alias in aliases if alias), name), annotation


def _types(annotation) -> Iterator:
    """A type and the types inside it: list[Window] -> list, Window."""
    yield annotation
    for argument in typing.get_args(annotation):
        yield from _types(argument)


class ValidationFailures:
    """Counts every 400 answer by endpoint, reason and field, from what the answer says (called by
    bentos.common.errors.Envelope, which reads every error answer). Pydantic refuses bad requests
    before the service's code runs, so the count is taken from the response. Label values come
    from fixed sets: an endpoint or field the service does not have is OTHER."""

    def __init__(self, model: str, fields: dict[str, frozenset[str]]):
        self.model = model
        self.fields = fields

    def __call__(self, path: str, found) -> None:
        if found.status == 400:
            self.count(path.strip("/") or "/", found)

    def count(self, endpoint: str, found) -> None:
        counter = _metric("Counter", "validation_failures", "Requests refused as bad input",
                          ["model", "endpoint", "reason", "field"])
        known = self.fields.get(endpoint)
        for field, reason in failure_reasons(found):
            field = field if field in FIXED_FIELDS or (known and field in known) else OTHER
            reason = reason if REASON.fullmatch(reason) else OTHER
            counter.labels(self.model, endpoint if known is not None else OTHER, reason, field).inc()

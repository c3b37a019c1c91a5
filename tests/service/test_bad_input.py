"""Bad input against every endpoint of every service, over real HTTP: requests generated from each
service's OpenAPI document by schemathesis (valid and invalid by the schema), and a handcrafted
matrix of the mistakes and attacks clients send. No case may get a 5xx; every handcrafted case
gets a 4xx in the error envelope (bentos/common/errors.py); each service still answers afterwards. The run writes the results table to
load/results/bad-input.md (when every service ran)."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field

import cv2
import httpx
import pandas as pd
import pytest
import schemathesis
import skimage.data
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.generation.modes import GenerationMode

from load.results_file import RESULTS
from playserve import catalog
from tests.conftest import AUTH, REPO, error_of, png_claiming
from training.abuse.serving.features import FEATURES

GENERATED_PER_MODE = 25  # examples per operation and generation mode (derandomized: the same each run)
A_URL = "http://169.254.169.254/latest/meta-data/"  # the server must never fetch what a client names
MATRIX: dict[str, dict[str, Counter]] = {}  # model -> endpoint -> outcome counts


@dataclass
class Case:
    endpoint: str
    name: str
    request: dict = field(default_factory=dict)  # httpx.post keyword arguments
    may_succeed: bool = False  # not a mistake the service must refuse, only one it must survive


def json_body(raw: str | bytes) -> dict:
    return {"content": raw if isinstance(raw, bytes) else raw.encode(), "headers": {"content-type": "application/json"}}


def json_cases(endpoint: str, key: str, valid: dict, number_field: str, limit: int) -> list[Case]:
    """The JSON mistakes, around `valid`, a list of records under `key` whose `number_field` is numeric."""
    record = valid[key][0]
    with_value = lambda value: json.dumps({**valid, key: [{**record, number_field: "__V__"}]}).replace('"__V__"', value)  # noqa: E731
    return [
        Case(endpoint, "malformed JSON", json_body(json.dumps(valid)[:-7])),
        Case(endpoint, "empty body", json_body(b"")),
        Case(endpoint, "JSON null", json_body("null")),
        Case(endpoint, "a string instead of an object", json_body('"users"')),
        Case(endpoint, "missing field", {"json": {k: v for k, v in valid.items() if k != key}}),
        Case(endpoint, "wrong type: object for list", {"json": {**valid, key: {"a": 1}}}),
        Case(endpoint, "wrong type: text for number", {"json": {**valid, key: [{**record, number_field: "a lot"}]}}),
        Case(endpoint, "unicode text for number", {"json": {**valid, key: [{**record, number_field: "四十二 🎮"}]}}),
        Case(endpoint, "NaN", json_body(with_value("NaN"))),
        Case(endpoint, "Infinity", json_body(with_value("-Infinity"))),
        Case(endpoint, "number past float range", json_body(with_value("1e999"))),
        Case(endpoint, "empty list", {"json": {**valid, key: []}}),
        Case(endpoint, "one item over the limit", {"json": {**valid, key: [record] * (limit + 1)}}),
        Case(endpoint, "unknown parameter", {"json": {**valid, "unexpected_parameter": 1}}),
        Case(endpoint, "body of 40 MiB", json_body(b" " * (40 * 1024 * 1024))),
    ]


def raw_multipart(*parts: bytes) -> dict:
    """A multipart body written by hand, for framings httpx will not write."""
    boundary = b"playserve-bad-input"
    body = b"".join(b"--" + boundary + b"\r\n" + part + b"\r\n" for part in parts) + b"--" + boundary + b"--\r\n"
    return {"content": body, "headers": {"content-type": "multipart/form-data; boundary=playserve-bad-input"}}


def misspelt(name: str) -> str:
    return name[:-1] if name.endswith("s") else name + "s"  # images -> image, image -> images


def form_cases(endpoint: str, field_name: str, good: bytes, suffix: str, form: dict | None = None) -> list[Case]:
    """The form mistakes of any upload route: its file under a wrong, an extra or no name, a file
    name past 255 bytes, parts without a name, a body that is not multipart at all."""
    form = form or {}

    def one(name: str = field_name, filename: str = f"f{suffix}") -> list:
        return [(name, (filename, good))]

    return [
        Case(endpoint, "misspelt file field", {"files": one(misspelt(field_name)), "data": form}),
        Case(endpoint, "a file in an extra field", {"files": [*one(), *one("extra_file")], "data": form}),
        # BentoML wrote the upload under the caller's name (a 500 past 255 bytes); it is ignored now
        Case(endpoint, "file name of 300 bytes", {"files": one(filename="é" * 148 + suffix), "data": form}, may_succeed=True),
        Case(endpoint, "a part without a name", raw_multipart(b'Content-Disposition: form-data; filename="a' + suffix.encode() + b'"\r\n\r\n' + good[:100])),
        Case(endpoint, "a part with an empty name", raw_multipart(b'Content-Disposition: form-data; name=""; filename="a"\r\n\r\n' + good[:100])),
        Case(endpoint, "a part that is not form-data", raw_multipart(b'Content-Disposition: attachment; name="' + field_name.encode() + b'"\r\n\r\n' + good[:100])),
        Case(endpoint, "multipart without a boundary", {"content": good[:100], "headers": {"content-type": "multipart/form-data"}}),
        Case(endpoint, "JSON to an upload route", json_body(json.dumps({field_name: "x"}))),
        Case(endpoint, "plain text to an upload route", {"content": b"hello", "headers": {"content-type": "text/plain"}}),
        Case(endpoint, "no content type", {"content": good[:100]}),
    ]


def not_json_cases(endpoint: str, valid: dict) -> list[Case]:
    """A JSON route sent something else."""
    return [
        Case(endpoint, "a form to a JSON route", {"files": [("users", ("u.json", json.dumps(valid).encode()))]}),
        Case(endpoint, "form-urlencoded to a JSON route", {"data": {"users": "x"}}),
        Case(endpoint, "plain text to a JSON route", {"content": json.dumps(valid).encode(), "headers": {"content-type": "text/plain"}}),
    ]


def image_cases(endpoint: str, field_name: str, good: bytes, many: int | None, form: dict | None = None) -> list[Case]:
    def files(*contents: bytes) -> dict:
        return {"files": [(field_name, (f"f{i}.jpg", c)) for i, c in enumerate(contents)], "data": form or {}}

    cases = [
        Case(endpoint, "no file", {"data": {**(form or {}), "unrelated": "x"}}),
        Case(endpoint, "empty file", files(b"")),
        Case(endpoint, "truncated JPEG", files(good[: len(good) // 3])),
        Case(endpoint, "corrupt bytes", files(bytes(range(256)) * 40)),
        Case(endpoint, "a text file", files("ceci n'est pas une image ✓".encode())),
        Case(endpoint, "decompression bomb (PNG claiming 100k x 100k)", files(png_claiming(100_000, 100_000))),
        Case(endpoint, "unknown parameter", {**files(good), "data": {**(form or {}), "unexpected_parameter": "1"}}),
        Case(endpoint, "a URL as text in the file field", {"data": {**(form or {}), field_name: A_URL}}),
        *form_cases(endpoint, field_name, good, ".jpg", form),
    ]
    if many:
        cases.append(Case(endpoint, "one image over the limit", files(*[good] * (many + 1))))
    return cases


def video_cases(endpoint: str, video: bytes, jpeg: bytes) -> list[Case]:
    def upload(content: bytes, name: str = "v.mp4", **form) -> dict:
        return {"files": {"video": (name, content)}, "data": {k: str(v) for k, v in form.items()}}

    return [
        Case(endpoint, "no file", {"data": {"sample_rate": "2"}}),
        Case(endpoint, "empty file", upload(b"")),
        Case(endpoint, "truncated MP4", upload(video[:4000])),
        Case(endpoint, "a JPEG as video", upload(jpeg, "v.jpg")),
        Case(endpoint, "a text file as video", upload(b"not a video at all\n" * 100, "v.txt")),
        Case(endpoint, "sample rate NaN", upload(video, sample_rate="nan")),
        Case(endpoint, "sample rate 0", upload(video, sample_rate=0)),
        Case(endpoint, "sample rate as text", upload(video, sample_rate="fast")),
        Case(endpoint, "a URL as text in the file field", {"data": {"video": A_URL}}),
        *form_cases(endpoint, "video", video, ".mp4"),
    ]


def handcrafted(model: str, request) -> list[Case]:
    jpeg = cv2.imencode(".jpg", skimage.data.astronaut()[..., ::-1])[1].tobytes()
    if model == "spend":
        users = json.loads((REPO / "bentos/spend/example_request.json").read_text())
        outcome = {**users["users"][0], "group": "nudged", "actual_spend": 10.0}
        table = pd.DataFrame(users["users"]).to_csv(index=False).encode()
        return [
            *json_cases("predict", "users", users, "age", 20_000),
            *json_cases("nudge_effect", "users", {"users": [outcome] * 4, "bootstrap": 200}, "actual_spend", 20_000),
            Case("predict_table", "empty file", {"files": {"table": ("t.csv", b"")}}),
            Case("predict_table", "CSV without the feature columns", {"files": {"table": ("t.csv", b"user_id,colour\n1,red\n")}}),
            Case("predict_table", "truncated Parquet", {"files": {"table": ("t.parquet", pd.DataFrame(users["users"]).to_parquet()[:300])}}),
            Case("predict_table", "a JPEG as a table", {"files": {"table": ("t.csv", jpeg)}}),
            Case("predict_table", "a URL as text in the file field", {"data": {"table": A_URL}}),
            Case("predict_table", "unknown parameter", {"files": {"table": ("t.csv", table)}, "data": {"unexpected_parameter": "1"}}),
            *form_cases("predict_table", "table", table, ".csv"),
            *not_json_cases("predict", users), *not_json_cases("nudge_effect", users),
        ]
    if model == "abuse":
        row = pd.read_parquet(request.getfixturevalue("abuse_table")).head(1)[["user_id", *FEATURES]].to_dict(orient="records")[0]
        event = {"user_id": "u1", "time": 60, "kind": "reward", "gain": 25}
        return [
            *json_cases("score", "windows", {"windows": [row]}, "gain_total", 10_000),
            *json_cases("events", "events", {"events": [event]}, "time", 10_000),
            Case("score", "a feature past float32's range", {"json": {"windows": [{**row, "gain_total": 1e300}]}}),
            Case("events", "a gain that would overflow the store's sums", {"json": {"events": [{**event, "gain": 1e300}]}}),
            Case("events", "a time past the year 2096", {"json": {"events": [{**event, "time": 1e15}]}}),
            Case("score_user", "missing user id", {"json": {}}),
            Case("score_user", "user id of 10,000 characters", {"json": {"user_id": "x" * 10_000}}),
            Case("score_user", "unknown user", {"json": {"user_id": "nobody-ever"}}),
            Case("score_user", "window NaN", json_body('{"user_id": "u1", "window": NaN}')),
            Case("score_user", "unknown parameter", {"json": {"user_id": "u1", "unexpected_parameter": 1}}),
            *not_json_cases("score", {"windows": [row]}), *not_json_cases("events", {"events": [event]}),
        ]
    video = request.getfixturevalue("session_video").read_bytes() if model in ("emotion", "person") else b""
    if model == "wallhack":
        return [*image_cases("predict", "images", jpeg, 64), *image_cases("explain", "image", jpeg, None),
                Case("predict", "threshold 1.5", {"files": [("images", ("a.jpg", jpeg))], "data": {"threshold": "1.5"}})]
    if model == "emotion":
        stream = {"session_id": "bad-input", "frame": "0"}
        return [*image_cases("predict", "images", jpeg, 16), *image_cases("stream", "image", jpeg, None, stream),
                Case("stream", "frame number as text", {"files": {"image": ("a.jpg", jpeg)}, "data": {"session_id": "s", "frame": "first"}}),
                Case("stream", "capture time NaN", {"files": {"image": ("a.jpg", jpeg)}, "data": {**stream, "captured_s": "nan"}}),
                Case("stream", "negative capture time", {"files": {"image": ("a.jpg", jpeg)}, "data": {**stream, "captured_s": "-1"}}),
                Case("stream/close", "a session never opened", {"json": {"session_id": "never-opened"}}),
                Case("stream/close", "a session id with a path", {"json": {"session_id": "../etc/passwd"}}),
                Case("stream/close", "missing session id", {"json": {}}),
                *not_json_cases("stream/close", {"session_id": "bad-input"}),
                *video_cases("report", video, jpeg), *video_cases("report/html", video, jpeg)]
    if model == "person":
        return [*image_cases("predict", "images", jpeg, 16), *video_cases("video", video, jpeg)]
    return example_cases(model)


def example_cases(model: str) -> list[Case]:
    """Any other model (one `playserve new` made): the JSON mistakes around its example request,
    sent to its first interactive route."""
    example = json.loads((REPO / "bentos" / model / "example_request.json").read_text())
    key = next(k for k, v in example.items() if isinstance(v, list))
    number_field = next(k for k, v in example[key][0].items() if isinstance(v, (int, float)))
    return json_cases(catalog.spec(model).interactive_routes[0].lstrip("/"), key, example, number_field, 10_000)


def is_envelope(response: httpx.Response) -> bool:
    try:
        return bool(error_of(response)["message"])
    except (AssertionError, ValueError, KeyError, TypeError):
        return False


def outcome(status: int) -> str:
    return "5xx" if status >= 500 else "4xx" if status >= 400 else "2xx"


@pytest.fixture(scope="module", autouse=True)
def results_table():
    yield
    kinds = {model: {kind.split()[0] for counts in MATRIX.get(model, {}).values() for kind in counts} for model in catalog.names()}
    if all(kinds[model] >= {"handcrafted", "generated"} for model in catalog.names()):  # a partial run (-k) leaves the committed table alone
        write_table()


@pytest.mark.parametrize("model", catalog.names())
def test_every_handcrafted_bad_request_gets_a_4xx_and_the_service_keeps_serving(model, request, server_of):
    server = server_of(model)
    counts = MATRIX.setdefault(model, {})
    wrong = []
    for case in handcrafted(model, request):
        kwargs = {**case.request, "headers": {**AUTH, **case.request.get("headers", {})}}
        response = httpx.post(f"{server.url}/{case.endpoint}", timeout=120, **kwargs)
        counts.setdefault(f"/{case.endpoint}", Counter())[f"handcrafted {outcome(response.status_code)}"] += 1
        refused = 400 <= response.status_code < 500 and is_envelope(response)
        if not (refused or case.may_succeed and response.status_code == 200):
            wrong.append((case.endpoint, case.name, response.status_code, response.text[:200]))
    assert wrong == []
    assert httpx.get(f"{server.url}/readyz", timeout=30).status_code == 200


@pytest.mark.parametrize("model", catalog.names())
def test_requests_generated_from_the_openapi_document_never_get_a_5xx(model, server_of):
    server = server_of(model)
    schema = schemathesis.openapi.from_url(f"{server.url}/docs.json")
    counts = MATRIX.setdefault(model, {})
    server_errors = []
    for result in schema.get_all_operations():
        operation = result.ok()
        if operation.method.lower() != "post":
            continue
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            @settings(max_examples=GENERATED_PER_MODE, deadline=None, database=None, derandomize=True,
                      suppress_health_check=list(HealthCheck), phases=[Phase.explicit, Phase.generate])
            @given(case=operation.as_strategy(generation_mode=mode))
            def send(case):
                response = case.call(base_url=server.url, headers=AUTH, timeout=120)
                counts.setdefault(operation.path, Counter())[f"generated {outcome(response.status_code)}"] += 1
                if response.status_code >= 500:
                    server_errors.append((operation.path, mode.value, response.status_code, response.text[:200]))

            try:
                send()
            except Unsatisfiable:  # nothing invalid can be written for this operation in this mode
                pass
    assert server_errors == []
    assert sum(c[k] for c in counts.values() for k in c if k.startswith("generated")) > 0
    assert httpx.get(f"{server.url}/readyz", timeout=30).status_code == 200


def write_table() -> None:
    columns = ["handcrafted 2xx", "handcrafted 4xx", "handcrafted 5xx", "generated 2xx", "generated 4xx", "generated 5xx"]
    rows = [(model, endpoint, counts) for model in sorted(MATRIX) for endpoint, counts in sorted(MATRIX[model].items())]
    total = sum((counts for *_, counts in rows), Counter())
    lines = ["# Bad input: every endpoint of every service", "",
             "Written by `tests/service/test_bad_input.py` in each full test run. Handcrafted: the mistakes and attacks",
             "in that file (malformed JSON, wrong types, missing and unknown parameters, NaN and infinities, empty and",
             "oversized payloads, unicode, truncated and corrupt images, a decompression bomb, files that are not videos,",
             "a URL typed into a file field, misspelt, extra and nameless form parts, bodies of the wrong content type).",
             "Handcrafted 2xx: a 300-byte file name, served like any other (the service never uses the name).",
             f"Generated: schemathesis from each service's OpenAPI document, {GENERATED_PER_MODE} valid and {GENERATED_PER_MODE}",
             "invalid requests per endpoint (derandomized: the same requests every run). A generated request valid by the",
             "schema can still be refused by the service (an image field's bytes are not an image), so 4xx there is expected.", "",
             f"| model | endpoint | {' | '.join(columns)} |", "|---|---|" + "---:|" * len(columns)]
    lines += [f"| {model} | `{endpoint}` | {' | '.join(str(counts[c]) for c in columns)} |" for model, endpoint, counts in rows]
    lines += [f"| **all** | **{len(rows)} endpoints** | {' | '.join(f'**{total[c]}**' for c in columns)} |", ""]
    (RESULTS / "bad-input.md").write_text("\n".join(lines))
    (RESULTS / "bad-input.json").write_text(json.dumps({m: {e: dict(c) for e, c in eps.items()} for m, eps in MATRIX.items()}, indent=2, sort_keys=True))

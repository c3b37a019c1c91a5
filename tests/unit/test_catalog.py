"""The catalog is the one list of models, found from their folders; the platform's own modules import
in one direction; paths are defined once."""

from __future__ import annotations

import ast
import re

import pytest
import yaml

from playserve import catalog
from playserve.paths import REPO_ROOT


def test_every_model_folder_is_in_the_catalog_in_the_order_up_serves_them():
    served = sorted(p.parent.name for p in (REPO_ROOT / "bentos").glob("*/service.py"))
    assert sorted(catalog.names()) == served
    assert catalog.names()[:5] == ["spend", "wallhack", "emotion", "person", "abuse"]  # and a new model after them
    assert [s.port for s in catalog.models().values()] == list(range(3000, 3000 + len(served)))


def test_each_spec_names_a_service_class_its_folder_defines():
    for spec in catalog.models().values():
        module, cls = spec.service.split(":")
        assert module == f"bentos.{spec.name}.service", spec
        tree = ast.parse((REPO_ROOT / "bentos" / spec.name / "service.py").read_text())
        assert cls in {node.name for node in tree.body if isinstance(node, ast.ClassDef)}, spec


def _api_routes(spec) -> set[str]:
    """The routes the spec's service class serves: its @bentoml.api methods, by name or route=."""
    module, cls = spec.service.split(":")
    tree = ast.parse((REPO_ROOT / (module.replace(".", "/") + ".py")).read_text())
    service = next(node for node in tree.body if isinstance(node, ast.ClassDef) and node.name == cls)
    routes = set()
    for method in service.body:
        for decorator in getattr(method, "decorator_list", []):
            call = decorator if isinstance(decorator, ast.Call) else None
            if ast.unparse(call.func if call else decorator) == "bentoml.api":
                route = next((k.value.value for k in (call.keywords if call else []) if k.arg == "route"), None)
                routes.add(route or "/" + method.name)
    return routes


@pytest.mark.parametrize("model", catalog.names())
def test_a_spec_lists_exactly_the_routes_its_service_serves(model):
    spec = catalog.spec(model)
    assert {route.path for route in spec.routes} == _api_routes(spec)


@pytest.mark.parametrize("model", catalog.names())
def test_each_model_brings_its_verbs_and_trains_on_defaults(model):
    import inspect

    commands = catalog.commands(model)
    assert set(commands) >= set(catalog.VERBS), model
    missing = [p.name for p in inspect.signature(commands["train"]).parameters.values() if p.default is inspect.Parameter.empty]
    assert not missing, f"{model}: `up` calls train() with no arguments, but it needs {missing}"


def test_headline_metrics_are_read_from_the_model_s_own_report():
    spend, abuse = catalog.spec("spend"), catalog.spec("abuse")
    report = {"metrics": {"rmse": 1234.5, "payer_roc_auc": 0.9123, "mae": "n/a"}}
    assert spend.headline(report) == {"RMSE": 1234.5, "payer AUC": 0.9123}
    assert spend.headline_text(report) == "RMSE 1,234 (lower is better), payer AUC 0.9123 (higher is better)"
    assert abuse.headline(report) == {}
    assert abuse.headline({"test": {"autoencoder + reward residual": {"roc_auc": 0.97}}}) == {"ROC-AUC": 0.97}


def test_a_spec_without_both_environments_or_an_interactive_route_is_refused():
    from dataclasses import replace

    from training.common.contract import Route

    spend = catalog.spec("spend")
    with pytest.raises(ValueError, match="scaling must name exactly staging, prod"):
        replace(spend, scaling={"prod": spend.scaling["prod"]})
    with pytest.raises(ValueError, match="at least one route must be interactive"):
        replace(spend, routes=(Route("/predict_table", interactive=False),))


def _spec_file(root, name: str, port: int, folder: str | None = None):
    """A whole spec file in root/training/<folder>."""
    (root / "training" / (folder or name)).mkdir(parents=True)
    (root / "training" / (folder or name) / "spec.py").write_text(f"""from training.common.contract import Metric, ModelSpec, Resources, Route, Scaling
SIZE = Resources(cpu="500m", memory="512Mi", cpu_limit="1", memory_limit="1Gi")
SPEC = ModelSpec(name={name!r}, service="bentos.{name}.service:Service", port={port}, summary="a test model",
                 routes=(Route("/predict"),), latency_objective_s=0.5, input_kind="table",
                 metrics=(Metric(("test", "accuracy"), "accuracy", "higher"),), resources=SIZE,
                 scaling={{"staging": Scaling(1, 2), "prod": Scaling(2, 4)}}, examples=("curl {{url}}/predict",))
""")


def test_a_folder_and_its_spec_must_agree(tmp_path):
    _spec_file(tmp_path, "beta", 3000, folder="alpha")
    with pytest.raises(ValueError, match="SPEC.name is 'beta', its folder 'alpha'"):
        catalog.discover(tmp_path)


def test_two_models_on_one_port_are_refused(tmp_path):
    for name in ("alpha", "beta"):
        _spec_file(tmp_path, name, 3000)
    with pytest.raises(ValueError, match="share a port"):
        catalog.discover(tmp_path)


def test_a_discovered_spec_is_what_its_file_says(tmp_path):
    _spec_file(tmp_path, "alpha", 3007)
    found = catalog.discover(tmp_path)
    assert list(found) == ["alpha"] and found["alpha"].port == 3007 and found["alpha"].version_env == "PLAYSERVE_ALPHA_MODEL"
    assert found["alpha"].interactive_routes == ["/predict"]


def test_an_unknown_model_is_named_with_the_known_ones():
    with pytest.raises(ValueError, match="unknown model 'chess'; known: spend, wallhack"):
        catalog.spec("chess")


def _imports(path) -> set[str]:
    """What a file imports, at the top or inside functions: modules, and module.name for each name."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names |= {node.module} | {f"{node.module}.{alias.name}" for alias in node.names}
    return names


def _project_imports(path) -> set[str]:
    """The playserve modules a file imports."""
    return {name for name in _imports(path) if (REPO_ROOT / (name.replace(".", "/") + ".py")).is_file() and name.startswith("playserve.")}


def test_the_platform_modules_import_one_another_without_circles():
    graph = {f"playserve.{p.stem}": _project_imports(p) - {f"playserve.{p.stem}"} for p in (REPO_ROOT / "playserve").glob("*.py")}

    def circle_from(module, trail):
        for imported in graph.get(module, ()):
            if imported in trail:
                return trail[trail.index(imported):] + [imported]
            found = circle_from(imported, trail + [imported])
            if found:
                return found
        return None

    circles = [c for c in (circle_from(m, [m]) for m in graph) if c]
    assert not circles, " -> ".join(circles[0])


def test_the_repository_root_and_local_state_are_defined_in_one_place():
    definition = re.compile(r"^(REPO_ROOT|REPO|HOME)\s*=", re.M)
    places = sorted(str(p.relative_to(REPO_ROOT)) for tree in ("playserve", "training", "bentos", "load")
                    for p in (REPO_ROOT / tree).rglob("*.py") if definition.search(p.read_text()))
    assert places == ["playserve/paths.py"]


@pytest.mark.parametrize("model", catalog.names())
def test_a_service_image_ships_one_subpackage_of_its_model_s_training_folder(model):
    """The service and its serving subpackage import only training/<model>/serving/ and the spec
    (plain data: what the platform derives admission from) of their model's folder, and the
    bentofile includes that subpackage whole (no file list to keep in step)."""
    files = [*(REPO_ROOT / "bentos" / model).glob("*.py"), *(REPO_ROOT / "training" / model / "serving").glob("*.py")]
    own = {name for path in files for name in _imports(path) if name.startswith(f"training.{model}.")}
    serving = f"training.{model}.serving"
    allowed = (serving, f"training.{model}.spec")
    assert own and all(name in allowed or name.startswith(tuple(a + "." for a in allowed)) for name in own), sorted(own)
    includes = yaml.safe_load((REPO_ROOT / "bentos" / model / "bentofile.yaml").read_text())["include"]
    assert [i for i in includes if i.startswith(f"training/{model}/")] == [f"training/{model}/__init__.py", f"training/{model}/spec.py", f"training/{model}/serving/"]


def _module_file(name: str):
    """The repository file a module name is, if it is one of ours."""
    base = REPO_ROOT / name.replace(".", "/")
    return next((p for p in (base.with_suffix(".py"), base / "__init__.py") if p.is_file()), None)


def _import_closure(start) -> set:
    """Every repository file `start` imports, directly or through the files it imports, with the
    packages on the way (importing a.b.c runs a/__init__.py and a/b/__init__.py)."""
    seen, todo = set(), [start]
    while todo:
        path = todo.pop()
        if path in seen:
            continue
        seen.add(path)
        for name in _imports(path):
            parts = name.split(".")
            todo += [f for f in (_module_file(".".join(parts[:i])) for i in range(1, len(parts) + 1)) if f]
    return seen


@pytest.mark.parametrize("model", catalog.names())
def test_a_bentofile_includes_every_repository_file_its_service_imports(model):
    """A module the service reaches but the bentofile leaves out fails only in the image, as
    'No module named ...' (seen once for training/common/lightgbm_row.py)."""
    from fnmatch import fnmatch

    includes = [i.split("#")[0].strip() for i in yaml.safe_load((REPO_ROOT / "bentos" / model / "bentofile.yaml").read_text())["include"]]
    reached = sorted(str(p.relative_to(REPO_ROOT)) for p in _import_closure(REPO_ROOT / "bentos" / model / "service.py"))
    missing = [f for f in reached if not any(f.startswith(i) if i.endswith("/") else fnmatch(f, i) for i in includes)]
    assert not missing, missing


@pytest.mark.parametrize("bentofile", [*(f"bentos/{model}/bentofile.yaml" for model in catalog.names()),
                                       "playserve/templates/tabular/bentos/__name__/bentofile.yaml.tmpl"])
def test_a_service_image_parses_http_as_the_project_environment_does(bentofile):
    """uvicorn takes httptools when it is installed, else the pure-Python h11 (~110 us more a
    request, load/results/floor.md): an image without it would serve slower than every figure here."""
    from playserve.images import project_requirements

    pin = [p for p in project_requirements() if p.startswith("httptools==")]
    assert pin and re.search(rf"^\s+- {re.escape(pin[0])}$", (REPO_ROOT / bentofile).read_text(), re.M)

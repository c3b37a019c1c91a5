"""The catalog is the one list of models, found from their folders; the platform's own modules import
in one direction; paths are defined once."""

from __future__ import annotations

import ast
import re

import pytest

from playserve import catalog, services
from playserve.paths import REPO_ROOT
from training.common.contract import ModelSpec


def test_every_model_folder_is_in_the_catalog_in_the_order_up_serves_them():
    served = sorted(p.parent.name for p in (REPO_ROOT / "bentos").glob("*/service.py"))
    assert sorted(catalog.names()) == served
    assert catalog.names() == ["spend", "wallhack", "emotion", "person", "abuse"]
    assert [s.port for s in catalog.models().values()] == list(range(3000, 3000 + len(served)))


def test_each_spec_names_a_service_class_its_folder_defines():
    for spec in catalog.models().values():
        module, cls = spec.service.split(":")
        assert module == f"bentos.{spec.name}.service", spec
        tree = ast.parse((REPO_ROOT / "bentos" / spec.name / "service.py").read_text())
        assert cls in {node.name for node in tree.body if isinstance(node, ast.ClassDef)}, spec


def test_shared_code_reads_the_catalog():
    assert services.SERVICES == {name: spec.service for name, spec in catalog.models().items()}
    assert services.MODEL_ENV["abuse"] == "PLAYSERVE_ABUSE_MODEL"


def _spec_file(root, folder: str, text: str):
    (root / "training" / folder).mkdir(parents=True)
    (root / "training" / folder / "spec.py").write_text(text)


def test_a_folder_and_its_spec_must_agree(tmp_path):
    _spec_file(tmp_path, "alpha", "from training.common.contract import ModelSpec\nSPEC = ModelSpec('beta', 'bentos.beta.service:B', 3000)\n")
    with pytest.raises(ValueError, match="SPEC.name is 'beta', its folder 'alpha'"):
        catalog.discover(tmp_path)


def test_two_models_on_one_port_are_refused(tmp_path):
    for name in ("alpha", "beta"):
        _spec_file(tmp_path, name, f"from training.common.contract import ModelSpec\nSPEC = ModelSpec('{name}', 'm:C', 3000)\n")
    with pytest.raises(ValueError, match="share a port"):
        catalog.discover(tmp_path)


def test_a_discovered_spec_is_what_its_file_says(tmp_path):
    _spec_file(tmp_path, "alpha", "from training.common.contract import ModelSpec\nSPEC = ModelSpec('alpha', 'bentos.alpha.service:A', 3007)\n")
    assert catalog.discover(tmp_path) == {"alpha": ModelSpec("alpha", "bentos.alpha.service:A", 3007)}


def test_an_unknown_model_is_named_with_the_known_ones():
    with pytest.raises(ValueError, match="unknown model 'chess'; known: spend, wallhack"):
        catalog.spec("chess")


def _project_imports(path) -> set[str]:
    """The playserve modules a file imports, at the top or inside functions."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names |= {node.module} | {f"{node.module}.{alias.name}" for alias in node.names}
    return {name for name in names if (REPO_ROOT / (name.replace(".", "/") + ".py")).is_file() and name.startswith("playserve.")}


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

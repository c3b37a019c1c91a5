"""`playserve new NAME`: a working model from a template, in its two folders (`training/NAME/`,
`bentos/NAME/`), then every derived file by `playserve generate`. The template is a tabular
classifier trained on a data set that ships with scikit-learn, gated against the majority class."""

from __future__ import annotations

import importlib
import json
import keyword
import re
from pathlib import Path

from playserve import catalog, generate
from playserve.paths import REPO_ROOT

TEMPLATES = Path(__file__).parent / "templates"
NAME = re.compile(r"^[a-z][a-z0-9]{1,19}$")  # a Python package, a Kubernetes name, an env variable part and an image name at once
EXAMPLE_ROWS = 2


def check_name(name: str, known: dict) -> None:
    if not NAME.match(name) or keyword.iskeyword(name):
        raise ValueError(f"name: {name!r} must be 2-20 lowercase letters and digits, starting with a letter (it names a "
                         "Python package, Kubernetes objects and an image)")
    if name in known or name in {"common", "model-service"}:
        raise ValueError(f"name: {name!r} is taken; models: {', '.join(known)}")


def render(template: str, name: str, port: int) -> str:
    values = {"name": name, "Name": name.capitalize(), "NAME": name.upper(), "port": str(port)}
    return re.sub(r"\{\{(\w+)\}\}", lambda m: values[m.group(1)], template)


def example_request(frame, label: str) -> str:
    rows = frame.drop(columns=[label]).head(EXAMPLE_ROWS).to_dict(orient="records")
    return json.dumps({"rows": rows}, indent=1) + "\n"


def new(name: str, template: str = "tabular") -> list[Path]:
    """Write the model's folders in this repository and regenerate; returns every path written or changed."""
    root = REPO_ROOT
    known = catalog.models()
    check_name(name, known)
    port = max((spec.port for spec in known.values()), default=2999) + 1
    written = []
    source = TEMPLATES / template
    for path in sorted(source.rglob("*.tmpl")):
        target = root / str(path.relative_to(source).with_suffix("")).replace("__name__", name)
        if target.exists():
            raise ValueError(f"{target.relative_to(root)}: exists; pick another name")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(render(path.read_text(), name, port))
        written.append(target.relative_to(root))
    importlib.invalidate_caches()
    data = importlib.import_module(f"training.{name}.data")  # the new model's own default data: its example rows
    (root / "bentos" / name / "example_request.json").write_text(example_request(data.packaged(), data.LABEL))
    written.append(Path("bentos") / name / "example_request.json")
    catalog.models.cache_clear()  # the new spec is part of the catalog from now on
    return written + generate.write(root)

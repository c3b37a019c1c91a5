"""Modules that are imported when first used rather than when named.

BentoML's supervisor imports each service module only to read the service's definition, then
starts the workers, which import it again: every import at the top of the serving modules is paid
twice before a replica is ready. pandas (~0.5 s), redis and ONNX Runtime are needed only by the
workers, so the serving modules name them with `lazy` and the service's `__init__` (in the worker)
calls `load`.

Not importlib's LazyLoader: it puts the module in sys.modules before loading it, and BentoML takes
"pandas" in sys.modules to mean pandas is loaded (its metadata checks then load it in the
supervisor); and in Python 3.11 it is not safe to load from two threads.
"""

from __future__ import annotations

import importlib
import sys
from types import ModuleType


class Lazy:
    def __init__(self, name: str):
        self._name = name
        self._module: ModuleType | None = None

    def _load(self) -> ModuleType:
        if self._module is None:
            self._module = importlib.import_module(self._name)
        return self._module

    def __getattr__(self, attribute: str):  # only for names this object lacks: the module's
        return getattr(self._load(), attribute)


def lazy(name: str) -> Lazy:
    """The module `name`, imported on its first attribute access."""
    return Lazy(name)


def load(*modules: Lazy) -> None:
    """Import `modules` now: a worker does it in `__init__`, so its first requests do not."""
    for module in modules:
        module._load()


def absent(*names: str) -> None:
    """Make `import name` fail in this process, as it does in the serving image, which lacks these
    packages: libraries that use them when installed (LightGBM and scikit-learn) then skip them in
    the project environment too. Only for a worker process, which never needs them."""
    for name in names:
        sys.modules.setdefault(name, None)

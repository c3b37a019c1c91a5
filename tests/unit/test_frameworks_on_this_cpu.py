"""Each numerical framework computes right on this machine's CPU, each in a process of its own, so a
crash in a native kernel fails with the framework's name (not later, as a model-quality failure);
and TensorFlow is configured in code, before it is imported, with the user's own setting kept."""

from __future__ import annotations

import ast
import os
import subprocess
import sys

import pytest
import torch

from tests.conftest import REPO
from training.common import cpu_check, keras_runtime

TENSORFLOW_MODULES = {"tensorflow", "keras", "tf2onnx", "tf_keras"}
PROJECT_TREES = ("training", "bentos", "playserve", "load", "tests")


@pytest.mark.parametrize("framework", list(cpu_check.CHECKS))
def test_framework_trains_and_computes_right_on_this_cpu(framework):
    result = cpu_check.run(framework)
    assert result["passed"], f"{framework} on this CPU: {result['error']}"
    if framework == "tensorflow":
        assert result["onednn"] is False  # the project's default, set before TensorFlow was imported


def test_a_crashed_check_names_its_signal():
    assert cpu_check.outcome(-11, "", "Fatal Python error: Segmentation fault\n")["error"].startswith("killed by SIGSEGV")
    assert cpu_check.outcome(0, 'noise\n{"passed": true, "version": "1"}\n', "") == {"passed": True, "version": "1"}


def test_the_layer_shape_onednn_breaks_is_recognised():
    net = torch.nn.Sequential(torch.nn.Conv2d(8, 16, 1, stride=2), torch.nn.Conv2d(16, 16, 1, stride=2),
                              torch.nn.Conv2d(16, 8, 1), torch.nn.Conv2d(8, 8, 3, stride=2))
    assert cpu_check.onednn_prone_convolutions(net) == ["0"]


def test_settings_fill_in_what_the_user_left_unset_and_keep_what_they_set():
    assert keras_runtime.configure({}) == {"TF_ENABLE_ONEDNN_OPTS": "0", "TF_CPP_MIN_LOG_LEVEL": "2"}
    environ = {"TF_ENABLE_ONEDNN_OPTS": "1"}
    assert keras_runtime.configure(environ)["TF_ENABLE_ONEDNN_OPTS"] == "1" and environ["TF_CPP_MIN_LOG_LEVEL"] == "2"


def _python(code: str, **environ: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in keras_runtime.SETTINGS} | environ
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=REPO)


def test_a_user_who_turns_onednn_on_gets_it():
    result = _python("from training.common import keras_runtime; print(keras_runtime.onednn_in_use())", TF_ENABLE_ONEDNN_OPTS="1")
    assert result.stdout.split()[-1] == "True", result.stderr


def test_tensorflow_imported_before_the_settings_is_refused_by_name():
    result = _python("import tensorflow; import training.emotion.export")
    assert result.returncode == 1 and "tensorflow was imported before training.common.keras_runtime" in result.stderr


def _imported_modules(path) -> set[str]:
    tree = ast.parse(path.read_text(), str(path))
    names = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    names |= {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module and node.level == 0}
    return {name.split(".")[0] for name in names}


def test_all_tensorflow_use_goes_through_the_one_module_that_configures_it():
    doors = {REPO / "training/common/keras_runtime.py"}
    offenders = sorted(str(path.relative_to(REPO)) for tree in PROJECT_TREES for path in (REPO / tree).rglob("*.py")
                       if path not in doors and _imported_modules(path) & TENSORFLOW_MODULES)
    assert not offenders, f"import keras/tensorflow from training.common.keras_runtime instead: {offenders}"

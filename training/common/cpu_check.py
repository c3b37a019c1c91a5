"""Does each numerical framework of the stack compute right on this CPU? One training or inference
step of each, on the project's own networks where it has them, checked against a reference
computed another way (numpy in float64, or the same framework with its vector kernels off).

    .venv/bin/python -m training.common.cpu_check [FRAMEWORK ...]     # all by default

Each framework runs in a process of its own, so a crash in native code (a segfault in a JIT kernel)
is reported with the framework's name and signal instead of killing the caller; prints one JSON
line per framework and exits 1 if any failed. The kernels a framework picks depend on the CPU (AVX2,
AVX-512, AMX), which is why a green run on one machine says little about the next."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from collections.abc import Callable

import numpy as np

# The layer shape that oneDNN 3.7-3.12's AVX-512 1x1 backward-weights kernel mishandles
# (uxlfoundation/oneDNN#6035): kernel 1, stride > 1, fewer input channels than its 16-channel block.
ONEDNN_1X1_BLOCK = 16


def _strided_1x1_reference(x_nhwc: np.ndarray, upstream_nhwc: np.ndarray) -> np.ndarray:
    """d(sum(conv(x) * upstream)) / d(weights) for a 1x1 convolution with stride 2: (in, out)."""
    return np.einsum("nhwc,nhwo->co", x_nhwc[:, ::2, ::2].astype(np.float64), upstream_nhwc.astype(np.float64))


def _relative_error(got: np.ndarray, want: np.ndarray) -> float:
    return float(np.abs(np.asarray(got, np.float64) - want).max() / max(np.abs(want).max(), 1e-12))


def check_tensorflow() -> dict:
    """Fine-tuning fer's expression model for one batch (the step that crashed), and the gradient of
    the strided 1x1 convolution it contains against numpy."""
    from training.common.keras_runtime import keras, onednn_in_use, tensorflow as tf
    from training.emotion import export, train

    rng = np.random.default_rng(0)
    model = train.compile_for_fine_tuning(export.load(), train.TrainConfig().learning_rate)
    loss, _ = model.train_on_batch(rng.uniform(-1, 1, (32, 64, 64, 1)).astype(np.float32), rng.integers(0, 7, 32))
    assert np.isfinite(loss), f"fine-tuning step gave loss {loss}"

    x = rng.normal(size=(32, 60, 60, 8)).astype(np.float32)
    upstream = rng.normal(size=(32, 30, 30, 16)).astype(np.float32)
    layer = keras.layers.Conv2D(16, 1, strides=2, use_bias=False)
    layer.build(x.shape)
    with tf.GradientTape() as tape:
        out = tf.reduce_sum(layer(x) * upstream)
    gradient = tape.gradient(out, layer.kernel).numpy()[0, 0]
    error = _relative_error(gradient, _strided_1x1_reference(x, upstream))
    assert error < 1e-4, f"strided 1x1 convolution gradient off by {error:.2e} (relative)"
    return {"version": tf.__version__, "onednn": onednn_in_use(), "gradient_error": error}


def _torch_step(net, inputs, loss_of) -> float:
    import torch

    optimiser = torch.optim.SGD([p for p in net.parameters() if p.requires_grad], lr=1e-3)
    loss = loss_of(net(inputs))
    optimiser.zero_grad()
    loss.backward()
    optimiser.step()
    return float(loss)


def _tensors(outputs) -> list:
    """The tensors in a network's output, however nested (YOLO's training output is a dict of lists)."""
    if isinstance(outputs, dict):
        outputs = list(outputs.values())
    if isinstance(outputs, (list, tuple)):
        return [t for o in outputs for t in _tensors(o)]
    return [outputs]


def onednn_prone_convolutions(net) -> list[str]:
    """The net's convolutions of the shape oneDNN#6035 corrupts memory on (see ONEDNN_1X1_BLOCK)."""
    import torch

    return [name for name, module in net.named_modules()
            if isinstance(module, torch.nn.Conv2d) and module.kernel_size == (1, 1)
            and max(module.stride) > 1 and module.in_channels < ONEDNN_1X1_BLOCK]


def check_torch() -> dict:
    """A training step of wallhack's MobileNetV2 and of person's YOLO network, gradients against the
    same step with oneDNN off, and neither network holding the layer shape oneDNN#6035 breaks."""
    import torch

    from training.person import export as person_export
    from training.person.pipeline import packaged_weights
    from training.wallhack import train as wallhack

    torch.manual_seed(0)
    frames = torch.randn(4, 3, 224, 224)
    nets = {"wallhack": wallhack.network(), "person": person_export.yolo(packaged_weights()).model.float()}
    prone = {name: onednn_prone_convolutions(net) for name, net in nets.items()}
    assert not any(prone.values()), f"layers oneDNN#6035 breaks on AVX-512: {prone}"
    net = nets["wallhack"]
    net.train()
    loss = _torch_step(net, frames, lambda logits: logits.square().mean())
    assert np.isfinite(loss), f"wallhack step gave loss {loss}"

    person = nets["person"]
    person.train()
    for p in person.parameters():
        p.requires_grad_(True)
    images = torch.rand(2, 3, 320, 320)

    def person_gradient(mkldnn: bool) -> np.ndarray:
        person.zero_grad()
        with torch.backends.mkldnn.flags(enabled=mkldnn):
            sum(o.square().mean() for o in _tensors(person(images))).backward()
        return np.concatenate([p.grad.numpy().ravel() for p in person.parameters() if p.grad is not None])

    with_onednn, without = person_gradient(True), person_gradient(False)
    error = _relative_error(with_onednn, without.astype(np.float64))
    assert error < 1e-3, f"person network gradients with oneDNN differ from those without by {error:.2e} (relative)"
    return {"version": torch.__version__, "capability": torch.backends.cpu.get_cpu_capability(), "gradient_error": error}


def _small_convolution_graph():
    """An ONNX graph of a 3x3 convolution, a strided 1x1 convolution and a matrix product, with its
    weights, for the runtimes that execute ONNX."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(1)
    w3 = rng.normal(size=(8, 3, 3, 3)).astype(np.float32)
    w1 = rng.normal(size=(16, 8, 1, 1)).astype(np.float32)
    dense = rng.normal(size=(16 * 16 * 16, 10)).astype(np.float32)
    nodes = [helper.make_node("Conv", ["x", "w3"], ["a"], pads=[1, 1, 1, 1]),
             helper.make_node("Relu", ["a"], ["b"]),
             helper.make_node("Conv", ["b", "w1"], ["c"], strides=[2, 2]),
             helper.make_node("Flatten", ["c"], ["d"]),
             helper.make_node("MatMul", ["d", "dense"], ["y"])]
    graph = helper.make_graph(nodes, "check", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, 3, 32, 32])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [None, 10])],
                              [numpy_helper.from_array(w, name) for w, name in ((w3, "w3"), (w1, "w1"), (dense, "dense"))])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)

    def reference(x: np.ndarray) -> np.ndarray:
        x = x.astype(np.float64)
        padded = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
        windows = np.lib.stride_tricks.sliding_window_view(padded, (3, 3), axis=(2, 3))  # n, c, h, w, kh, kw
        b = np.maximum(np.einsum("nchwij,ocij->nohw", windows, w3), 0)
        c = np.einsum("nchw,oc->nohw", b[:, :, ::2, ::2], w1[:, :, 0, 0])
        return c.reshape(len(x), -1) @ dense

    return model, reference


def check_onnxruntime() -> dict:
    import onnxruntime

    model, reference = _small_convolution_graph()
    x = np.random.default_rng(2).normal(size=(4, 3, 32, 32)).astype(np.float32)
    session = onnxruntime.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    error = _relative_error(session.run(None, {"x": x})[0], reference(x))
    assert error < 1e-4, f"convolution graph off by {error:.2e} (relative)"
    return {"version": onnxruntime.__version__, "error": error}


def check_opencv() -> dict:
    """OpenCV's DNN module (the res10 face detector runs on it) and its bundled OpenBLAS."""
    import cv2

    model, reference = _small_convolution_graph()
    x = np.random.default_rng(3).normal(size=(4, 3, 32, 32)).astype(np.float32)
    net = cv2.dnn.readNetFromONNX(np.frombuffer(model.SerializeToString(), np.uint8))
    net.setInput(x)
    error = _relative_error(net.forward(), reference(x))
    assert error < 1e-4, f"convolution graph off by {error:.2e} (relative)"
    a, b = _integer_matrices(np.float32, 300)
    gemm_error = _relative_error(cv2.gemm(a, b, 1.0, None, 0.0), a.astype(np.float64) @ b)
    assert gemm_error == 0, f"cv2.gemm off by {gemm_error:.2e} on integer-valued matrices"
    return {"version": cv2.__version__, "dnn_error": error, "cpu_features": cv2.getCPUFeaturesLine(), "kernels": _openblas_kernels()}


def _integer_matrices(dtype, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Small-integer matrices, whose products are exact in floating point: a right BLAS gives 0 error."""
    rng = np.random.default_rng(4)
    return rng.integers(-8, 9, (n, n)).astype(dtype), rng.integers(-8, 9, (n, n)).astype(dtype)


def _openblas_kernels() -> list[str]:
    """Each loaded OpenBLAS and the kernel set it chose for this CPU (OPENBLAS_CORETYPE overrides)."""
    from threadpoolctl import threadpool_info

    return sorted({f"{pool['prefix']} {pool['version']} {pool.get('architecture')}" for pool in threadpool_info() if pool["internal_api"] == "openblas"})


def check_openblas() -> dict:
    """numpy's and scipy's OpenBLAS: exact products, a solve and an SVD that reconstruct their input."""
    import scipy.linalg

    for dtype in (np.float32, np.float64):
        a, b = _integer_matrices(dtype, 513)  # odd: the kernels' edge cases
        assert np.array_equal(a @ b, (a.astype(np.int64) @ b.astype(np.int64)).astype(dtype)), f"numpy {dtype.__name__} matmul inexact"
        assert np.array_equal(scipy.linalg.blas.sgemm(1.0, a, b) if dtype == np.float32 else scipy.linalg.blas.dgemm(1.0, a, b),
                              a.astype(np.float64) @ b.astype(np.float64)), f"scipy {dtype.__name__} gemm inexact"
    rng = np.random.default_rng(5)
    m = rng.normal(size=(400, 400)) + 400 * np.eye(400)
    v = rng.normal(size=400)
    solve_error = float(np.abs(m @ np.linalg.solve(m, v) - v).max())
    u, s, vt = np.linalg.svd(m)
    svd_error = _relative_error((u * s) @ vt, m)
    assert solve_error < 1e-9 and svd_error < 1e-12, f"solve residual {solve_error:.2e}, SVD reconstruction {svd_error:.2e}"
    return {"version": np.__version__, "kernels": _openblas_kernels(), "solve_error": solve_error, "svd_error": svd_error}


def check_lightgbm() -> dict:
    """Training and prediction (spend's regressor): fits a known function, and the model saved as
    text predicts exactly what the trained one does."""
    import lightgbm

    rng = np.random.default_rng(6)
    x = rng.normal(size=(20000, 8))
    y = np.sin(x[:, 0]) * 3 + x[:, 1] ** 2 + rng.normal(scale=0.1, size=len(x))
    booster = lightgbm.train({"objective": "regression", "verbose": -1, "seed": 0, "num_threads": 2},
                             lightgbm.Dataset(x[:15000], y[:15000]), num_boost_round=200)
    held_out = booster.predict(x[15000:])
    r2 = 1 - np.mean((held_out - y[15000:]) ** 2) / np.var(y[15000:])
    assert r2 > 0.95, f"held-out R^2 {r2:.3f} on a smooth function"
    reloaded = lightgbm.Booster(model_str=booster.model_to_string()).predict(x[15000:])
    assert np.array_equal(reloaded, held_out), "the reloaded model predicts differently"
    return {"version": lightgbm.__version__, "r2": float(r2)}


CHECKS: dict[str, Callable[[], dict]] = {
    "tensorflow": check_tensorflow,
    "torch": check_torch,
    "onnxruntime": check_onnxruntime,
    "opencv": check_opencv,
    "openblas": check_openblas,
    "lightgbm": check_lightgbm,
}


def outcome(returncode: int, stdout: str, stderr: str) -> dict:
    """One framework's result from its process: its own JSON line, or how the process died."""
    if returncode == 0:
        return json.loads(stdout.strip().splitlines()[-1])
    died = f"killed by {signal.Signals(-returncode).name}" if returncode < 0 else f"exited {returncode}"
    last = stderr.strip().splitlines()[-1] if stderr.strip() else ""
    return {"passed": False, "error": f"{died}: {last}"[:2000]}


def run(name: str, timeout: float = 600) -> dict:
    """CHECKS[name] in a process of its own."""
    process = subprocess.run([sys.executable, "-m", "training.common.cpu_check", "--one", name], capture_output=True, text=True, timeout=timeout)
    return {"framework": name, **outcome(process.returncode, process.stdout, process.stderr)}


def _run_here(name: str) -> None:
    try:
        facts = CHECKS[name]()
    except AssertionError as wrong:
        print(json.dumps({"passed": False, "error": str(wrong)}))
        return
    print(json.dumps({"passed": True, **facts}, default=str))


def main(argv: list[str]) -> int:
    if argv[:1] == ["--one"]:
        _run_here(argv[1])
        return 0
    unknown = sorted(set(argv) - set(CHECKS))
    if unknown:
        print(f"unknown framework(s) {', '.join(unknown)}; choose from {', '.join(CHECKS)}", file=sys.stderr)
        return 2
    results = [run(name) for name in argv or CHECKS]
    for result in results:
        print(json.dumps(result, default=str))
    return 0 if all(r["passed"] for r in results) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

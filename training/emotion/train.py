"""Fine-tune the Keras expression model on a labelled image folder and measure it on held-out
images against the model it started from and a majority-class baseline."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
from sklearn.metrics import accuracy_score, f1_score, recall_score
from sklearn.model_selection import train_test_split

from training.common.keras_runtime import keras
from training.emotion import export
from training.emotion.serving.expression import EMOTIONS, INPUT_SIZE, normalise

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".webp", ".bmp"}
Progress = Callable[[str], None]


@dataclass(frozen=True)
class TrainConfig:
    epochs: int = 8
    batch_size: int = 32
    learning_rate: float = 1e-3
    seed: int = 0


@dataclass
class TrainResult:
    model: object  # keras.Model
    metrics: dict
    base: dict  # the packaged model before fine-tuning, on the same held-out images
    majority: dict
    sizes: dict
    history: list[dict] = field(default_factory=list)


def load_folder(folder: Path) -> tuple[np.ndarray, np.ndarray]:
    """folder/<emotion>/<image> -> uint8 (N, 64, 64) grey faces and (N,) label indexes.
    Each image is taken to be a face crop (as in FER-2013). Sub-folders must be emotion names."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ValueError(f"--data: {folder} is not a folder")
    unknown = sorted(p.name for p in folder.iterdir() if p.is_dir() and p.name not in EMOTIONS)
    if unknown:
        raise ValueError(f"--data: sub-folder(s) {', '.join(unknown)} are not emotions; use {', '.join(EMOTIONS)}")
    faces, labels = [], []
    for label, emotion in enumerate(EMOTIONS):
        for path in sorted((folder / emotion).glob("*")) if (folder / emotion).is_dir() else []:
            if path.suffix.lower() not in IMAGE_SUFFIXES:
                continue
            image = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
            if image is None:
                raise ValueError(f"--data: {path} is not a readable image")
            faces.append(cv2.resize(image, (INPUT_SIZE, INPUT_SIZE), interpolation=cv2.INTER_AREA))
            labels.append(label)
    present = len(set(labels))
    if present < 2 or min(np.bincount(labels)[np.bincount(labels) > 0]) < 10:
        raise ValueError(f"--data: need at least 10 images in each of at least 2 emotion folders; found {len(labels)} images in {present}")
    return np.stack(faces), np.array(labels)


def split(faces: np.ndarray, labels: np.ndarray, seed: int):
    """70 / 15 / 15, stratified by emotion."""
    train_x, rest_x, train_y, rest_y = train_test_split(faces, labels, test_size=0.3, stratify=labels, random_state=seed)
    val_x, test_x, val_y, test_y = train_test_split(rest_x, rest_y, test_size=0.5, stratify=rest_y, random_state=seed)
    return (train_x, train_y), (val_x, val_y), (test_x, test_y)


def classification_metrics(truth: np.ndarray, predicted: np.ndarray) -> dict:
    present = sorted(set(truth.tolist()))
    recalls = recall_score(truth, predicted, labels=present, average=None, zero_division=0)
    return {"accuracy": float(accuracy_score(truth, predicted)),
            "macro_f1": float(f1_score(truth, predicted, labels=present, average="macro", zero_division=0)),
            "recall_by_emotion": {EMOTIONS[label]: float(r) for label, r in zip(present, recalls)}}


def augment(faces: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Mirror half the faces and shift each by up to 4 px: expressions are left-right symmetric
    and detector boxes wander."""
    out = np.where(rng.random(len(faces))[:, None, None] < 0.5, faces[:, :, ::-1], faces)
    shifts = rng.integers(-4, 5, size=(len(faces), 2))
    return np.stack([np.roll(face, tuple(s), axis=(0, 1)) for face, s in zip(out, shifts)])


def compile_for_fine_tuning(model, learning_rate: float):
    """The optimiser and loss fine-tuning trains the expression model with (labels are class indexes)."""
    model.compile(optimizer=keras.optimizers.Adam(learning_rate), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def train(folder: Path, config: TrainConfig, progress: Progress) -> TrainResult:
    keras.utils.set_random_seed(config.seed)
    progress(f"reading {folder}")
    faces, labels = load_folder(folder)
    (train_x, train_y), (val_x, val_y), (test_x, test_y) = split(faces, labels, config.seed)
    model = export.load()
    base = classification_metrics(test_y, export.keras_probabilities(model, test_x).argmax(1))
    majority = classification_metrics(test_y, np.full_like(test_y, np.bincount(train_y).argmax()))
    compile_for_fine_tuning(model, config.learning_rate)
    rng = np.random.default_rng(config.seed)
    history = []
    best, best_weights = -1.0, model.get_weights()
    for epoch in range(1, config.epochs + 1):
        fit = model.fit(normalise(augment(train_x, rng)), train_y, batch_size=config.batch_size, epochs=1, verbose=0, shuffle=True)
        val = classification_metrics(val_y, export.keras_probabilities(model, val_x).argmax(1))
        history.append({"epoch": epoch, "loss": float(fit.history["loss"][0]), "val_accuracy": val["accuracy"], "val_macro_f1": val["macro_f1"]})
        progress(f"epoch {epoch}/{config.epochs}: loss {history[-1]['loss']:.3f}, validation macro-F1 {val['macro_f1']:.3f}")
        if val["macro_f1"] > best:
            best, best_weights = val["macro_f1"], model.get_weights()
    model.set_weights(best_weights)  # the epoch that did best on validation images
    metrics = classification_metrics(test_y, export.keras_probabilities(model, test_x).argmax(1))
    return TrainResult(model, metrics, base, majority, {"train": len(train_y), "validation": len(val_y), "test": len(test_y)}, history)

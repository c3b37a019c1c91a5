"""The abuse scorer in PyTorch: an autoencoder of normal behaviour and a fair-reward model, one score.

- The autoencoder learns to reconstruct presumed-normal windows; its per-feature squared error
  says which features look unlike normal play. It sees (and is taught to reproduce) each feature
  only within the range of normal play, so a value beyond that range is always an error: an
  autoencoder of ReLUs otherwise extrapolates, and reconstructs a script's 1,000 crafts as well
  as a person's 10.
- The reward model predicts the fair gain of a window from its context (time played, payments,
  the mix of activities); the residual, actual minus fair, says who gains more than their play
  explains. Only gaining too much is suspicious.
- Score = the sum of each feature's error beyond what 95% of normal windows show (in units of
  that error) + half the mean error in those units (it orders windows with nothing beyond) +
  twice the residual beyond one standard deviation of normal residuals.

"Presumed normal": the training table is not labelled, so the models are fitted on all of it,
the most anomalous TRIM_SHARE are dropped, and they are fitted again on the rest; in both fits
the range of normal play is each feature's central 98%.

Everything from raw features to score is in one module (signed log and standardisation
included), so the ONNX export is the whole scorer.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

TRIM_SHARE = 0.10
EDGE = 0.01            # the range of normal play: each feature's 1st to 99th percentile
ERROR_QUANTILE = 0.95  # per feature, the error normal windows stay within
LEVEL_WEIGHT, RESIDUAL_WEIGHT = 0.5, 2.0
EPOCHS = 40
BATCH = 512
HIDDEN, CODE = 32, 6
LEARNING_RATE = 3e-3

Progress = Callable[[str], None]


MAX_LOG = 80.0


def signed_log(x):
    """log1p that keeps the sign: counts, currency and ratios on one scale, losses below zero."""
    return torch.sign(x) * torch.log1p(torch.abs(x)) if isinstance(x, torch.Tensor) else np.sign(x) * np.log1p(np.abs(x))


def mlp(inputs: int, hidden: int, outputs: int) -> nn.Sequential:
    return nn.Sequential(nn.Linear(inputs, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU(), nn.Linear(hidden, outputs))


class AbuseNet(nn.Module):
    """raw features [n, d] -> (score [n], per-feature error in units of normal error [n, d],
    reward residual: actual minus fair gain [n])."""

    def __init__(self, n_features: int, context: list[int], gain: int | None):
        super().__init__()
        self.register_buffer("center", torch.zeros(n_features))
        self.register_buffer("scale", torch.ones(n_features))
        self.register_buffer("low", torch.full((n_features,), -1e6))   # the range of normal play
        self.register_buffer("high", torch.full((n_features,), 1e6))
        self.register_buffer("error_scale", torch.ones(n_features))  # per feature, ERROR_QUANTILE of normal errors
        self.register_buffer("sigma", torch.ones(()))                 # standard deviation of normal residuals
        self.register_buffer("context", torch.tensor(context, dtype=torch.long))
        self.gain = gain
        self.encoder = nn.Sequential(nn.Linear(n_features, HIDDEN), nn.ReLU(), nn.Linear(HIDDEN, CODE))
        self.decoder = nn.Sequential(nn.Linear(CODE, HIDDEN), nn.ReLU(), nn.Linear(HIDDEN, n_features))
        self.reward = mlp(len(context), HIDDEN, 1) if gain is not None else None

    def standardise(self, raw: torch.Tensor) -> torch.Tensor:
        return (signed_log(raw) - self.center) / self.scale

    def reconstruct(self, z: torch.Tensor) -> torch.Tensor:
        return self.decoder(self.encoder(self.clip(z)))

    def clip(self, z: torch.Tensor) -> torch.Tensor:
        return torch.maximum(torch.minimum(z, self.high), self.low)

    def parts(self, raw: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Per-feature reconstruction error, standardised residual and fair gain (standardised)."""
        z = self.standardise(raw)
        errors = (self.reconstruct(z) - z) ** 2
        if self.reward is None:
            zeros = torch.zeros_like(z[:, 0])
            return errors, zeros, zeros
        fair = self.reward(z[:, self.context]).squeeze(1)
        return errors, z[:, self.gain] - fair, fair

    def forward(self, raw: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        errors, residual, fair = self.parts(raw)
        relative = errors / self.error_scale
        score = (torch.relu(relative - 1).sum(1) + LEVEL_WEIGHT * relative.mean(1)
                 + RESIDUAL_WEIGHT * torch.relu(residual / self.sigma - 1))
        if self.reward is None:
            return score, relative, torch.zeros_like(score)
        fair_gain = self.unlog(fair * self.scale[self.gain] + self.center[self.gain])
        return score, relative, raw[:, self.gain] - fair_gain

    @staticmethod
    def unlog(y: torch.Tensor) -> torch.Tensor:
        # expm1 has no ONNX operator; the clamp keeps a far extrapolation finite in float32 (e^80 ~ 5.5e34)
        return torch.sign(y) * (torch.exp(torch.clamp(torch.abs(y), max=MAX_LOG)) - 1)


@dataclass(frozen=True)
class FitConfig:
    seed: int = 0
    epochs: int = EPOCHS


def fit_parts(net: AbuseNet, z: torch.Tensor, config: FitConfig) -> None:
    """Autoencoder and reward model, both by Adam on mean squared error."""
    generator = torch.Generator().manual_seed(config.seed)
    optimiser = torch.optim.Adam(net.parameters(), lr=LEARNING_RATE)
    net.train()
    for _ in range(config.epochs):
        for batch in torch.randperm(len(z), generator=generator).split(BATCH):
            rows = z[batch]
            loss = ((net.reconstruct(rows) - net.clip(rows)) ** 2).mean()  # never taught to reach beyond normal
            if net.reward is not None:
                loss = loss + ((net.reward(rows[:, net.context]).squeeze(1) - rows[:, net.gain]) ** 2).mean()
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
    net.eval()


def set_references(net: AbuseNet, raw: torch.Tensor) -> None:
    """The normal errors and residuals the score is measured in."""
    with torch.no_grad():
        errors, residual, _ = net.parts(raw)
        net.error_scale.copy_(torch.quantile(errors, ERROR_QUANTILE, dim=0).clamp(min=1e-6))
        if net.reward is not None:
            net.sigma.copy_(residual.std().clamp(min=1e-6))


def new_net(raw: torch.Tensor, context: list[int], gain: int | None, seed: int) -> AbuseNet:
    torch.manual_seed(seed)
    net = AbuseNet(raw.shape[1], context, gain)
    logged = signed_log(raw)
    net.center.copy_(logged.mean(0))
    net.scale.copy_(torch.where(logged.std(0) > 1e-6, logged.std(0), torch.ones(raw.shape[1])))
    z = net.standardise(raw)
    net.low.copy_(torch.quantile(z, EDGE, dim=0))
    net.high.copy_(torch.quantile(z, 1 - EDGE, dim=0))
    return net


def fit(features: np.ndarray, context: list[int], gain: int | None, config: FitConfig = FitConfig(),
        progress: Progress = lambda _: None) -> AbuseNet:
    """Fit on all rows, drop the TRIM_SHARE that score highest, fit again on the presumed normal.
    One thread: these small networks train faster without threads, and beside other work."""
    with single_thread():
        return fit_presumed_normal(torch.as_tensor(np.asarray(features, np.float32)), context, gain, config, progress)


@contextmanager
def single_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def fit_presumed_normal(raw: torch.Tensor, context: list[int], gain: int | None, config: FitConfig, progress: Progress) -> AbuseNet:
    net = new_net(raw, context, gain, config.seed)
    progress(f"fitting on {len(raw):,} windows")
    fit_parts(net, net.standardise(raw).detach(), config)
    set_references(net, raw)
    with torch.no_grad():
        score = net(raw)[0]
    normal = raw[score <= torch.quantile(score, 1 - TRIM_SHARE)]
    progress(f"fitting again on the {len(normal):,} presumed normal")
    net = new_net(normal, context, gain, config.seed)
    fit_parts(net, net.standardise(normal).detach(), config)
    set_references(net, normal)
    return net


def predict(net: AbuseNet, features: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    with torch.no_grad():
        score, errors, residual = net(torch.as_tensor(np.asarray(features, np.float32)))
    return score.numpy(), errors.numpy(), residual.numpy()

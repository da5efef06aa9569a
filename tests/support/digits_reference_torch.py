"""The digits classifier of examples/digits_mlp.noma trained with PyTorch
autograd (f64), from the same initial weights and on the same blocks as
digits_reference.py: the gradients come from torch.autograd, the step from
torch.optim.Adam (the same update as NOMA's, its operations grouped its own
way), the loss from torch.nn.functional.log_softmax. Only for machines where
PyTorch is installed; nothing imports it otherwise."""

from __future__ import annotations

import time

import digits_reference as ref
import numpy as np
import torch


def train(
    split: ref.Split,
    params: dict[str, np.ndarray] | None = None,
    epochs: int = ref.EPOCHS,
    batch: int = ref.BATCH,
    lr: float = ref.LR,
) -> ref.Training:
    """As digits_reference.train, with autograd and torch.optim.Adam."""
    start_params = params if params is not None else ref.initial_params()
    weights = {
        name: torch.tensor(start_params[name], dtype=torch.float64, requires_grad=True)
        for name in ref.PARAMETERS
    }
    optimizer = torch.optim.Adam(
        list(weights.values()), lr=lr, betas=(ref.BETA1, ref.BETA2), eps=ref.EPS
    )
    x = torch.tensor(split.train_x, dtype=torch.float64)
    targets = torch.tensor(ref.one_hot(split.train_y), dtype=torch.float64)
    rows = x.shape[0]
    step_losses: list[float] = []
    epoch_losses: list[float] = []
    start = time.perf_counter()
    for _ in range(epochs):
        total = 0.0
        for block in ref.blocks(rows, batch):
            xb, yb = x[block], targets[block]
            hidden = torch.relu(xb @ weights["W1"] + weights["b1"])
            logits = hidden @ weights["W2"] + weights["b2"]
            nll = -(yb * torch.nn.functional.log_softmax(logits, dim=1)).sum(dim=1)
            loss = nll.mean()
            step_losses.append(loss.item())
            total = total + nll.sum().item()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        epoch_losses.append(total / rows)
    seconds = time.perf_counter() - start
    trained = {name: w.detach().numpy().copy() for name, w in weights.items()}
    return ref.Training(trained, step_losses, epoch_losses, seconds)


def accuracy(params: dict[str, np.ndarray], x: np.ndarray, labels: np.ndarray) -> float:
    """argmax of the logits per row against the labels, in torch."""
    w = {name: torch.tensor(v, dtype=torch.float64) for name, v in params.items()}
    hidden = torch.relu(torch.tensor(x, dtype=torch.float64) @ w["W1"] + w["b1"])
    predicted = torch.argmax(hidden @ w["W2"] + w["b2"], dim=1)
    hits = predicted == torch.tensor(labels.astype(np.int64))
    return hits.to(torch.float64).sum().item() / labels.size

"""Joint training (docs/paper.md §5): every parameter of network (1), Adam, μP initialisation and
learning-rate scaling, a stated stopping rule; full batch or mini-batches.

μP for this network (Yang and Hu's abc-rules for Adam, applied to equation (1)):
- input-like weights and all biases keep the base learning rate: V (fan-in d, fixed), s, a
  (fan-in 1: it reads the scalar ĝ), b;
- the two readouts scale with 1/fan-in: u with lr/m1, c with lr/m2;
- initialisation: V rows on the unit sphere (variance 1/d per entry), readouts u, c at the μP
  scale N(0, 1/m1²), N(0, 1/m2²) (``output_init="mup"``, the default here) or zero.

The stopping rule (:class:`StoppingRule`): every ``eval_every`` steps the full training loss is
evaluated; training stops at the first of (a) ``max_steps`` steps, (b) that loss <= ``target_loss``,
(c) ``patience`` evaluations in a row without a relative improvement of ``rel_improvement`` over
the best loss so far. The parameters returned are the last ones. A non-finite loss, or one above
``divergence_factor`` times the initial loss (a diverged run), raises
:class:`~model.layerwise.NonFiniteLossError`: a non-finite step loss is noted on the device at
the step it happens and raised at the next evaluation (naming that step), so the loop copies
nothing from the device to the host between evaluations.

Many runs (seeds, n values) train as one stacked model in :mod:`model.batched`, which shares the
stopping bookkeeping (:class:`StoppingTracker`, :class:`NonFiniteWatch`, :class:`MiniBatchOrder`).
"""
from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass
from typing import Any, Callable, Iterable

import torch
from torch import nn

from .data import Dataset, ModelInputError, Target, check_generator, check_positive_int, make_dataset
from .layerwise import NonFiniteLossError, target_degree
from .network import ThreeLayerNet, init_three_layer

__all__ = ["StoppingRule", "StoppingTracker", "NonFiniteWatch", "MiniBatchOrder", "mup_param_groups", "train_adam",
           "train_joint"]


@dataclass(frozen=True)
class StoppingRule:
    """When Adam training stops (see the module docstring)."""

    max_steps: int = 5000
    eval_every: int = 50
    patience: int = 10
    rel_improvement: float = 1e-4
    target_loss: float = 0.0
    # A run whose evaluated loss exceeds this multiple of its initial loss has diverged. Adam's
    # steps are bounded by the learning rate, so a too-large rate need not reach inf; without
    # this guard such a run would return huge, finite parameters and yield a verdict silently.
    divergence_factor: float = 1e6

    def __post_init__(self) -> None:
        for name in ("max_steps", "eval_every", "patience"):
            check_positive_int(name, getattr(self, name))
        if not (self.rel_improvement >= 0 and self.target_loss >= 0):
            raise ModelInputError("rel_improvement and target_loss must be >= 0")
        if not self.divergence_factor > 1:
            raise ModelInputError(f"divergence_factor must be > 1, got {self.divergence_factor!r}")

    def evaluates_at(self, step: int) -> bool:
        """Whether the full training loss is evaluated after ``step``."""
        return step % self.eval_every == 0 or step == self.max_steps

    def describe(self) -> str:
        return (f"stop at {self.max_steps} steps, at full-batch train loss <= {self.target_loss:g}, or after "
                f"{self.patience} evaluations (every {self.eval_every} steps) without a relative improvement "
                f"of {self.rel_improvement:g}; a loss above {self.divergence_factor:g} times the initial "
                f"loss is a divergence (an error)")


def mup_param_groups(model: ThreeLayerNet, lr: float) -> list[dict[str, Any]]:
    """Adam parameter groups with μP learning rates: V, s, a, b at lr; u at lr/m1; c at lr/m2."""
    if not (lr > 0 and math.isfinite(lr)):
        raise ModelInputError(f"the learning rate must be finite and > 0, got {lr!r}")
    return [
        {"params": [model.V, model.s, model.a, model.b], "lr": lr, "name": "input-and-biases"},
        {"params": [model.u], "lr": lr / model.m1, "name": "readout-u"},
        {"params": [model.c], "lr": lr / model.m2, "name": "readout-c"},
    ]


def _full_loss(module: nn.Module, data: Dataset, loss_fn: Callable) -> float:
    with torch.no_grad():
        return float(loss_fn(module(data.x), data.y))


def _mse(prediction: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return (prediction - y).square().mean()


class StoppingTracker:
    """The host-side state of one run's :class:`StoppingRule`: feed it the full training loss at
    each evaluation (:meth:`observe`); it says when and why to stop and raises on a non-finite or
    diverged loss. Shared by the single-run loop and the batched one (``model.batched``)."""

    def __init__(self, rule: StoppingRule, *, initial_loss: float, label: str = ""):
        self.rule, self.initial_loss, self.label = rule, float(initial_loss), label
        self.history: list[tuple[int, float]] = []
        self.best, self.stale = math.inf, 0
        self.reason: str | None = None

    def observe(self, step: int, current: float) -> str | None:
        """Record the loss after ``step``; returns the stopping reason once the rule stops the run."""
        rule, where = self.rule, f"{self.label}: " if self.label else ""
        if not math.isfinite(current):
            raise NonFiniteLossError(f"{where}the full training loss became non-finite ({current}) after step {step}")
        if current > rule.divergence_factor * max(self.initial_loss, torch.finfo(torch.float64).tiny):
            raise NonFiniteLossError(
                f"{where}training diverged: the full training loss {current:.3g} after step {step} exceeds "
                f"{rule.divergence_factor:g} times the initial loss {self.initial_loss:.3g}; lower the learning rate")
        self.history.append((step, current))
        if current <= rule.target_loss:
            self.reason = "target_loss"
        elif current < self.best * (1 - rule.rel_improvement):
            self.best, self.stale = current, 0
        else:
            self.stale += 1
            if self.stale >= rule.patience:
                self.reason = "plateau"
        if self.reason is None and step >= rule.max_steps:
            self.reason = "max_steps"
        return self.reason


class NonFiniteWatch:
    """Remembers, on the device, the first step at which each of ``runs`` step losses was
    non-finite, so the training loop needs no host-device copy per step; :meth:`raise_if_seen`
    (called at evaluations, where the loop synchronises anyway) raises naming that step."""

    def __init__(self, runs: int, *, device: torch.device | str, labels: list[str] | None = None):
        self.first_step = torch.zeros(runs, dtype=torch.long, device=device)
        self.first_loss = torch.zeros(runs, dtype=torch.float64, device=device)
        self.labels = labels

    def observe(self, step: int, losses: torch.Tensor) -> None:
        new = ~torch.isfinite(losses) & (self.first_step == 0)
        self.first_step = torch.where(new, step, self.first_step)
        self.first_loss = torch.where(new, losses.to(torch.float64), self.first_loss)

    def keep(self, rows: torch.Tensor) -> None:
        """Keep only the given runs (the batched loop drops stopped runs)."""
        self.first_step, self.first_loss = self.first_step[rows], self.first_loss[rows]
        if self.labels is not None:
            self.labels = [self.labels[int(i)] for i in rows.tolist()]

    def raise_if_seen(self) -> None:
        steps = self.first_step.tolist()
        for i, step in enumerate(steps):
            if step:
                where = f"{self.labels[i]}: " if self.labels else ""
                raise NonFiniteLossError(f"{where}Adam training hit a non-finite loss ({float(self.first_loss[i])}) "
                                         f"at step {step}; lower the learning rate")


class MiniBatchOrder:
    """Mini-batches without replacement within an epoch: a fresh permutation of the n samples from
    ``generator`` whenever fewer than ``batch_size`` are left (the tail of an epoch is dropped)."""

    def __init__(self, n: int, batch_size: int, *, generator: torch.Generator, device: torch.device | str):
        batch_size = check_positive_int("batch_size", batch_size)
        if batch_size > n:
            raise ModelInputError(f"batch_size {batch_size} exceeds the {n} training samples")
        self.n, self.batch_size, self.generator, self.device = n, batch_size, generator, device
        self.order: torch.Tensor | None = None
        self.cursor = n

    def next_indices(self) -> torch.Tensor:
        if self.cursor + self.batch_size > self.n:
            gen = self.generator
            self.order = torch.randperm(self.n, generator=gen, device=gen.device).to(self.device)
            self.cursor = 0
        idx = self.order[self.cursor:self.cursor + self.batch_size]
        self.cursor += self.batch_size
        return idx


def train_adam(module: nn.Module, data: Dataset, *, param_groups: Iterable[dict[str, Any]], stopping: StoppingRule,
               generator: torch.Generator, batch_size: int | None = None, weight_decay: float = 0.0,
               loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] = _mse) -> dict[str, Any]:
    """Train ``module`` on ``data`` with Adam over ``param_groups`` until ``stopping`` says stop.

    ``batch_size=None`` is full batch; otherwise each step draws a mini-batch without replacement
    within an epoch (a permutation from ``generator`` per epoch). Returns an info dict with the
    steps taken, why training stopped, the evaluated loss history and the seconds.
    """
    gen = check_generator(generator)
    batches = MiniBatchOrder(data.n, batch_size, generator=gen, device=data.x.device) if batch_size is not None else None
    optimiser = torch.optim.Adam(list(param_groups), weight_decay=weight_decay)
    t0 = time.perf_counter()
    tracker = StoppingTracker(stopping, initial_loss=_full_loss(module, data, loss_fn))
    # Non-finite step losses are noted on the device and reported at the next evaluation, so the
    # loop copies nothing to the host between evaluations.
    watch = NonFiniteWatch(1, device=data.x.device)
    for step in range(1, stopping.max_steps + 1):
        if batches is None:
            xb, yb = data.x, data.y
        else:
            idx = batches.next_indices()
            xb, yb = data.x[idx], data.y[idx]
        optimiser.zero_grad(set_to_none=True)
        loss = loss_fn(module(xb), yb)
        watch.observe(step, loss.detach().reshape(1))
        loss.backward()
        optimiser.step()
        if stopping.evaluates_at(step):
            watch.raise_if_seen()
            if tracker.observe(step, _full_loss(module, data, loss_fn)) is not None:
                break
    watch.raise_if_seen()
    history, reason = tracker.history, tracker.reason or "max_steps"
    return {"steps": step, "stopped_because": reason, "rule": stopping.describe(), "history": history,
            "final_train_loss": history[-1][1] if history else _full_loss(module, data, loss_fn),
            "batch_size": None if batches is None else batches.batch_size, "seconds": time.perf_counter() - t0}


def train_joint(target: Target, *, d: int, n: int, m1: int, m2: int, generator: torch.Generator,
                k: int | None = None, sigma1: str = "monomial", lr: float = 1e-3, batch_size: int | None = None,
                stopping: StoppingRule = StoppingRule(), output_init: str = "mup", input_law: str = "gaussian",
                noise_std: float = 0.0, bias_scale: float = 1.0, b_dof: int = 9,
                device: torch.device | str | None = None,
                dtype: torch.dtype = torch.float64) -> tuple[ThreeLayerNet, dict[str, Any]]:
    """Section 5's protocol: initialise network (1) (σ1 = z^k by default), draw n samples, train
    all of (V, s, u, a, b, c) jointly with Adam under μP learning rates until ``stopping``.

    Random draws, in order: the network, the data, then the mini-batch permutations.
    """
    k = target_degree(target, k)
    model = init_three_layer(d, m1, m2, generator=generator, k=k, sigma1=sigma1, bias_scale=bias_scale,
                             b_dof=b_dof, output_init=output_init, device=device, dtype=dtype)
    data = make_dataset(target, n, d=d, generator=generator, law=input_law, noise_std=noise_std,
                        device=device, dtype=dtype)
    info = train_adam(model, data, param_groups=mup_param_groups(model, lr), stopping=stopping,
                      generator=generator, batch_size=batch_size)
    info.update({"d": d, "k": k, "n": n, "m1": m1, "m2": m2, "lr": lr, "sigma1": model.sigma1.name,
                 "stopping": asdict(stopping), "output_init": output_init})
    return model, info

"""Many runs of joint training (docs/paper.md §5, :func:`model.joint.train_joint`) as one stacked model.

S runs of network (1) (seeds, and n values if wanted) train together: every parameter carries a
leading run axis (V: (S, m1, d), s, u: (S, m1), a, b, c: (S, m2)), the forward pass is batched
matmuls (``torch.baddbmm``/``bmm``), and Adam is applied elementwise to the stacked tensors with each
parameter's μP learning rate (:func:`model.joint.mup_param_groups`). The runs stay independent:

- each run draws its network and its data from its own generator, in the order of
  :func:`~model.joint.train_joint` (the same calls), and its mini-batch permutations after them;
- the loss is the sum of the runs' own mean losses, so each run's gradient is that of its own loss;
  runs of different n are padded to the largest n and the padding rows carry weight 0;
- each run has its own :class:`~model.joint.StoppingTracker`; a run that stops leaves the stack
  (its parameters are final; the others continue on a smaller stack), so it neither holds the
  others back nor changes them.

So a run's numbers come from its own seed whatever batch it is in: equal to one run at a time up
to floating-point rounding (summation order inside batched matmuls and reductions;
``tests/test_batched.py`` measures it in float64). The loop copies nothing to the host between
evaluations: non-finite step losses are noted on the device (:class:`~model.joint.NonFiniteWatch`)
and read at the evaluations, which read S losses at once.

Stage 1 of Algorithm 1 batches the same way (:func:`train_stage1_batch`, :func:`fit_stage1_batch`):
S closed-form ridges on the features σ1(Vx + s) of S networks and data sets of one n, with batched
Grams and a batched Cholesky; a run whose solve would fail or need a float32 guard is handed to
:func:`model.layerwise.ridge_solve`, which decides and explains.

For sweeps, :func:`train_joint_many` takes a list of ``train_joint`` keyword dicts, trains each
group of compatible runs (same everything but ``generator`` and ``n``) as one batch, and returns the
``(model, info)`` pairs in the order given.
"""
from __future__ import annotations

import math
import time
from dataclasses import asdict
from typing import Any, Mapping, Sequence

import torch

from .data import ModelInputError, Target, check_generator, check_positive_int, make_dataset
from .joint import MiniBatchOrder, NonFiniteWatch, StoppingRule, StoppingTracker, mup_param_groups
from .layerwise import ridge_solve, target_degree
from .network import PolynomialActivation, ThreeLayerNet, init_three_layer

__all__ = ["PARAMETER_NAMES", "stacked_forward", "train_joint_batch", "train_joint_many", "ADAM_BETAS", "ADAM_EPS",
           "fit_stage1_batch", "train_stage1_batch"]

PARAMETER_NAMES = ("V", "s", "u", "a", "b", "c")
# torch.optim.Adam's defaults, which train_joint uses.
ADAM_BETAS = (0.9, 0.999)
ADAM_EPS = 1e-8
# Rows per chunk of the full-loss evaluation are chosen so that one chunk's widest activation
# (S × rows × max(m1, m2)) holds about this many elements: bounded memory at any n.
EVAL_CHUNK_ELEMENTS = 1 << 26


def stacked_forward(params: Mapping[str, torch.Tensor], sigma1: PolynomialActivation, x: torch.Tensor) -> torch.Tensor:
    """f of network (1) for S stacked runs: ``x`` (S, N, d) -> (S, N), run r with ``params[name][r]``."""
    z = torch.baddbmm(params["s"].unsqueeze(1), x, params["V"].transpose(1, 2))      # (S, N, m1)
    g = torch.bmm(sigma1(z), params["u"].unsqueeze(2)).squeeze(2)                     # ĝ: (S, N)
    link = torch.addcmul(params["b"].unsqueeze(1), g.unsqueeze(2), params["a"].unsqueeze(1)).relu_()  # (S, N, m2)
    return torch.bmm(link, params["c"].unsqueeze(2)).squeeze(2) + g


def _per_run_mean_loss(params, sigma1, x, y, weights) -> torch.Tensor:
    """(S,) mean squared errors; ``weights`` (S, N) is 1/n_r on run r's rows and 0 on padding."""
    return ((stacked_forward(params, sigma1, x) - y).square() * weights).sum(1)


def _full_losses(params, sigma1, x, y, weights) -> torch.Tensor:
    """The full training loss of every run, in row chunks of bounded memory, without autograd."""
    S, N, _ = x.shape
    width = max(params["V"].shape[1], params["a"].shape[1])
    rows = max(1, EVAL_CHUNK_ELEMENTS // (S * width))
    with torch.no_grad():
        total = torch.zeros(S, dtype=x.dtype, device=x.device)
        for i in range(0, N, rows):
            total += _per_run_mean_loss(params, sigma1, x[:, i:i + rows], y[:, i:i + rows], weights[:, i:i + rows])
    return total


class _StackedAdam:
    """Adam (torch.optim.Adam's single-tensor update, no weight decay) on stacked parameters, one
    learning rate per parameter name; all runs of the stack share the step count."""

    def __init__(self, params: Mapping[str, torch.Tensor], lrs: Mapping[str, float]):
        self.lrs = dict(lrs)
        self.exp_avg = {k: torch.zeros_like(p) for k, p in params.items()}
        self.exp_avg_sq = {k: torch.zeros_like(p) for k, p in params.items()}
        self.steps = 0

    def step(self, params: Mapping[str, torch.Tensor], grads: Mapping[str, torch.Tensor]) -> None:
        beta1, beta2 = ADAM_BETAS
        self.steps += 1
        bias_correction1 = 1 - beta1 ** self.steps
        bias_correction2_sqrt = (1 - beta2 ** self.steps) ** 0.5
        with torch.no_grad():
            for name, param in params.items():
                grad, m, v = grads[name], self.exp_avg[name], self.exp_avg_sq[name]
                m.lerp_(grad, 1 - beta1)
                v.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
                denom = (v.sqrt() / bias_correction2_sqrt).add_(ADAM_EPS)
                param.addcdiv_(m, denom, value=-self.lrs[name] / bias_correction1)

    def keep(self, rows: torch.Tensor) -> None:
        for state in (self.exp_avg, self.exp_avg_sq):
            for name in state:
                state[name] = state[name][rows]


def _stack_data(datasets, device) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(x, y, weights) padded to the largest n: weights 1/n_r on run r's rows, 0 on padding."""
    N, d = max(ds.n for ds in datasets), datasets[0].d
    ref = datasets[0].x
    x = torch.zeros(len(datasets), N, d, dtype=ref.dtype, device=device)
    y = torch.zeros(len(datasets), N, dtype=ref.dtype, device=device)
    weights = torch.zeros(len(datasets), N, dtype=ref.dtype, device=device)
    for r, ds in enumerate(datasets):
        x[r, :ds.n], y[r, :ds.n], weights[r, :ds.n] = ds.x, ds.y, 1.0 / ds.n
    return x, y, weights


def train_joint_batch(target: Target, *, d: int, ns: Sequence[int], m1: int, m2: int,
                      generators: Sequence[torch.Generator], k: int | None = None, sigma1: str = "monomial",
                      lr: float = 1e-3, batch_size: int | None = None, stopping: StoppingRule = StoppingRule(),
                      output_init: str = "mup", input_law: str = "gaussian", noise_std: float = 0.0,
                      bias_scale: float = 1.0, b_dof: int = 9, device: torch.device | str | None = None,
                      dtype: torch.dtype = torch.float64) -> list[tuple[ThreeLayerNet, dict[str, Any]]]:
    """``len(generators)`` runs of :func:`~model.joint.train_joint` trained as one stacked model;
    run r has ``ns[r]`` samples and draws everything from ``generators[r]``. Every other argument
    is shared and means what it means in ``train_joint`` (float32 ``dtype`` where a check's error
    budget allows it). Returns one ``(model, info)`` per run, as ``train_joint`` would, with
    ``info["batch"]`` = {runs, index, seconds} (``info["seconds"]``: the batch's seconds / runs)."""
    if len(generators) != len(ns) or not generators:
        raise ModelInputError(f"one n per generator is needed, got {len(ns)} n values and {len(generators)} generators")
    ns = [check_positive_int("n", n) for n in ns]
    k = target_degree(target, k)
    t0 = time.perf_counter()
    nets, datasets = [], []
    for gen in generators:  # per run, the draws of train_joint in its order: network, then data
        check_generator(gen)
        nets.append(init_three_layer(d, m1, m2, generator=gen, k=k, sigma1=sigma1, bias_scale=bias_scale, b_dof=b_dof,
                                     output_init=output_init, device=device, dtype=dtype))
    for gen, n, net in zip(generators, ns, nets):
        datasets.append(make_dataset(target, n, d=d, generator=gen, law=input_law, noise_std=noise_std,
                                     device=net.V.device, dtype=dtype))
    where = nets[0].V.device
    orders = ([MiniBatchOrder(n, batch_size, generator=gen, device=where) for n, gen in zip(ns, generators)]
              if batch_size is not None else None)
    # One learning rate per parameter name, read off train_joint's own μP groups.
    names = {id(getattr(nets[0], name)): name for name in PARAMETER_NAMES}
    lrs = {names[id(p)]: group["lr"] for group in mup_param_groups(nets[0], lr) for p in group["params"]}
    sigma = nets[0].sigma1
    params = {name: torch.stack([getattr(net, name).detach() for net in nets]).requires_grad_(True)
              for name in PARAMETER_NAMES}
    x, y, weights = _stack_data(datasets, where)
    adam = _StackedAdam(params, lrs)
    labels = [f"run {r} of the batch (n={n})" for r, n in enumerate(ns)]
    initial = _full_losses(params, sigma, x, y, weights).tolist()
    trackers = [StoppingTracker(stopping, initial_loss=v, label=lab) for v, lab in zip(initial, labels)]
    watch = NonFiniteWatch(len(ns), device=where, labels=list(labels))
    alive = list(range(len(ns)))  # the original indices of the runs still in the stack
    final: dict[int, tuple[dict[str, torch.Tensor], int]] = {}
    for step in range(1, stopping.max_steps + 1):
        if orders is None:
            xb, yb, wb = x, y, weights
        else:
            rows = torch.stack([orders[r].next_indices() for r in alive])        # (S, B)
            xb = torch.gather(x, 1, rows.unsqueeze(2).expand(-1, -1, x.shape[2]))
            yb, wb = torch.gather(y, 1, rows), torch.full(rows.shape, 1.0 / batch_size, dtype=x.dtype, device=where)
        losses = _per_run_mean_loss(params, sigma, xb, yb, wb)
        watch.observe(step, losses.detach())
        grads = dict(zip(PARAMETER_NAMES, torch.autograd.grad(losses.sum(), [params[k] for k in PARAMETER_NAMES])))
        adam.step(params, grads)
        if not stopping.evaluates_at(step):
            continue
        watch.raise_if_seen()
        current = _full_losses(params, sigma, x, y, weights).tolist()
        keep = [i for i, r in enumerate(alive) if trackers[r].observe(step, current[i]) is None]
        if len(keep) == len(alive):
            continue
        for i, r in enumerate(alive):
            if i not in keep:
                final[r] = ({name: params[name][i].detach().clone() for name in PARAMETER_NAMES}, step)
        if not keep:
            break
        rows_kept = torch.tensor(keep, device=where)
        params = {name: p.detach()[rows_kept].requires_grad_(True) for name, p in params.items()}
        adam.keep(rows_kept)
        watch.keep(rows_kept)
        alive = [alive[i] for i in keep]
        longest = max(ns[r] for r in alive)  # padding beyond the longest remaining run is dropped
        x, y, weights = x[rows_kept, :longest], y[rows_kept, :longest], weights[rows_kept, :longest]
    seconds = time.perf_counter() - t0
    results = []
    for r, net in enumerate(nets):
        values, steps = final[r]
        with torch.no_grad():
            for name in PARAMETER_NAMES:
                getattr(net, name).copy_(values[name])
        tracker = trackers[r]
        info = {"steps": steps, "stopped_because": tracker.reason, "rule": stopping.describe(),
                "history": tracker.history, "final_train_loss": tracker.history[-1][1], "batch_size": batch_size,
                "seconds": seconds / len(nets), "batch": {"runs": len(nets), "index": r, "seconds": seconds},
                "d": d, "k": k, "n": ns[r], "m1": m1, "m2": m2, "lr": lr, "sigma1": net.sigma1.name,
                "stopping": asdict(stopping), "output_init": output_init}
        results.append((net, info))
    return results


# train_joint keywords that may differ within one batch; every other keyword must agree.
_PER_RUN_KEYS = ("generator", "n")


def _group_key(call: Mapping[str, Any]) -> tuple:
    shared = {key: value for key, value in call.items() if key not in _PER_RUN_KEYS}
    # Targets and devices are compared by identity/str: a target need not be hashable.
    return tuple(sorted((key, id(value) if key == "target" else repr(value)) for key, value in shared.items()))


def train_joint_many(calls: Sequence[Mapping[str, Any]], *, max_batch: int | None = None
                     ) -> list[tuple[ThreeLayerNet, dict[str, Any]]]:
    """``train_joint(**call)`` for every call, as few batches as possible: calls that agree on
    every keyword but ``generator`` and ``n`` (the same target object, sizes, rule, lr, device,
    dtype, ...) train as one :func:`train_joint_batch` of at most ``max_batch`` runs. Results come
    back in the order of ``calls``; each depends only on its own call (to rounding)."""
    if max_batch is not None:
        max_batch = check_positive_int("max_batch", max_batch)
    groups: dict[tuple, list[int]] = {}
    for i, call in enumerate(calls):
        missing = {"target", "d", "n", "m1", "m2", "generator"} - set(call)
        if missing:
            raise ModelInputError(f"call {i} to train_joint_many lacks {sorted(missing)}")
        groups.setdefault(_group_key(call), []).append(i)
    out: list[Any] = [None] * len(calls)
    for indices in groups.values():
        size = max_batch or len(indices)
        for start in range(0, len(indices), size):
            chunk = indices[start:start + size]
            shared = {key: value for key, value in calls[chunk[0]].items() if key not in _PER_RUN_KEYS}
            target = shared.pop("target")
            trained = train_joint_batch(target, ns=[calls[i]["n"] for i in chunk],
                                        generators=[calls[i]["generator"] for i in chunk], **shared)
            for i, result in zip(chunk, trained):
                out[i] = result
    return out


# ==== stage 1 of Algorithm 1, batched ====================================================================

def fit_stage1_batch(nets: Sequence[ThreeLayerNet], datasets, ridge: float) -> list[dict[str, Any]]:
    """:func:`model.layerwise.fit_stage1` (closed form, float64 solve, side chosen as "auto") for
    S networks and data sets of one n and one width: c = 0, u = the ridge solution on
    Φ_r = σ1(V_r x_r + s_r), with the S Grams, Cholesky factors and solves batched. Sets each
    net's u and c in place; returns one info dict per run as ``fit_stage1`` does. A run whose
    batched Cholesky fails goes through ``ridge_solve`` alone, which raises its error."""
    n, m = datasets[0].n, nets[0].m1
    if any(ds.n != n for ds in datasets) or any(net.m1 != m for net in nets) or len(nets) != len(datasets):
        raise ModelInputError("a stage-1 batch needs one data set per network, all of one n and one width m1")
    if not (isinstance(ridge, (int, float)) and math.isfinite(ridge) and ridge > 0):
        raise ModelInputError(f"a batched stage 1 needs a finite ridge ξ > 0, got {ridge!r}")
    t0 = time.perf_counter()
    with torch.no_grad():
        for net in nets:
            net.c.zero_()
        x = torch.stack([ds.x for ds in datasets])
        V = torch.stack([net.V for net in nets])
        s = torch.stack([net.s for net in nets])
        phi = nets[0].sigma1(torch.baddbmm(s.unsqueeze(1), x, V.transpose(1, 2))).to(torch.float64)  # (S, n, m)
        y = torch.stack([ds.y for ds in datasets]).to(torch.float64)
        side = "dual" if n < m else "primal"
        gram = phi.transpose(1, 2) @ phi if side == "primal" else phi @ phi.transpose(1, 2)
        scale = gram.diagonal(dim1=1, dim2=2).sum(1) / (n * m)
        gram.diagonal(dim1=1, dim2=2).add_(n * ridge)
        t1 = time.perf_counter()
        chol, status = torch.linalg.cholesky_ex(gram)
        if side == "primal":
            w = torch.cholesky_solve((phi.transpose(1, 2) @ y.unsqueeze(2)), chol).squeeze(2)
        else:
            w = (phi.transpose(1, 2) @ torch.cholesky_solve(y.unsqueeze(2), chol)).squeeze(2)
        failed = (status != 0) | ~torch.isfinite(w).all(1)
        t2 = time.perf_counter()
    infos = []
    for r, (net, ds) in enumerate(zip(nets, datasets)):
        with torch.no_grad():
            if bool(failed[r]):  # the single-run solver decides and explains
                w_r, info = ridge_solve(phi[r], y[r], ridge, solver=side)
            else:
                w_r = w[r]
                info = {"solver": side, "ridge": float(ridge), "relative_ridge": float(ridge / scale[r]),
                        "gram_seconds": (t1 - t0) / len(nets), "solve_seconds": (t2 - t1) / len(nets), "n": n, "m": m}
            net.u.copy_(w_r.to(net.u.dtype))
            info["method"] = "closed-form"
            info["train_mse"] = float((phi[r].to(net.u.dtype) @ net.u - ds.y).square().mean())
        infos.append(info)
    return infos


def train_stage1_batch(target: Target, *, d: int, n1: int, m1: int, ridge1: float,
                       generators: Sequence[torch.Generator], m2: int = 1, k: int | None = None,
                       sigma1: str = "hermite", sigma1_degree: int | None = None, input_law: str = "gaussian",
                       noise_std: float = 0.0, bias_scale: float = 1.0, b_dof: int = 9,
                       device: torch.device | str | None = None, dtype: torch.dtype = torch.float64
                       ) -> list[tuple[ThreeLayerNet, dict[str, Any]]]:
    """``train_layerwise(..., n2=0)`` (stage 1 only, closed form) for each generator, batched:
    run r draws its network (with ``m2``, so its generator stream is that of the single call) and
    its n1 samples from ``generators[r]``. Returns ``(model, info)`` per run as ``train_layerwise``."""
    k = target_degree(target, k)
    degree = k if sigma1_degree is None else sigma1_degree
    t0 = time.perf_counter()
    nets, datasets = [], []
    for gen in generators:
        check_generator(gen)
        nets.append(init_three_layer(d, m1, m2, generator=gen, k=degree, sigma1=sigma1, bias_scale=bias_scale,
                                     b_dof=b_dof, device=device, dtype=dtype))
        datasets.append(make_dataset(target, n1, d=d, generator=gen, law=input_law, noise_std=noise_std,
                                     device=device, dtype=dtype))
    stage1 = fit_stage1_batch(nets, datasets, ridge1)
    seconds = (time.perf_counter() - t0) / len(nets)
    return [(net, {"stage1": info, "d": d, "k": k, "sigma1": net.sigma1.name, "n1": n1, "n2": 0, "m1": m1, "m2": m2,
                   "input_law": input_law, "seconds": seconds}) for net, info in zip(nets, stage1)]

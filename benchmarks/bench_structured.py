"""The structured exact engine against the naive expansion of g∘p (docs/paper.md §7, §8).

    python benchmarks/bench_structured.py                 # naive up to a 60 s run
    python benchmarks/bench_structured.py --naive-budget 10 --out /tmp/bench.png   # shorter

Workloads (``--workload``): ``coordinates``, the Section 5 family p = L^{-1/2} Σ_{i<=L} λ_i h_3(x_i)
(λ_i = ±1 from a fixed seed, d = L), sparse in x; ``rotated``, the same p on the rows v_i of a
rational Householder matrix, p = L^{-1/2} Σ λ_i h_3(<v_i, x>), dense in x (the docs/paper.md §7 trap:
C(d + 9, 9) monomials). Link g = z + z²/2 - 1/2 + z³/3 (k = q = 3). Each method computes the same
exact numbers: the degree spectrum ||P_j h||², j = 0..9, and the Lemma 2 gap ||P_3 h - E[g'] p||².

- naive: ``theory.compose`` (the monomial expansion of g∘p, C(L + 9, 9) terms at worst), then
  projections and norms; L grows until one run passes ``--naive-budget`` seconds; the time at the
  60 s budget is extrapolated from a log-log fit over the largest runs when the budget is shorter;
- structured: ``HierarchicalTarget`` on a ``BlockFeature`` (engine caches cleared before each run,
  so the series are rebuilt: the cold cost), at the same L, then at L = 10^2 .. 10^6 (repeated λ,
  O(1) power sums) and for unequal rational λ at L = 10^4, 10^5.

Prints a table and the ratio at the largest L the naive run finished; draws a log-log figure.
Outside the default audit: not collected by pytest (no test_/check_ prefix).
"""
from __future__ import annotations

import argparse
import time
from fractions import Fraction
from math import comb

import numpy as np
import sympy

from theory import compose
from theory.features import BlockFeature, HierarchicalTarget, Link, Weights
from theory.hermite import Z
from theory.structured import BlockType, clear_exact_caches

LINK = Link(Z + (Z**2 - 1) / 2 + Z**3 / 3)


def section5_feature(L: int, rng: np.random.Generator, workload: str) -> BlockFeature:
    signs = Weights.from_signs(rng.choice(np.array([-1, 1]), size=L))
    if workload == "coordinates":
        return BlockFeature(BlockType.hermite(3), signs, d=L, coordinates=np.arange(L)[:, None])
    v = np.array([Fraction(1 + (i % 3)) for i in range(L)], dtype=object)
    H = np.array([[Fraction(int(i == j)) for j in range(L)] for i in range(L)], dtype=object) \
        - 2 * np.outer(v, v) / sum(c * c for c in v)
    return BlockFeature(BlockType.hermite(3), signs, d=L, directions=H[:, None, :])


def naive(feature: BlockFeature) -> list:
    p = feature.expansion()
    h = compose(LINK.expr, Z, p, feature.variables)
    spectrum = [h.project(j).norm2() for j in range(10)]
    gap2 = (h.project(3) - p * LINK.derivative_mean).norm2()
    return spectrum + [gap2]


def structured(feature: BlockFeature) -> list:
    clear_exact_caches()
    target = HierarchicalTarget(feature, LINK)
    return target.degree_energies() + [target.stein_gap2()]


def timed(fn, *args) -> tuple[float, list]:
    start = time.perf_counter()
    out = fn(*args)
    return time.perf_counter() - start, out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--naive-budget", type=float, default=60.0, help="stop the naive runs past this many seconds")
    parser.add_argument("--out", default="bench_structured.png", help="figure path")
    parser.add_argument("--workload", choices=("coordinates", "rotated"), default="rotated")
    args = parser.parse_args()
    rng = np.random.default_rng(2024)

    print(f"{'L':>8} {'monomials':>12} {'naive s':>10} {'structured s':>13} {'ratio':>9}  agree")
    naive_L, naive_t, struct_t = [], [], []
    L = 2
    while True:
        feature = section5_feature(L, rng, args.workload)
        t_naive, exact_naive = timed(naive, feature)
        t_struct, exact_struct = timed(structured, feature)
        agree = all(sympy.simplify(a - b) == 0 for a, b in zip(exact_naive, exact_struct))
        naive_L.append(L), naive_t.append(t_naive), struct_t.append(t_struct)
        print(f"{L:>8} {comb(L + 9, 9):>12} {t_naive:>10.3f} {t_struct:>13.4f} {t_naive / t_struct:>9.0f}  {agree}")
        if not agree:
            raise SystemExit("structured and naive disagree: engine bug")
        if t_naive > args.naive_budget:
            break
        L = L + 1 if (L < 6 or args.workload == "rotated") else int(L * 1.25) + 1

    finished = [(L, t) for L, t in zip(naive_L, naive_t) if t <= 60.0]
    if naive_t[-1] < 60.0 or len(naive_L) < 3:
        tail = slice(-3, None)
        slope, intercept = np.polyfit(np.log(naive_L[tail]), np.log(naive_t[tail]), 1)
        L60 = float(np.exp((np.log(60.0) - intercept) / slope))
        print(f"naive time ~ L^{slope:.2f} over the last 3 runs; extrapolated: 60 s at L ≈ {L60:.0f} "
              f"(largest run: L = {naive_L[-1]}, {naive_t[-1]:.1f} s)")
    if finished:
        Lf, tf = finished[-1]
        ts = struct_t[naive_L.index(Lf)]
        print(f"largest L the naive expansion finished within 60 s (measured): L = {Lf}, {tf:.1f} s; "
              f"structured {ts * 1e3:.1f} ms; ratio {tf / ts:.0f}")

    print("\nstructured at scale (cold caches; repeated λ = 1: O(1) power sums; unequal rational λ: O(L))")
    big_L, big_t = [], []
    for L in (10**2, 10**3, 10**4, 10**5, 10**6):
        feature = BlockFeature(BlockType.hermite(3), Weights.constant(1, L), d=L, coordinates=np.arange(L)[:, None])
        t, _ = timed(structured, feature)
        big_L.append(L), big_t.append(t)
        print(f"  repeated L = {L:>8}: {t:.3f} s")
    pairs = [Fraction(1, 5), Fraction(7, 5), Fraction(17, 13), Fraction(7, 13)]
    unequal_L, unequal_t = [], []
    def unequal(L: int) -> list:
        lam = [int(s) * v for s, v in zip(rng.choice([-1, 1], size=L), pairs * (L // 4))]
        return structured(BlockFeature(BlockType.hermite(3), lam, d=L, coordinates=np.arange(L)[:, None]))

    for L in (10**4, 10**5):
        t, _ = timed(unequal, L)
        unequal_L.append(L), unequal_t.append(t)
        print(f"  unequal  L = {L:>8}: {t:.3f} s (incl. building the exact weights)")

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4.2))
    ax.plot(naive_L, naive_t, "o-", label="naive: compose + projections")
    ax.plot(naive_L + big_L, struct_t + big_t, "s-", label="structured, repeated / ±1 λ")
    ax.plot(unequal_L, unequal_t, "^", label="structured, unequal λ")
    ax.axhline(60, color="grey", linestyle="--", label="60 s")
    ax.set_xscale("log"), ax.set_yscale("log")
    ax.set_xlabel("L (= d)"), ax.set_ylabel("seconds (one core)")
    ax.set_title(f"Exact spectrum + Lemma 2 gap, k = q = 3 ({args.workload} blocks)", fontsize=10)
    ax.grid(True, which="both", alpha=0.3), ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(args.out, dpi=110)
    print(f"figure: {args.out}")


if __name__ == "__main__":
    main()

"""The exact least-squares pre-asymptotics of issue 13 item 2 and the network floor of item 1,
from ``theory.sandwich``: cost and the numbers.

For each family (the §5 target, k = 3; two k = 2 families):
- S(L) and n_pred(d)/d^k as closed forms (d = local_dim·L), the limit, and d_0, past which the
  ratio stays within 10% of the limit (largest real root, exact polynomial arithmetic);
- the direct evaluation ``sandwich_constant(section5_target(d))`` at large d, with its time
  (the cost is the power sums, O(1) for ±1 weights: the engine itself does not see d);
- the network floor min_φ E(h − φ(P_<=k h))²/Var h (φ of degree ``--floor-degree``) against d.

    python benchmarks/bench_sandwich.py                       # ε = 1/10
    python benchmarks/bench_sandwich.py --epsilon 1/20 --json out.json

Outside the default audit: pytest does not collect this folder.
"""
from __future__ import annotations

import argparse
import json
import time

import numpy as np
import sympy

from theory.features import Link, RepeatedBlockFamily, section5_target
from theory.hermite import Z
from theory.sandwich import (
    family_floor,
    family_sandwich,
    predicted_threshold_n,
    sandwich_constant,
    threshold_convergence,
    threshold_limit,
)
from theory.structured import BlockType

FAMILIES = {
    "section5: h_3 blocks, g = z^3, k = 3": (RepeatedBlockFamily(BlockType.hermite(3), (1,), Link(Z**3)), 3),
    "k = 2: He_2 blocks, λ = (1, -1), g = z + z^2/2": (
        RepeatedBlockFamily(BlockType.hermite(2), (1, -1), Link(Z + Z**2 / 2)), 2),
    "k = 2: He_2 blocks, λ = (1, -1), g = z^3": (RepeatedBlockFamily(BlockType.hermite(2), (1, -1), Link(Z**3)), 2),
}


def family_report(name: str, family, k: int, epsilon, floor_degree: int, Ls) -> dict:
    start = time.perf_counter()
    L = sympy.Symbol("L", positive=True, integer=True)
    S = family_sandwich(family, k, L)
    ratio, limit = threshold_limit(family, k, epsilon)
    _, d0 = threshold_convergence(family, k, epsilon)
    closed_seconds = time.perf_counter() - start
    d = next(iter(ratio.free_symbols))
    m = family.psi.local_dim
    rows = []
    for value in Ls:
        if value % family.period:
            continue
        t = time.perf_counter()
        floor = family_floor(family, k, floor_degree, value)
        rows.append({"L": value, "d": m * value, "ratio": float(ratio.subs(d, m * value)),
                     "floor": float(floor), "floor_seconds": time.perf_counter() - t})
    return {"family": name, "k": k, "S(L)": str(S), "n_pred/d^k": str(ratio), "limit": str(limit),
            "d0_within_10pct": d0, "closed_form_seconds": closed_seconds, "rows": rows}


def direct_report(epsilon, ds) -> list[dict]:
    rows = []
    for d in ds:
        target = section5_target(d, rng=np.random.default_rng(d))
        t = time.perf_counter()
        S = sandwich_constant(target, 3)
        n = predicted_threshold_n(target, 3, epsilon)
        rows.append({"d": d, "S": float(S), "n_pred": float(n), "n_pred/d^3": float(n) / d**3,
                     "seconds": time.perf_counter() - t})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epsilon", default="1/10", help="target level of the normalised risk (exact)")
    parser.add_argument("--floor-degree", type=int, default=3)
    parser.add_argument("--json", default=None, help="also write the numbers here")
    args = parser.parse_args()
    epsilon = sympy.Rational(args.epsilon)
    Ls = [4, 8, 16, 24, 32, 40, 64, 128, 256, 1024, 4096]
    out = {"epsilon": str(epsilon),
           "families": [family_report(name, fam, k, epsilon, args.floor_degree, Ls) for name, (fam, k) in FAMILIES.items()],
           "section5_direct": direct_report(epsilon, [16, 40, 200, 1000, 5000])}
    for fam in out["families"]:
        print(f"{fam['family']}\n  S(L) = {fam['S(L)']}\n  n_pred/d^k = {fam['n_pred/d^k']}\n"
              f"  limit {fam['limit']}, within 10% for d >= {fam['d0_within_10pct']:.1f}"
              f"  (closed forms in {fam['closed_form_seconds']:.2f} s)")
        for row in fam["rows"]:
            print(f"    d = {row['d']:5d}  n_pred/d^k = {row['ratio']:.4f}  floor = {row['floor']:.3e}"
                  f"  d·floor = {row['floor'] * row['d']:.3f}")
    for row in out["section5_direct"]:
        print(f"  section5 direct d = {row['d']:5d}: S = {row['S']:.6g}, n_pred = {row['n_pred']:.6g}, "
              f"n_pred/d^3 = {row['n_pred/d^3']:.4f} ({row['seconds']:.2f} s)")
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(out, handle, indent=1)


if __name__ == "__main__":
    main()

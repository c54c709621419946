"""How the cost of an exact Hermite expansion grows with the dimension d and the degree D.

    python benchmarks/bench_expansion.py            # the default grids (about a minute)
    python benchmarks/bench_expansion.py --quick    # smaller grids

Three workloads, each timed as the best of ``--repeats`` runs on one core:
1. ``expand`` of a dense polynomial (every monomial of total degree <= D, random rational
   coefficients from a fixed seed): degree D = 1..9 in d = 4 variables, and D = 4 in d = 2..12;
2. ``compose`` for the Section 5 target h = (L^{-1/2} Σ h_3(x_i))^3 (k = q = 3) against d, the
   sparse structured case;
3. ``rotate`` of a dense polynomial by a rational orthogonal matrix, which makes it dense.
For each grid the log-log slope of time against the number of monomials C(d + D, D) is printed.
Outside the default audit: not collected by pytest (no test_/check_ prefix).
"""
from __future__ import annotations

import argparse
import time
from itertools import combinations_with_replacement
from math import comb

import numpy as np
import sympy

from theory import compose, expand, rotate
from theory.hermite import Z, he


def dense_polynomial(d: int, degree: int, rng: np.random.Generator):
    """(Poly, variables): all C(d + D, D) monomials of degree <= D, coefficients p/q in [-9, 9]/[1, 9]."""
    xs = sympy.symbols(f"x1:{d + 1}")
    terms = {}
    for total in range(degree + 1):
        for combo in combinations_with_replacement(range(d), total):
            exponent = [0] * d
            for i in combo:
                exponent[i] += 1
            terms[tuple(exponent)] = sympy.Rational(int(rng.integers(-9, 10)) or 1, int(rng.integers(1, 10)))
    return sympy.Poly.from_dict(terms, *xs, domain=sympy.QQ), xs


def best_time(fn, repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def householder(d: int) -> sympy.Matrix:
    v = sympy.Matrix([1 + (i % 3) for i in range(d)])
    return sympy.eye(d) - 2 * v * v.T / (v.T * v)[0, 0]


def slope(monomials, seconds) -> float:
    return float(np.polyfit(np.log(monomials), np.log(seconds), 1)[0])


def run_grid(title: str, cases, work, repeats: int) -> None:
    print(f"\n{title}")
    print(f"{'d':>3} {'D':>3} {'monomials':>10} {'terms out':>10} {'seconds':>10} {'us/monomial':>12}")
    sizes, times = [], []
    for d, degree in cases:
        seconds, n_out = work(d, degree, repeats)
        n_monomials = comb(d + degree, degree)
        sizes.append(n_monomials)
        times.append(seconds)
        print(f"{d:>3} {degree:>3} {n_monomials:>10} {n_out:>10} {seconds:>10.4f} {1e6 * seconds / n_monomials:>12.1f}")
    if len(sizes) >= 3:
        print(f"log-log slope of time against monomials: {slope(sizes, times):.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller grids")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=20240101)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    polys = {}

    def poly(d, degree):
        if (d, degree) not in polys:
            polys[d, degree] = dense_polynomial(d, degree, rng)
        return polys[d, degree]

    def expand_work(d, degree, repeats):
        f, xs = poly(d, degree)
        e = expand(f, xs)
        return best_time(lambda: expand(f, xs).norm2(), repeats), len(e)

    def compose_work(d, degree, repeats):
        xs = sympy.symbols(f"x1:{d + 1}")
        p = sum(he(3, x).as_expr() for x in xs) / sympy.sqrt(6 * d)
        h = compose(Z**3, Z, p, xs)
        return best_time(lambda: compose(Z**3, Z, p, xs).degree_energies(), repeats), len(h)

    def rotate_work(d, degree, repeats):
        f, xs = poly(d, degree)
        U = householder(d)
        r = rotate(f, xs, U)
        return best_time(lambda: rotate(f, xs, U), max(1, repeats // 3)), len(r)

    max_degree, max_d = (6, 8) if args.quick else (9, 12)
    run_grid("expand: d = 4, degree D = 1..%d (dense)" % max_degree,
             [(4, D) for D in range(1, max_degree + 1)], expand_work, args.repeats)
    run_grid("expand: degree D = 4, d = 2..%d (dense)" % max_d,
             [(d, 4) for d in range(2, max_d + 1, 2)], expand_work, args.repeats)
    run_grid("compose: (L^{-1/2} Σ h_3(x_i))^3, D = 9, d = L (sparse, QQ<sqrt(6d)>)",
             [(d, 9) for d in (2, 4, 6, 8, 12, 16)[: 4 if args.quick else 6]], compose_work, args.repeats)
    run_grid("rotate: Householder U, dense input, d = 3",
             [(3, D) for D in range(2, (6 if args.quick else 8) + 1, 2)], rotate_work, args.repeats)


if __name__ == "__main__":
    main()

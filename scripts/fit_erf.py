#!/usr/bin/env python3
"""Fits the rational erf of codegen/lower_elementwise.cc: erf(x) ~= x P(x^2) / Q(x^2) on
[0, 4] (odd, so it holds on [-4, 4]; float32's erf is +-1 beyond), P of degree 6, Q of degree
4 with Q(0) = 1. Why: Halide's erf is 1 - t e^(-x^2) poly(t) with t = 1 / (1 + x/2), a division,
an exp and a ten-term polynomial; the GELU kernels were bound by it (bf16 baby's GELU ran at
13 GB/s). The rational form is 10 FMAs, a multiply and a division, no exp.

Method: linearised least squares on the relative error (Sanathanan-Koerner: divide by the
previous Q), reweighted toward the largest errors (Lawson) to approach the minimax fit. Pure
Python (no numpy). Prints the coefficients and the maximum relative error on a dense grid
(6.6e-8 in double: half a float32 ulp at 1).

  python3 scripts/fit_erf.py
"""
import math

NP, NQ = 7, 4  # coefficients of P; of Q beyond its constant 1
SCALE = 16.0  # t = x^2 / SCALE in [0, 1] while fitting: a better conditioned system


def solve_least_squares(a, b):
    """min |a x - b| by Householder QR."""
    m, n = len(a), len(a[0])
    a = [row[:] for row in a]
    b = b[:]
    for k in range(n):
        norm = math.sqrt(sum(a[i][k] ** 2 for i in range(k, m)))
        if a[k][k] > 0:
            norm = -norm
        v = [0.0] * m
        v[k] = a[k][k] - norm
        for i in range(k + 1, m):
            v[i] = a[i][k]
        vv = sum(v[i] ** 2 for i in range(k, m))
        if vv == 0:
            continue
        for j in range(k, n):
            s = sum(v[i] * a[i][j] for i in range(k, m)) * 2 / vv
            for i in range(k, m):
                a[i][j] -= s * v[i]
        s = sum(v[i] * b[i] for i in range(k, m)) * 2 / vv
        for i in range(k, m):
            b[i] -= s * v[i]
    x = [0.0] * n
    for k in range(n - 1, -1, -1):
        x[k] = (b[k] - sum(a[k][j] * x[j] for j in range(k + 1, n))) / a[k][k]
    return x


def horner(coeffs, t):
    r = 0.0
    for c in reversed(coeffs):
        r = r * t + c
    return r


def main():
    xs = [4.0 * (i + 0.5) / 3000 for i in range(3000)] + [0.05 * (i + 0.5) / 200 for i in range(200)]
    fs = [math.erf(x) for x in xs]
    w = [1.0] * len(xs)
    q_prev = [1.0] * len(xs)
    for _ in range(60):
        rows, rhs = [], []
        for x, f, wi, qp in zip(xs, fs, w, q_prev):
            t = x * x / SCALE
            s = wi / (qp * f)
            rows.append([s * x * t**i for i in range(NP)] + [-s * f * t ** (i + 1) for i in range(NQ)])
            rhs.append(s * f)
        c = solve_least_squares(rows, rhs)
        p, q = c[:NP], [1.0] + c[NP:]
        errs = [(x * horner(p, x * x / SCALE) / horner(q, x * x / SCALE) - f) / f for x, f in zip(xs, fs)]
        worst = max(abs(e) for e in errs)
        q_prev = [horner(q, x * x / SCALE) for x in xs]
        w = [wi * math.sqrt(abs(e) / worst) + 1e-6 for wi, e in zip(w, errs)]
        total = sum(w)
        w = [wi * len(w) / total for wi in w]
    p = [v / SCALE**i for i, v in enumerate(p)]
    q = [v / SCALE**i for i, v in enumerate(q)]
    print("P (t^0 first):", ", ".join("%.9ef" % v for v in p))
    print("Q (t^0 first):", ", ".join("%.9ef" % v for v in q))
    worst = max(abs(x * horner(p, x * x) / horner(q, x * x) - math.erf(x)) / math.erf(x)
                for x in (4.0 * i / 40000 for i in range(1, 40001)))
    print("max relative error on [0, 4] (double): %.3g" % worst)


if __name__ == "__main__":
    main()

"""Why polar symmetry-breaking vectors make the chiral octagon hard (issue 29, item 3).

The octagon's target, the pinwheel, keeps C8h and is reversed by every vertical mirror of D8h.
Fed an in-plane polar vector b, a network must tell the pinwheel's sense from b alone, i.e.
compute a function s(b) with s(C8·b) = s(b) and s(σv·b) = −s(b): a pseudoscalar of the in-plane
group C8v. For each polynomial degree k this script projects every homogeneous monomial of degree
k in (b_x, b_y) onto that pseudoscalar (character +1 on rotations, −1 on mirrors) and reports the
rank of the projection: zero below the lowest degree at which such a function exists. It does the
same for D4h (the spin square's C4v in the plane), and reports the sense signal sin(n·θ) of the
symmetry-breaking set's vectors that symbreak feeds (n = 8 for the octagon).

Run: .venv/bin/python results/octagon-capacity/chiral_degree.py  (writes chiral_degree.json)
"""

import json
from pathlib import Path

import numpy as np

from symbreak.models._sbs_input import structure_sbs
from symbreak.tasks import sbs_example


def _plane_group(n: int) -> list[tuple[np.ndarray, int]]:
    """C_nv in the plane: (2×2 matrix, character of the pseudoscalar irrep A2)."""
    out = []
    for k in range(n):
        t = 2 * np.pi * k / n
        rot = np.array([[np.cos(t), -np.sin(t)], [np.sin(t), np.cos(t)]])
        out.append((rot, 1))
        # the reflection across the line at angle t/2: the n mirror lines lie π/n apart
        mirror = np.array([[np.cos(t), np.sin(t)], [np.sin(t), -np.cos(t)]])
        out.append((mirror, -1))
    return out


def pseudoscalar_rank(n: int, degree: int, points: int = 64, seed: int = 0) -> int:
    """Rank of the A2 projection of the degree-``degree`` monomials of C_nv, sampled at random points."""
    rng = np.random.default_rng(seed)
    b = rng.normal(size=(points, 2))
    group = _plane_group(n)
    cols = []
    for i in range(degree + 1):
        vals = np.zeros(points)
        for g, chi in group:
            gb = b @ g  # g^{-1} b for orthogonal g, as rows
            vals += chi * gb[:, 0] ** i * gb[:, 1] ** (degree - i)
        cols.append(vals / len(group))
    return int(np.linalg.matrix_rank(np.stack(cols, 1), tol=1e-9 * max(1.0, np.abs(cols).max())))


def main() -> None:
    out = {}
    for name, n in (("octagon D8h (C8v in the plane)", 8), ("square D4h (C4v in the plane)", 4)):
        ranks = {k: pseudoscalar_rank(n, k) for k in range(0, 2 * n + 1)}
        out[name] = {"rank_by_degree": ranks, "lowest_degree": min(k for k, r in ranks.items() if r > 0)}
        print(name, out[name])
    ex = sbs_example("octagon")
    vectors = structure_sbs(ex["symmetry"], "C8h")
    theta = np.arctan2(vectors[:, 1], vectors[:, 0])
    out["octagon_set"] = {"vectors": len(vectors), "max_abs_z": float(np.abs(vectors[:, 2]).max()),
                          "angles_deg": np.round(np.degrees(theta), 3).tolist(), "sin_8theta": np.round(np.sin(8 * theta), 6).tolist()}  # fmt: skip
    print("octagon set: |sin 8θ| =", sorted(set(np.round(np.abs(np.sin(8 * theta)), 6).tolist())))
    Path(__file__).with_name("chiral_degree.json").write_text(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()

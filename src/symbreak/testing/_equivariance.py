"""Shipped equivariance assertions: test any model the way symbreak tests its own components."""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

from ..groups import PointGroup
from ..rotations import act, random_rotations

__all__ = ["assert_equivariant", "assert_breaks_symmetry"]


def _elements(group: Any, n: int, seed: int) -> np.ndarray:
    if group is None:
        r = random_rotations(n, seed=seed)
        r[1::2] *= -1.0  # half of them improper: reflections are tested, not left to chance
        return r
    if isinstance(group, (str, PointGroup)):
        return (PointGroup(group) if isinstance(group, str) else group).operations
    return np.asarray(group, dtype=float).reshape(-1, 3, 3)


def _deviation(f: Any, g: np.ndarray, positions: Any, features: tuple, output: str) -> float:
    import torch

    gt = torch.tensor(np.array(g), dtype=torch.float64)
    c = positions.mean(dim=0, keepdim=True)
    moved = (positions - c) @ gt.T + c
    lhs = f(moved, *features)
    rhs = act(gt, f(positions, *features), output)
    return float((lhs - rhs).abs().max())


def _as64(positions: Any, features: tuple) -> tuple:
    import torch

    pos = torch.as_tensor(np.asarray(positions) if not isinstance(positions, torch.Tensor) else positions).to(torch.float64)
    feats = tuple(f.to(torch.float64) if isinstance(f, torch.Tensor) and f.is_floating_point() else f for f in features)
    return pos, feats


def _no_grad(fn):
    """Run without autograd: the checks compare values, and parameters would otherwise track them."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        import torch

        with torch.no_grad():
            return fn(*args, **kwargs)

    return wrapper


@_no_grad
def assert_equivariant(
    f: Any,
    positions: Any,
    *features: Any,
    output: str = "0e",
    group: Any = None,
    n_rotations: int = 8,
    per_atom: bool = False,
    translation: bool = True,
    atol: float = 1e-9,
    seed: int = 0,
) -> None:
    r"""Assert :math:`f(g \cdot x) = \rho(g) f(x)` in float64, with clear failure messages.

    Parameters
    ----------
    f:
        ``f(positions (n, 3), *features) -> output`` (unbatched), a torch function.
    output:
        How the output transforms (``"0e"``, ``"1o"``, ``"1e"``, ``"tensors"``, an Irreps string).
    group:
        None: ``n_rotations`` random O(3) elements, half of them improper. A point-group name,
        :class:`~symbreak.PointGroup` or array (k, 3, 3): every element.
    per_atom:
        The output and features are per-atom (first dimension n): also check a random permutation,
        :math:`f(x_\sigma) = f(x)_\sigma`.
    translation:
        Also check that a random translation of the positions leaves the output unchanged.
    """
    import torch

    pos, feats = _as64(positions, features)
    rng = np.random.default_rng(seed)
    for k, g in enumerate(_elements(group, n_rotations, seed)):
        dev = _deviation(f, g, pos, feats, output)
        if not dev <= atol:
            kind = "improper" if np.linalg.det(g) < 0 else "proper"
            raise AssertionError(
                f"not equivariant ({output}) under element {k} ({kind}, det {np.linalg.det(g):+.0f}): "
                f"max |f(g·x) − g·f(x)| = {dev:.3g} > atol {atol:g}"
            )
    base = f(pos, *feats)
    if translation:
        shifted = f(pos + torch.as_tensor(rng.normal(size=3)), *feats)
        dev = float((shifted - base).abs().max())
        if not dev <= atol:
            raise AssertionError(f"not translation invariant: max deviation {dev:.3g} > atol {atol:g}")
    if per_atom:
        perm = torch.as_tensor(rng.permutation(len(pos)))
        permuted = f(pos[perm], *[x[perm] if isinstance(x, torch.Tensor) and len(x) == len(pos) else x for x in feats])
        dev = float((permuted - base[perm]).abs().max())
        if not dev <= atol:
            raise AssertionError(f"not permutation equivariant: max |f(x_σ) − f(x)_σ| = {dev:.3g} > atol {atol:g}")


@_no_grad
def assert_breaks_symmetry(
    f: Any,
    positions: Any,
    *features: Any,
    output: str = "0e",
    kept: Any = (),
    broken: Any = (),
    atol: float = 1e-9,
) -> None:
    """Assert that ``f`` stays equivariant under every element of ``kept`` and is *not* equivariant
    (deviation above ``atol``) under every element of ``broken``: it breaks exactly the symmetry it
    should. ``kept``/``broken``: point-group names, :class:`PointGroup` or arrays (k, 3, 3)."""
    pos, feats = _as64(positions, features)
    kept_ops, broken_ops = _elements(kept, 0, 0), _elements(broken, 0, 0)
    if len(kept_ops):
        assert_equivariant(f, pos, *feats, output=output, group=kept_ops, translation=False, atol=atol)
    for k, g in enumerate(broken_ops):
        dev = _deviation(f, g, pos, feats, output)
        if dev <= atol:
            raise AssertionError(f"element {k} of `broken` is still a symmetry: deviation {dev:.3g} <= atol {atol:g}")

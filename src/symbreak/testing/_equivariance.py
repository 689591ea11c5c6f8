"""Shipped equivariance assertions: test any model the way symbreak tests its own components."""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

from ..groups import PointGroup
from ..rotations import Rep, act, random_rotations

__all__ = ["assert_equivariant", "assert_breaks_symmetry", "assert_relaxed_equivariant"]


def _elements(group: Any, n: int, seed: int) -> np.ndarray:
    if group is None:
        r = random_rotations(n, seed=seed)
        r[1::2] *= -1.0  # half of them improper: reflections are tested, not left to chance
        return r
    if isinstance(group, (str, PointGroup)):
        return (PointGroup(group) if isinstance(group, str) else group).operations
    return np.asarray(group, dtype=float).reshape(-1, 3, 3)


def _deviation(f: Any, g: np.ndarray, positions: Any, features: tuple, output: str) -> float:
    """max |f(g·x) − ρ(g) f(x)| of a plain function: the positions turn about their centroid, a
    positions output about the same point (the features are invariant: they stay)."""
    import torch

    from ..symmetrize._average import act_about

    gt = torch.tensor(np.array(g), dtype=torch.float64, device=positions.device)
    c = positions.mean(dim=0, keepdim=True)
    lhs = f(act_about(gt, positions, "positions", c), *features)
    return float((lhs - act_about(gt, f(positions, *features), output, c)).abs().max())


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


def _is_batch(x: Any) -> bool:
    return hasattr(x, "pos") and hasattr(x, "z")


def _output_of(f: Any, output: Any) -> str:
    """The representation asked for, else the model's own (``output_type``), else invariant."""
    return str(output if output is not None else getattr(f, "output_type", "0e"))


def _model64(model: Any, data: Any) -> tuple[Any, Any]:
    """Float64 copies of a model and a batch, every floating input field cast (the user's are left as they are)."""
    import copy

    import torch

    from ..models._inputs import FIELDS

    m = copy.deepcopy(model).double().eval() if isinstance(model, torch.nn.Module) else model
    d = copy.copy(data)
    for key in FIELDS:
        v = getattr(d, key, None)
        if isinstance(v, torch.Tensor) and v.is_floating_point():
            setattr(d, key, v.to(torch.float64))
    return m, d


def _within_molecules(batch: Any, rng: np.random.Generator) -> Any:
    """A random permutation that moves atoms only inside their molecule (PyG's sorted batches)."""
    import torch

    b = batch.cpu().numpy()
    perm = np.arange(len(b))
    for k in np.unique(b):
        idx = np.nonzero(b == k)[0]
        perm[idx] = rng.permutation(idx)
    return torch.as_tensor(perm, device=batch.device)


def _model_deviation(model: Any, data: Any, g: np.ndarray, output: str, base: Any = None) -> float:
    """max |f(g·x) − g·f(x)| of a model on a batch (vector inputs rotate with the positions)."""
    import torch

    from ..models._inputs import transform_batch

    base = model(data) if base is None else base
    moved = model(transform_batch(data, g))
    return float((moved - act(torch.as_tensor(g, dtype=base.dtype, device=base.device), base, output)).abs().max())


def _assert_model_equivariant(model: Any, data: Any, *, output: str, group: Any, n_rotations: int, translation: bool, atol: float, seed: int) -> None:
    import torch

    from ..models._inputs import transform_batch

    model, data = _model64(model, data)
    rng = np.random.default_rng(seed)
    base = model(data)
    for k, g in enumerate(_elements(group, n_rotations, seed)):
        dev = _model_deviation(model, data, g, output, base)
        if not dev <= atol:
            kind = "improper" if np.linalg.det(g) < 0 else "proper"
            raise AssertionError(f"{type(model).__name__} not equivariant ({output}) under element {k} ({kind}): max |f(g·x) − g·f(x)| = {dev:.3g} > atol {atol:g}")
    if translation:
        shift = rng.normal(size=3)
        moves = Rep.parse(output).translates
        expected = base + torch.as_tensor(shift, dtype=base.dtype, device=base.device) if moves else base
        dev = float((model(transform_batch(data, translation=shift)) - expected).abs().max())
        if not dev <= atol:
            raise AssertionError(f"{type(model).__name__} not translation {'equivariant' if moves else 'invariant'}: max deviation {dev:.3g} > atol {atol:g}")
    batch = getattr(data, "batch", None)
    perm = _within_molecules(batch if batch is not None else torch.zeros(len(data.pos), dtype=torch.long, device=data.pos.device), rng)
    dev = float((model(transform_batch(data, permutation=perm)) - base[perm]).abs().max())
    if not dev <= atol:
        raise AssertionError(f"{type(model).__name__} not permutation equivariant: max |f(x_σ) − f(x)_σ| = {dev:.3g} > atol {atol:g}")


@_no_grad
def assert_relaxed_equivariant(model: Any, data: Any, *, output: Any = None, n_rotations: int = 6, tol: float = 0.1, atol: float = 1e-6, seed: int = 0) -> None:
    r"""Assert relaxed equivariance on one structure: :math:`f(g x) = g\,\sigma f(x)` for some
    :math:`\sigma \in \mathrm{Sym}(x)` (detected at ``tol``), for random O(3) elements g.

    model: takes a batch (a registry model); data: one structure (``z``, ``pos``, ...).
    """
    import torch

    from .. import detect_symmetry
    from ..metrics import transform_labels
    from ..models._inputs import transform_batch

    rep = _output_of(model, output)
    model, data = _model64(model, data)
    base = model(data)
    sym = detect_symmetry(data.pos.cpu().numpy(), data.z.cpu().numpy(), tol=tol)
    images = transform_labels(base, sym.operations, sym.permutations, rep)  # (k, n, d): every σ f(x)
    for k, g in enumerate(_elements(None, n_rotations, seed)):
        moved = model(transform_batch(data, g))
        gt = torch.as_tensor(g, dtype=base.dtype, device=base.device)
        dev = float(min((moved - act(gt, img, rep)).abs().max() for img in images))
        if not dev <= atol:
            raise AssertionError(f"{type(model).__name__} not relaxed-equivariant ({rep}, {sym.point_group}) under element {k}: min over σ of max |f(g·x) − gσ·f(x)| = {dev:.3g} > atol {atol:g}")


@_no_grad
def assert_equivariant(
    f: Any,
    positions: Any,
    *features: Any,
    output: Any = None,
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
        ``f(positions (n, 3), *features) -> output`` (unbatched), a torch function; or a model
        that takes a batch (any registry model), with a batch (``z``, ``pos``, ``batch``, optional
        ``x``, ``vectors``, ``pseudovectors``, ``cell``) in place of ``positions``: then every input
        field turns by its declared representation (:func:`symbreak.models.transform_batch`), the
        permutation stays inside each molecule, and the check runs on float64 copies.
    output:
        How the output transforms: a :class:`~symbreak.rotations.Rep` or its text (``"0e"``,
        ``"1o"``, ``"1e"``, ``"tensors"``, an Irreps string); None: the model's ``output_type``,
        else invariant.
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

    output = _output_of(f, output)
    if _is_batch(positions):
        return _assert_model_equivariant(f, positions, output=output, group=group, n_rotations=n_rotations, translation=translation, atol=atol, seed=seed)
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
        shift = torch.as_tensor(rng.normal(size=3), device=pos.device)
        moves = Rep.parse(output).translates
        dev = float((f(pos + shift, *feats) - (base + shift if moves else base)).abs().max())
        if not dev <= atol:
            raise AssertionError(f"not translation {'equivariant' if moves else 'invariant'}: max deviation {dev:.3g} > atol {atol:g}")
    if per_atom:
        perm = torch.as_tensor(rng.permutation(len(pos)), device=pos.device)
        permuted = f(pos[perm], *[x[perm] if isinstance(x, torch.Tensor) and len(x) == len(pos) else x for x in feats])
        dev = float((permuted - base[perm]).abs().max())
        if not dev <= atol:
            raise AssertionError(f"not permutation equivariant: max |f(x_σ) − f(x)_σ| = {dev:.3g} > atol {atol:g}")


@_no_grad
def assert_breaks_symmetry(
    f: Any,
    positions: Any,
    *features: Any,
    output: Any = None,
    kept: Any = (),
    broken: Any = (),
    atol: float = 1e-9,
) -> None:
    """Assert that ``f`` stays equivariant under every element of ``kept`` and is *not* equivariant
    (deviation above ``atol``) under every element of ``broken``: it breaks exactly the symmetry it
    should. ``kept``/``broken``: point-group names, :class:`PointGroup` or arrays (k, 3, 3).
    ``f`` and ``positions`` as in :func:`assert_equivariant` (a model and a batch work too)."""
    output = _output_of(f, output)
    kept_ops, broken_ops = _elements(kept, 0, 0), _elements(broken, 0, 0)
    if _is_batch(positions):
        model, data = _model64(f, positions)
        if len(kept_ops):
            _assert_model_equivariant(model, data, output=output, group=kept_ops, n_rotations=0, translation=False, atol=atol, seed=0)
        for k, g in enumerate(broken_ops):
            dev = _model_deviation(model, data, g, output)
            if dev <= atol:
                raise AssertionError(f"element {k} of `broken` is still a symmetry: deviation {dev:.3g} <= atol {atol:g}")
        return
    pos, feats = _as64(positions, features)
    if len(kept_ops):
        assert_equivariant(f, pos, *feats, output=output, group=kept_ops, translation=False, atol=atol)
    for k, g in enumerate(broken_ops):
        dev = _deviation(f, g, pos, feats, output)
        if dev <= atol:
            raise AssertionError(f"element {k} of `broken` is still a symmetry: deviation {dev:.3g} <= atol {atol:g}")

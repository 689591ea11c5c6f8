r"""Acting with orthogonal matrices on typed data (positions, vectors, pseudovectors, tensors, irreps).

Convention: active rotations on column vectors, :math:`x' = R x`; row-stored data ``(..., 3)``
transforms as ``x @ R.T``. Works on NumPy arrays and on torch tensors (float64 recommended).
"""

from __future__ import annotations

from typing import Any

__all__ = ["act", "act_batch"]

_KINDS = ("positions", "vectors", "1o", "pseudovectors", "1e", "scalars", "0e", "pseudoscalars", "0o", "tensors")


def _match_rotation(rotation: Any, data: Any) -> Any:
    """The rotation as the same array type as ``data`` (torch data with a NumPy rotation, say)."""
    try:
        import torch
    except ImportError:  # pragma: no cover
        return rotation
    if isinstance(data, torch.Tensor) and not isinstance(rotation, torch.Tensor):
        return torch.as_tensor(rotation, dtype=data.dtype, device=data.device)
    return rotation


def _det(r: Any) -> Any:
    try:
        import torch

        if isinstance(r, torch.Tensor):
            return torch.linalg.det(r)
    except ImportError:  # pragma: no cover
        pass
    import numpy as np

    return np.linalg.det(r)


def act(rotation: Any, data: Any, kind: str) -> Any:
    r"""Apply the orthogonal matrix ``rotation`` (3, 3) to ``data`` of the given ``kind``.

    ==================================== ======================== =====================================
    kind                                 data shape               result
    ==================================== ======================== =====================================
    ``positions``, ``vectors``, ``1o``   (..., 3)                 :math:`R x`
    ``pseudovectors``, ``1e``            (..., 3)                 :math:`\det(R)\, R x`
    ``scalars``, ``0e``                  any                      unchanged
    ``pseudoscalars``, ``0o``            any                      :math:`\det(R)\, s`
    ``tensors``                          (..., 3, 3)              :math:`R T R^\top`
    an e3nn ``Irreps`` string            (..., irreps.dim) torch  ``x @ irreps.D_from_matrix(R).T``
    ==================================== ======================== =====================================

    Positions are rotated about the origin; translate first to rotate about another point.

    >>> import numpy as np
    >>> act(-np.eye(3), np.array([1.0, 2.0, 3.0]), "1e")
    array([1., 2., 3.])
    """
    kind = str(kind)  # a Rep prints as its text
    rotation = _match_rotation(rotation, data)
    if kind in ("positions", "vectors", "1o"):
        return data @ rotation.T
    if kind in ("pseudovectors", "1e"):
        return _det(rotation) * (data @ rotation.T)
    if kind in ("scalars", "0e"):
        return data
    if kind in ("pseudoscalars", "0o"):
        return _det(rotation) * data
    if kind == "tensors":
        return rotation @ data @ rotation.T
    try:
        from e3nn import o3

        irreps = o3.Irreps(kind)
    except Exception:
        raise ValueError(f"unknown kind {kind!r}: expected one of {', '.join(_KINDS)} or an e3nn Irreps string") from None
    import torch

    return data @ irreps.D_from_matrix(rotation).T


def act_batch(rotations: Any, data: Any, kind: str) -> Any:
    r"""Apply each of ``rotations`` (M, 3, 3) to the matching slice of torch ``data`` (M, ..., d).

    The batched counterpart of :func:`act`, for the kinds it lists (tensors flattened to d = 9).
    """
    import torch

    kind = str(kind)
    r = _match_rotation(rotations, data)

    def det() -> torch.Tensor:  # only the kinds that need it pay for it
        return torch.linalg.det(r).reshape((-1,) + (1,) * (data.ndim - 1))

    if kind in ("scalars", "0e"):
        return data
    if kind in ("pseudoscalars", "0o"):
        return det() * data
    if kind in ("positions", "vectors", "1o", "pseudovectors", "1e"):
        out = torch.einsum("mij,m...j->m...i", r, data)
        return det() * out if kind in ("pseudovectors", "1e") else out
    if kind == "tensors":
        t = data.reshape(data.shape[:-1] + (3, 3))
        shape = (r.shape[0],) + (1,) * (t.ndim - 3) + (3, 3)
        rr = r.reshape(shape)
        return (rr @ t @ rr.transpose(-1, -2)).reshape(data.shape)
    from e3nn import o3

    try:
        irreps = o3.Irreps(kind)
    except Exception:
        raise ValueError(f"unknown kind {kind!r}: expected one of {', '.join(_KINDS)} or an e3nn Irreps string") from None
    return torch.einsum("mij,m...j->m...i", irreps.D_from_matrix(r), data)

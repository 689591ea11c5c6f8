r"""Flow past a cylinder by the lattice-Boltzmann method (D2Q9, BGK): the ``cylinder-wake`` task's data.

The lattice holds nine populations :math:`f_i(\mathbf x, t)` per cell, moving with the velocities
:math:`\mathbf c_i \in \{0, \pm\hat x, \pm\hat y, \pm\hat x \pm \hat y\}` (lattice units: cell size 1,
time step 1, sound speed :math:`c_s = 1/\sqrt3`). One step is a BGK collision and a streaming,

.. math::
    f_i(\mathbf x + \mathbf c_i, t + 1) = f_i - \omega\,(f_i - f_i^{\mathrm{eq}}(\rho, \mathbf u)),
    \qquad f_i^{\mathrm{eq}} = w_i \rho \Big(1 + 3\,\mathbf c_i\!\cdot\!\mathbf u + \tfrac92 (\mathbf c_i\!\cdot\!\mathbf u)^2 - \tfrac32 u^2\Big),

with :math:`\rho = \sum_i f_i`, :math:`\rho\mathbf u = \sum_i \mathbf c_i f_i` and kinematic viscosity
:math:`\nu = (1/\omega - 1/2)/3`. The channel (``ny`` rows × ``nx`` columns, arrays ``(ny, nx)``:
row = y, column = x) is periodic in y — a row of cylinders ``ny`` cells apart, blockage
:math:`D/n_y` — with a velocity inlet at column 0 (Zou–He: ρ from the known populations, the
unknown ones by non-equilibrium bounce-back), a zero-gradient outlet at the last column, and a
full-way bounce-back cylinder of radius ``radius`` (diameter :math:`D = 2r`) whose centre lies on
the mirror line :math:`y_c = (n_y - 1)/2`. The Reynolds number is :math:`\mathrm{Re} = U D / \nu`.
The scheme is the one of Palabos' ``cylinder2d`` example (Latt, palabos.unige.ch), written anew.

The mirror :math:`\sigma: y \mapsto -y` about the cylinder's axis reverses the rows and swaps the
populations moving up with those moving down (:data:`MIRROR`); every part of a step commutes with
it, so a mirror-symmetric state stays symmetric up to round-off, and the shedding instability
(above :math:`\mathrm{Re} \approx 47`) has to be seeded: :meth:`CylinderChannel.kick` adds a
(seeded, random) transverse velocity of size :math:`\varepsilon U` in a box behind the cylinder.
That kick is odd under σ, so a symmetric state kicked by :math:`+\varepsilon` and by
:math:`-\varepsilon` evolves into each other's mirror images: the two mirror-image vortex streets.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from .._errors import SymbreakError

__all__ = ["CylinderChannel", "WakeSample", "wake_sample", "coarse_fields", "D2Q9_VELOCITIES", "D2Q9_WEIGHTS", "MIRROR", "FIELD_PARITIES", "strouhal_number", "vorticity", "mirror_fields"]

#: lattice velocities c_i (x, y), i = 0..8: rest, the four axes, the four diagonals
D2Q9_VELOCITIES = np.array([[0, 0], [1, 0], [0, 1], [-1, 0], [0, -1], [1, 1], [-1, 1], [-1, -1], [1, -1]])
D2Q9_WEIGHTS = np.array([4 / 9] + [1 / 9] * 4 + [1 / 36] * 4)
#: the population moving opposite to i (bounce-back)
OPPOSITE = np.array([0, 3, 4, 1, 2, 7, 8, 5, 6])
#: the population i becomes under the mirror y → −y (c_y flips sign)
MIRROR = np.array([0, 1, 4, 3, 2, 8, 7, 6, 5])
_RIGHT, _LEFT, _VERTICAL = [1, 5, 8], [3, 7, 6], [0, 2, 4]  # c_x = +1, −1, 0; _LEFT ordered as OPPOSITE[_RIGHT]

#: BGK is unstable as ω → 2 (τ → 1/2); below this relaxation time the grid is too coarse for the Re asked
MIN_TAU = 0.51
#: the largest inflow speed in lattice units: the scheme is weakly compressible, errors grow as Ma² = 3 U²
MAX_U = 0.2
#: fewest cells across the cylinder's radius for a round obstacle at all
MIN_RADIUS = 2.0
#: the most lattice cells a channel may have (ny · nx): each population array is 72 bytes a cell, and a step holds several
MAX_CELLS = 10**7


def _real(where: str, name: str, value: object) -> float:
    """value as a finite float (bools, strings, arrays, NaN and inf refused), else :class:`~symbreak.SymbreakError`."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)) or not np.isfinite(value):
        raise SymbreakError(f"{where}: {name} must be a finite number, got {value!r}")
    return float(value)


def _count(where: str, name: str, value: object, low: int) -> int:
    """value as an int ≥ low (integral floats accepted), else :class:`~symbreak.SymbreakError`."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)) or not np.isfinite(value) or value != int(value) or value < low:
        raise SymbreakError(f"{where}: {name} must be an integer ≥ {low}, got {value!r}")
    return int(value)


def _populations(where: str, f: object, shape: tuple[int, int]) -> torch.Tensor:
    """f checked to be a finite (9, ny, nx) floating-point tensor."""
    if not isinstance(f, torch.Tensor) or not f.is_floating_point():
        raise SymbreakError(f"{where}: populations must be a floating-point torch tensor (9, {shape[0]}, {shape[1]}), got {type(f).__name__}")
    if tuple(f.shape) != (9, *shape):
        raise SymbreakError(f"{where}: populations must be (9, {shape[0]}, {shape[1]}), got {tuple(f.shape)}")
    if not bool(torch.isfinite(f).all()):
        raise SymbreakError(f"{where}: the populations hold NaN or inf: a diverged flow, or not populations at all")
    return f


@dataclass(frozen=True)
class CylinderChannel:
    r"""A periodic channel with a cylinder, its flow advanced by D2Q9 BGK lattice-Boltzmann steps.

    Parameters
    ----------
    nx, ny : int
        Columns (x, the flow direction) and rows (y) of the lattice.
    radius : float
        Cylinder radius r in cells; D = 2r. Its centre is at :math:`(x_c, (n_y - 1)/2)`.
    reynolds : float
        :math:`\mathrm{Re} = U D / \nu`, > 0.
    u_in : float
        Inflow speed U in lattice units (cells per step), in (0, :data:`MAX_U`].
    x_center : float or None
        :math:`x_c`; default ``6 r``: 2.5 D of undisturbed inflow ahead of the cylinder.

    Raises
    ------
    SymbreakError
        For Re ≤ 0 or not finite, a lattice too small for the cylinder (r < 2, fewer than 4r rows,
        the cylinder within 2r of the outlet), or a viscosity that needs :math:`\tau < 0.51`
        (refine the grid or lower U).

    Examples
    --------

    >>> flow = CylinderChannel(nx=60, ny=24, radius=3, reynolds=20)
    >>> f = flow.kick(flow.initial(), 0.05, seed=0)
    >>> rho, u = flow.macroscopic(flow.run(f, 10))
    >>> tuple(u.shape), round(float(flow.tau), 3)
    ((2, 24, 60), 0.59)
    """

    nx: int
    ny: int
    radius: float
    reynolds: float
    u_in: float = 0.1
    x_center: float | None = None

    def __post_init__(self) -> None:
        for name in ("radius", "reynolds", "u_in"):
            _real("CylinderChannel", name, getattr(self, name))
        for name in ("nx", "ny"):
            _count("CylinderChannel", name, getattr(self, name), 1)
        if self.x_center is not None:
            _real("CylinderChannel", "x_center", self.x_center)
        if self.nx * self.ny > MAX_CELLS:
            raise SymbreakError(f"CylinderChannel: {self.ny} × {self.nx} = {self.nx * self.ny:.3g} cells is more than {MAX_CELLS:.0e}: far beyond this task's lattices")
        if self.reynolds <= 0:
            raise SymbreakError(f"CylinderChannel: the Reynolds number must be > 0, got {self.reynolds}")
        if not 0 < self.u_in <= MAX_U:
            raise SymbreakError(f"CylinderChannel: u_in must be in (0, {MAX_U}] lattice units (Mach ≈ √3 u_in), got {self.u_in}")
        if self.radius < MIN_RADIUS:
            raise SymbreakError(f"CylinderChannel: radius {self.radius} cells is too small for a round cylinder (need ≥ {MIN_RADIUS})")
        if self.ny < 4 * self.radius:
            raise SymbreakError(f"CylinderChannel: ny = {self.ny} rows is too small for radius {self.radius} (need ≥ 4r = {4 * self.radius:g})")
        if not 0 < self.radius < self.xc < self.nx - 2 * self.radius - 2:
            raise SymbreakError(f"CylinderChannel: the cylinder (x_c = {self.xc:g}, r = {self.radius:g}) must lie inside the {self.nx} columns, 2r clear of the outlet")
        if self.tau < MIN_TAU:
            raise SymbreakError(
                f"CylinderChannel: Re = {self.reynolds:g} at D = {2 * self.radius:g} cells and U = {self.u_in:g} needs τ = {self.tau:.4f} < {MIN_TAU}: "
                "BGK is unstable there; use a larger radius or a larger u_in"
            )

    @property
    def xc(self) -> float:
        """The cylinder centre's column."""
        return float(6 * self.radius if self.x_center is None else self.x_center)

    @property
    def yc(self) -> float:
        """The cylinder centre's row, on the mirror line."""
        return (self.ny - 1) / 2

    @property
    def diameter(self) -> float:
        return 2.0 * float(self.radius)

    @property
    def nu(self) -> float:
        r""":math:`\nu = U D / \mathrm{Re}` (lattice units)."""
        return self.u_in * self.diameter / self.reynolds

    @property
    def tau(self) -> float:
        r"""The BGK relaxation time :math:`\tau = 3\nu + 1/2 = 1/\omega`."""
        return 3.0 * self.nu + 0.5

    def obstacle(self) -> torch.Tensor:
        """(ny, nx) bool: the cylinder's cells, symmetric under row reversal."""
        y, x = torch.meshgrid(torch.arange(self.ny, dtype=torch.float64), torch.arange(self.nx, dtype=torch.float64), indexing="ij")
        return (x - self.xc) ** 2 + (y - self.yc) ** 2 < float(self.radius) ** 2

    @staticmethod
    def equilibrium(rho: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
        r""":math:`f^{\mathrm{eq}}_i(\rho, \mathbf u)` (see the module docstring). rho: (...), u: (2, ...) → (9, ...)."""
        c = torch.as_tensor(D2Q9_VELOCITIES, dtype=u.dtype, device=u.device)
        w = torch.as_tensor(D2Q9_WEIGHTS, dtype=u.dtype, device=u.device).reshape((9,) + (1,) * rho.ndim)
        cu = torch.einsum("id,d...->i...", c, u)
        usq = u[0] * u[0] + u[1] * u[1]
        # in place: the step spends most of its time here, and fresh (9, ny, nx) arrays cost as much as the arithmetic
        feq = cu * cu
        feq.mul_(4.5).add_(cu, alpha=3.0).sub_(1.5 * usq - 1.0)
        return feq.mul_(w * rho)

    @staticmethod
    def macroscopic(f: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        r"""Density :math:`\rho` (ny, nx) and velocity :math:`\mathbf u` (2, ny, nx), components (x, y), of populations f (9, ny, nx)."""
        c = torch.as_tensor(D2Q9_VELOCITIES, dtype=f.dtype, device=f.device)
        rho = f.sum(0)
        return rho, torch.einsum("id,i...->d...", c, f) / rho

    def initial(self, *, dtype: torch.dtype = torch.float64) -> torch.Tensor:
        r"""Populations (9, ny, nx) at equilibrium with ρ = 1 and :math:`\mathbf u = (U, 0)` everywhere: mirror-symmetric."""
        shape = (self.ny, self.nx)
        return self.equilibrium(torch.ones(shape, dtype=dtype), torch.stack([torch.full(shape, self.u_in, dtype=dtype), torch.zeros(shape, dtype=dtype)]))

    def kick(self, f: torch.Tensor, perturbation: float, *, seed: int = 0) -> torch.Tensor:
        r"""f (9, ny, nx) with its velocity changed by :math:`\varepsilon U\,\delta` (``perturbation`` ε),
        its density and non-equilibrium part kept: :math:`f + f^{\mathrm{eq}}(\rho, \mathbf u + \varepsilon U \delta) - f^{\mathrm{eq}}(\rho, \mathbf u)`.

        δ lives in the fluid cells of the box :math:`x_c < x < x_c + 6r`, :math:`|y - y_c| < 2r` behind the cylinder: a
        transverse velocity :math:`\delta_y = (a(x, y) + a(x, -y))/2` with :math:`a \sim U[1/2, 3/2]`
        per cell (seeded), :math:`\delta_x = 0`. It is odd under the mirror, :math:`\sigma\delta = -\delta`, so
        a symmetric f kicked by −ε is exactly the mirror image of f kicked by +ε.
        """
        perturbation = _real("CylinderChannel.kick", "perturbation", perturbation)
        if 1.5 * abs(perturbation) * self.u_in > MAX_U:  # δ_y reaches 3/2
            raise SymbreakError(f"CylinderChannel.kick: perturbation {perturbation:g} gives transverse speeds up to {1.5 * abs(perturbation) * self.u_in:.3g} "
                                f"lattice units, above the scheme's {MAX_U} (|ε| ≤ {MAX_U / (1.5 * self.u_in):.3g} at u_in = {self.u_in:g})")  # fmt: skip
        seed = _count("CylinderChannel.kick", "seed", seed, 0)
        _populations("CylinderChannel.kick", f, (self.ny, self.nx))
        y, x = torch.meshgrid(torch.arange(self.ny, dtype=f.dtype), torch.arange(self.nx, dtype=f.dtype), indexing="ij")
        # fluid cells only: populations inside the cylinder bounce among themselves forever and would keep the kick
        box = (x > self.xc) & (x < self.xc + 6 * self.radius) & ((y - self.yc).abs() < 2 * self.radius) & ~self.obstacle().to(f.device)
        gen = torch.Generator().manual_seed(int(seed))
        a = 0.5 + torch.rand((self.ny, self.nx), generator=gen, dtype=f.dtype)
        delta = torch.stack([torch.zeros_like(a), 0.5 * (a + a.flip(0)) * box.to(f.dtype)])
        rho, u = self.macroscopic(f)
        return f + self.equilibrium(rho, u + perturbation * self.u_in * delta.to(f.device)) - self.equilibrium(rho, u)

    def step(self, f: torch.Tensor, solid: torch.Tensor | None = None) -> torch.Tensor:
        """One lattice-Boltzmann step of populations f (9, ny, nx); returns the new populations (f is overwritten).

        solid: the flat indices of the cylinder's cells (``obstacle().flatten().nonzero()``), if already
        found (saves finding them every step).
        """
        if solid is None:
            _populations("CylinderChannel.step", f, (self.ny, self.nx))
            solid = self.obstacle().flatten().nonzero()[:, 0].to(f.device)
        f[_LEFT, :, -1] = f[_LEFT, :, -2]  # outlet: the populations entering from outside copy their upstream neighbours
        rho, u = self.macroscopic(f)
        # inlet: u prescribed, ρ from the populations already known there (Zou & He 1997)
        u[0, :, 0], u[1, :, 0] = self.u_in, 0.0
        rho[:, 0] = (f[_VERTICAL, :, 0].sum(0) + 2 * f[_LEFT, :, 0].sum(0)) / (1 - u[0, :, 0])
        feq = self.equilibrium(rho, u)
        f[_RIGHT, :, 0] = feq[_RIGHT, :, 0] + f[_LEFT, :, 0] - feq[_LEFT, :, 0]
        out = feq.sub_(f).mul_(1.0 / self.tau).add_(f)  # BGK: f + (feq − f)/τ, in feq's memory
        flat_in, flat_out = f.reshape(9, -1), out.reshape(9, -1)
        flat_out[:, solid] = flat_in[:, solid][OPPOSITE]  # full-way bounce-back: populations return reversed
        # streaming; the rolls wrap x too, but the wrapped columns are the inlet's and outlet's unknowns, rewritten next step
        for i, (cx, cy) in enumerate(D2Q9_VELOCITIES):
            f[i] = torch.roll(out[i], shifts=(int(cy), int(cx)), dims=(0, 1))
        return f

    def run(self, f: torch.Tensor, steps: int, *, probe: tuple[int, int] | None = None) -> torch.Tensor | tuple[torch.Tensor, np.ndarray]:
        r"""Advance f (9, ny, nx) by ``steps`` steps, in place. With ``probe = (row, column)``, also
        return :math:`u_y` there after every step, (steps,) float64 (for :func:`strouhal_number`)."""
        steps = _count("CylinderChannel.run", "steps", steps, 0)
        _populations("CylinderChannel.run", f, (self.ny, self.nx))
        if probe is not None:
            if not isinstance(probe, (tuple, list)) or len(probe) != 2:
                raise SymbreakError(f"CylinderChannel.run: probe must be a (row, column) pair, got {probe!r}")
            probe = (_count("CylinderChannel.run", "probe row", probe[0], 0), _count("CylinderChannel.run", "probe column", probe[1], 0))
            if probe[0] >= self.ny or probe[1] >= self.nx:
                raise SymbreakError(f"CylinderChannel.run: probe {probe} lies outside the {self.ny} × {self.nx} lattice")
        solid = self.obstacle().flatten().nonzero()[:, 0].to(f.device)
        trace = np.empty(steps)
        c_y = torch.as_tensor(D2Q9_VELOCITIES[:, 1], dtype=f.dtype, device=f.device)
        for t in range(steps):
            f = self.step(f, solid)
            if probe is not None:
                cell = f[:, probe[0], probe[1]]
                trace[t] = float((c_y * cell).sum() / cell.sum())
        if not bool(torch.isfinite(f).all()):
            raise SymbreakError(f"CylinderChannel.run: the flow diverged (NaN or inf) within {steps} steps at Re = {self.reynolds:g}, τ = {self.tau:.4f}")
        return (f, trace) if probe is not None else f

    @staticmethod
    def mirror(f: torch.Tensor) -> torch.Tensor:
        r"""The mirror image σf of populations (9, ny, nx): rows reversed, :math:`f_i \to f_{\sigma(i)}`."""
        return f[MIRROR].flip(-2)


def vorticity(u: torch.Tensor) -> torch.Tensor:
    r""":math:`\omega = \partial_x u_y - \partial_y u_x` of u (2, ny, nx) by central differences (one-sided at the edges), (ny, nx)."""
    if not isinstance(u, torch.Tensor) or u.ndim != 3 or u.shape[0] != 2 or min(u.shape[1:]) < 2:
        raise SymbreakError(f"vorticity: u must be a tensor (2, ny, nx) with ny, nx ≥ 2, got {getattr(u, 'shape', type(u).__name__)}")
    return torch.gradient(u[1], dim=-1)[0] - torch.gradient(u[0], dim=-2)[0]


def mirror_fields(fields: torch.Tensor, parities: torch.Tensor | list[float]) -> torch.Tensor:
    r"""The mirror image of channel fields (..., C, ny, nx): rows reversed, channel c times ``parities[c]``
    (+1 for :math:`u_x`, ρ, p; −1 for :math:`u_y` and the vorticity :math:`\omega_z`)."""
    if not isinstance(fields, torch.Tensor) or fields.ndim < 3:
        raise SymbreakError(f"mirror_fields: fields must be a tensor (..., C, ny, nx), got {getattr(fields, 'shape', type(fields).__name__)}")
    p = torch.as_tensor(parities, dtype=fields.dtype, device=fields.device)
    if p.shape != (fields.shape[-3],):
        raise SymbreakError(f"mirror_fields: need one parity per channel ({fields.shape[-3]}), got {tuple(p.shape)}")
    if not bool(((p == 1) | (p == -1)).all()):
        raise SymbreakError(f"mirror_fields: parities must be ±1, got {p.tolist()}")
    return reflect_rows(fields, p)


def reflect_rows(fields: torch.Tensor, parities: torch.Tensor) -> torch.Tensor:
    """:func:`mirror_fields` without its checks, for a forward pass whose parities were checked once
    (a (C,) tensor of ±1 on the fields' device)."""
    return fields.flip(-2) * parities[:, None, None]


#: the fewest full periods :func:`strouhal_number` accepts: fewer give no frequency worth the name
MIN_PERIODS = 3


def strouhal_number(trace: np.ndarray, *, diameter: float, u_in: float, dt: float = 1.0) -> float:
    r""":math:`\mathrm{St} = f D / U` from a probe signal (steps,) sampled every ``dt`` steps.

    The frequency is the inverse of the mean period between upward zero crossings of
    :math:`u_y - \overline{u_y}` (crossing times linearly interpolated), over all complete
    periods in the trace. Raises :class:`~symbreak.SymbreakError` when fewer than
    :data:`MIN_PERIODS` periods are present (no shedding, or too short a trace)."""
    for name, value in (("diameter", diameter), ("u_in", u_in), ("dt", dt)):
        if _real("strouhal_number", name, value) <= 0:
            raise SymbreakError(f"strouhal_number: {name} must be > 0, got {value!r}")
    try:
        s = np.asarray(trace, dtype=float)
    except (TypeError, ValueError):
        raise SymbreakError(f"strouhal_number: the trace must be a finite 1-D signal, got {type(trace).__name__}") from None
    if s.ndim != 1 or not np.isfinite(s).all():
        raise SymbreakError("strouhal_number: the trace must be a finite 1-D signal")
    s = s - s.mean()
    i = np.nonzero((s[:-1] < 0) & (s[1:] >= 0))[0]
    if len(i) < MIN_PERIODS + 1:
        raise SymbreakError(f"strouhal_number: only {max(len(i) - 1, 0)} periods in the trace (need ≥ {MIN_PERIODS}): no shedding, or run longer")
    times = (i + s[i] / (s[i] - s[i + 1])) * dt
    period = (times[-1] - times[0]) / (len(times) - 1)
    return float(diameter / (period * u_in))


#: parities of the channels (u_x, u_y, ω_z) under the mirror y → −y
FIELD_PARITIES = (1.0, -1.0, -1.0)
#: the shedding counts as developed once the probe's amplitude changes by less than this (relative) from one window to the next
SATURATION = 0.02


@dataclass(frozen=True)
class WakeSample:
    r"""One learning example of the ``cylinder-wake`` task, on the coarse grid (arrays (3, H, W), channels
    :math:`(u_x/U,\ u_y/U,\ \omega D/U)`, rows = y, columns = x).

    inputs: the mirror-symmetric flow before shedding; target: the developed wake at the phase where
    the probe's :math:`u_y` crosses zero upwards (its mirror image, :func:`mirror_fields` with
    :data:`FIELD_PARITIES`, is the state half a period later, where it crosses downwards: the other
    valid answer); strouhal: St measured from the probe over the developed periods; steps: LB steps run.
    """

    reynolds: float
    inputs: np.ndarray
    target: np.ndarray
    strouhal: float
    steps: int


def coarse_fields(flow: CylinderChannel, f: torch.Tensor, *, width: int = 128, pool: int = 2) -> torch.Tensor:
    r"""(3, ny/pool, width/pool) float64: :math:`(u_x/U, u_y/U, \omega D/U)` of populations f over the
    columns :math:`[x_c - 3r, x_c - 3r + \mathrm{width})`, the cylinder's cells at rest, averaged over
    pool × pool blocks (an average of a mirror-symmetric field stays symmetric: ny is split evenly)."""
    width, pool = _count("coarse_fields", "width", width, 1), _count("coarse_fields", "pool", pool, 1)
    _populations("coarse_fields", f, (flow.ny, flow.nx))
    start = int(round(flow.xc - 3 * flow.radius))
    if flow.ny % pool or width % pool or start < 0 or start + width > flow.nx:
        raise SymbreakError(f"coarse_fields: columns [{start}, {start + width}) and pool {pool} do not fit the {flow.ny} × {flow.nx} lattice evenly")
    _, u = flow.macroscopic(f)
    u = u.masked_fill(flow.obstacle().to(u.device), 0.0)
    w = vorticity(u)
    fields = torch.cat([u / flow.u_in, w[None] * flow.diameter / flow.u_in])[:, :, start : start + width]
    return torch.nn.functional.avg_pool2d(fields[None], pool)[0]


def wake_sample(reynolds: float, *, radius: float = 5, ny: int = 64, nx: int = 250, u_in: float = 0.1, perturbation: float = 0.05, seed: int = 0,
                symmetric_steps: int = 2000, window: int = 400, max_steps: int = 40000, width: int = 128, pool: int = 2) -> WakeSample:  # fmt: skip
    r"""Simulate one wake (:class:`CylinderChannel` at ``reynolds``) and cut out its learning example.

    1. From uniform flow, ``symmetric_steps`` steps with no perturbation: the symmetric recirculation
       behind the cylinder; its mirror average (which removes round-off) is ``inputs``.
    2. :meth:`~CylinderChannel.kick` by ``perturbation`` (seeded by ``seed``), then steps until the probe's
       amplitude (probe: :math:`u_y` at :math:`(y_c, x_c + 4r)`, 2D behind the axis) over ``window``
       steps changes by less than :data:`SATURATION` from one window to the next.
    3. :data:`MIN_PERIODS` + 1 more periods: the Strouhal number (:func:`strouhal_number`).
    4. On to the next upward zero crossing of the probe: ``target``.

    Raises :class:`~symbreak.SymbreakError` when the wake does not develop within ``max_steps``
    (no shedding: Re below the critical ≈ 47, or too short a budget).
    """
    flow = CylinderChannel(nx=nx, ny=ny, radius=radius, reynolds=reynolds, u_in=u_in)
    symmetric_steps = _count("wake_sample", "symmetric_steps", symmetric_steps, 0)
    window = _count("wake_sample", "window", window, 2)
    max_steps = _count("wake_sample", "max_steps", max_steps, 1)
    _real("wake_sample", "perturbation", perturbation)
    start = int(round(flow.xc - 3 * flow.radius))
    if flow.ny % _count("wake_sample", "pool", pool, 1) or _count("wake_sample", "width", width, 1) % pool or start < 0 or start + width > flow.nx:
        raise SymbreakError(f"wake_sample: columns [{start}, {start + width}) and pool {pool} do not fit the {flow.ny} × {flow.nx} lattice evenly")
    probe = (int(flow.yc), int(round(flow.xc + 4 * flow.radius)))  # yc is a half-integer for even ny: the row just below the axis
    f = flow.run(flow.initial(), symmetric_steps)
    sym = coarse_fields(flow, f, width=width, pool=pool)
    inputs = 0.5 * (sym + mirror_fields(sym, FIELD_PARITIES))
    f = flow.kick(f, perturbation, seed=seed)
    steps, last = symmetric_steps, 0.0
    while True:
        f, trace = flow.run(f, window, probe=probe)
        steps += window
        amplitude = float(np.abs(trace).max())
        if last > 0 and abs(amplitude - last) < SATURATION * amplitude and amplitude > 1e-3 * u_in:
            break
        if steps >= max_steps:
            raise SymbreakError(f"wake_sample: no developed shedding at Re = {reynolds:g} within {max_steps} steps (probe amplitude {amplitude:.2e}); Re must exceed ≈ 47")
        last = amplitude
    traces = []
    while True:  # whole periods for the frequency: count upward zero crossings as they come
        f, trace = flow.run(f, window, probe=probe)
        steps += window
        traces.append(trace)
        s = np.concatenate(traces)
        s = s - s.mean()
        if int(((s[:-1] < 0) & (s[1:] >= 0)).sum()) >= MIN_PERIODS + 1:
            break
        if steps >= 2 * max_steps:  # saturated but not oscillating (a steady deflected wake): never loop forever
            raise SymbreakError(f"wake_sample: the wake at Re = {reynolds:g} saturated but did not oscillate ({MIN_PERIODS} periods) within {2 * max_steps} steps")
    st = strouhal_number(np.concatenate(traces), diameter=flow.diameter, u_in=u_in)
    previous = float(trace[-1])
    while True:
        f, now = flow.run(f, 1, probe=probe)
        steps += 1
        if previous < 0 <= float(now[0]):
            break
        if steps >= 3 * max_steps:
            raise SymbreakError(f"wake_sample: the probe at Re = {reynolds:g} did not cross zero upwards within {3 * max_steps} steps")
        previous = float(now[0])
    target = coarse_fields(flow, f, width=width, pool=pool)
    return WakeSample(float(reynolds), inputs.numpy(), target.numpy(), st, steps)

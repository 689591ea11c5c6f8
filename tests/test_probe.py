"""symbreak.md.symmetry_report (the symmetry probe), ``symbreak probe``, and the extra results of
SymmetrizedCalculator (energy_rot_std, forces_rot_std, per-atom energies)."""

import contextlib
import io
import json
from pathlib import Path

import numpy as np
import pytest
from ase import Atoms
from ase.calculators.emt import EMT
from numpy.polynomial import legendre

from symbreak import StructureError, SymbreakError, ToleranceError
from symbreak.cli import main
from symbreak.md import AnisotropicCalculator, SymmetrizedCalculator, get_calculator, recommend_grid, symmetry_report

ROOT = Path(__file__).parent.parent
U = np.array([1.0, 2.0, 2.0]) / 3.0
C = 0.02  # eV/Å^p


def cluster(seed=1, n=4):
    return Atoms(f"C{n}", positions=1.2 * np.random.default_rng(seed).normal(size=(n, 3)))


def sphere_content(h, lmax, n=14):
    r"""Independent reference: :math:`\|P_l h\|^2 = (2l+1) \iint h(v) h(v') P_l(v \cdot v')` on S² (normalised
    measure), by Gauss–Legendre in cos θ times equispaced φ; h: (M, 3) points -> (M, C). Returns (lmax,) for l = 1..lmax, summed over C."""
    z, wz = legendre.leggauss(n)
    m = 2 * n + 1
    zz, phi = np.meshgrid(z, 2 * np.pi * np.arange(m) / m, indexing="ij")
    s = np.sqrt(1 - zz**2)
    v = np.stack([s * np.cos(phi), s * np.sin(phi), zz], -1).reshape(-1, 3)
    w = np.repeat(wz / 2, m) / m
    vals = h(v)
    g = w[:, None] * (vals - w @ vals)
    cos = np.clip(v @ v.T, -1, 1)
    return np.array([(2 * l + 1) * np.einsum("jc,jk,kc->", g, legendre.legval(cos, [0] * l + [1]), g) for l in range(1, lmax + 1)])


def closed_form_energy_content(x, power, lmax):
    r"""The aniso term :math:`c \sum_i (v \cdot \rho_i)^p` with :math:`v = R^\top u` uniform on S²:
    :math:`t^p = \sum_l a_l P_l(t)`, and :math:`\langle P_l(v\cdot a) P_l(v\cdot b)\rangle = P_l(a\cdot b)/(2l+1)`, so
    :math:`\|P_l E\|^2 = c^2 a_l^2/(2l+1) \sum_{ij} |\rho_i|^p |\rho_j|^p P_l(\hat\rho_i\cdot\hat\rho_j)`."""
    rho = x - x.mean(0)
    r = np.linalg.norm(rho, axis=1)
    cos = np.clip((rho / r[:, None]) @ (rho / r[:, None]).T, -1, 1)
    a = legendre.poly2leg([0] * power + [1])  # t^p in Legendre polynomials
    out = np.zeros(lmax + 1)
    for l in range(1, min(lmax, power) + 1):
        out[l] = C**2 * a[l] ** 2 / (2 * l + 1) * np.einsum("i,j,ij->", r**power, r**power, legendre.legval(cos, [0] * l + [1]))
    return 1e3 * np.sqrt(np.maximum(out, 0))  # meV


def aniso_forces(power, x):
    """The turned-back non-invariant forces as a function of v = Rᵀu: (M, 3) -> (M, 3n)."""
    rho = x - x.mean(0)

    def h(v):
        s = v @ rho.T
        ds = C * power * s ** (power - 1)
        return (-(ds - ds.mean(1, keepdims=True))[:, :, None] * v[:, None, :]).reshape(len(v), -1)

    return h


def test_known_l2_l4_content_matches_closed_form_and_a_sphere_integral():
    """E = Σ k(r - r0)² + c Σ (u·ρ_i)⁴: content at 2e and 4e only, of the sizes the Legendre expansion
    of t⁴ gives (energy) and an independent S² quadrature gives (forces); 0e is the invariant mean;
    no odd content; the contents add up to the spread over rotations (Parseval)."""
    atoms = cluster()
    x = atoms.get_positions()
    calc = AnisotropicCalculator(c=C, power=4, axis=U)
    rep = symmetry_report(calc, atoms, lmax=6)
    e, f = rep.energy_content_meV[0], rep.forces_content_meV_A[0]
    expected_e = closed_form_energy_content(x, 4, 6)
    expected_f = 1e3 * np.sqrt(np.maximum(sphere_content(aniso_forces(4, x), 6), 0) / x.size)
    for l in (2, 4):
        assert e[0, l] == pytest.approx(expected_e[l], rel=1e-9) and e[0, l] > 1.0
        assert f[0, l] == pytest.approx(expected_f[l - 1], rel=1e-9) and f[0, l] > 1.0
    for l in (1, 3, 5, 6):
        assert e[0, l] < 1e-6 * e[0, 2] and f[0, l] < 1e-6 * f[0, 2]
    assert e[1].max() < 1e-9 and f[1].max() < 1e-9  # even under inversion
    # 0e: the invariant mean, |Ē| = pairs + c/5 Σ|ρ|⁴ (<t⁴> = 1/5)
    i, j = np.triu_indices(len(x), 1)
    mean = ((np.linalg.norm(x[i] - x[j], axis=1) - 1.5) ** 2).sum() + C / 5 * (np.linalg.norm(x - x.mean(0), axis=1) ** 4).sum()
    assert rep.mean_energy_eV[0, 0] == pytest.approx(mean, rel=1e-12) and e[0, 0] == pytest.approx(1e3 * abs(mean), rel=1e-12)
    assert rep.energy_std_meV[0] == pytest.approx(np.sqrt((e[0, 1:] ** 2).sum() + (e[1] ** 2).sum() + (rep.energy_unresolved_meV[0] ** 2).sum()), rel=1e-9)
    assert rep.energy_unresolved_meV[0].max() < 1e-6
    # the calculator's spread over the same grid is the probe's
    avg = atoms.copy()
    avg.calc = SymmetrizedCalculator(calc, grid="lebedev13i")
    avg.get_potential_energy()
    assert 1e3 * avg.calc.results["energy_rot_std"] == pytest.approx(rep.energy_std_meV[0], rel=1e-9)
    assert rep.recommended == "3" and rep.recommended_degree == 4 and not rep.needs_inversion and not rep.notes


def test_odd_power_gives_odd_parity_content_and_an_inversion_grid():
    """c Σ (u·ρ_i)³ flips sign under inversion: content at 1o and 3o only (t³ = 3/5 P1 + 2/5 P3); the
    inversion pairs alone remove it, so the recommendation is '1i', and the calculator averaged on it
    shows nothing."""
    atoms = cluster(seed=2)
    x = atoms.get_positions()
    calc = AnisotropicCalculator(c=C, power=3, axis=U)
    rep = symmetry_report(calc, atoms, lmax=4)
    e, f = rep.energy_content_meV[0], rep.forces_content_meV_A[0]
    expected_e = closed_form_energy_content(x, 3, 4)
    expected_f = 1e3 * np.sqrt(np.maximum(sphere_content(aniso_forces(3, x), 4), 0) / x.size)
    for l in (1, 3):
        assert e[1, l] == pytest.approx(expected_e[l], rel=1e-9) and f[1, l] == pytest.approx(expected_f[l - 1], rel=1e-9)
    assert e[1, 0] < 1e-9 and max(e[1, 2], e[1, 4], f[1, 2], f[1, 4]) < 1e-6 * e[1, 1]
    assert e[0, 1:].max() < 1e-9 and f[0, 1:].max() < 1e-9
    assert (rep.recommended, rep.recommended_degree, rep.needs_inversion) == ("1i", 0, True)
    avg = symmetry_report(SymmetrizedCalculator(calc, grid="1i"), atoms, lmax=4)
    assert avg.energy_content_meV[0, :, 1:].max() < 1e-8 and avg.energy_content_meV[0, 1].max() < 1e-8
    assert avg.recommended == "1"
    # the raw prediction against the averages: the SO(3) average keeps the odd part, the O(3) one does not
    assert rep.energy_error_meV[0, 1] > 1.0 and rep.forces_mae_meV_A[0, 1] > 1.0


def test_the_recommended_grid_removes_the_content():
    """The recommended grid (Euler or Lebedev) is the smallest exact to the highest degree with content;
    the calculator averaged on it has none left, and one degree less would not do."""
    atoms = cluster(seed=3)
    calc = AnisotropicCalculator(c=C, power=4, axis=U)
    rep = symmetry_report(calc, atoms, lmax=5)
    assert rep.recommended == "3"
    after = symmetry_report(SymmetrizedCalculator(calc, grid=rep.recommended), atoms, lmax=5)
    assert after.energy_content_meV[0, :, 1:].max() < 1e-8 and after.forces_content_meV_A[0, :, 1:].max() < 1e-8 and after.recommended == "1"
    short = symmetry_report(SymmetrizedCalculator(calc, grid="2"), atoms, lmax=5)  # exact to 2 only: l = 4 stays
    assert short.energy_content_meV[0, 0, 4] > 0.1 and short.recommended == "3"
    # odd degrees up to 5 over rotations only: lebedev5 (84 rotations) beats Euler 4 (196)
    odd = symmetry_report(AnisotropicCalculator(c=C, power=5, axis=U), atoms, lmax=6, improper=False)
    assert odd.parities == ("",) and odd.recommended == "lebedev5" and odd.recommended_degree == 5
    assert any("improper rotations not probed" in n for n in odd.notes)
    # below the tolerance nothing counts
    quiet = symmetry_report(calc, atoms, lmax=5, energy_tol_meV=1e6, forces_tol_meV_A=1e6)
    assert quiet.recommended == "1"
    # content at lmax is flagged: the dependence may go further
    capped = symmetry_report(calc, atoms, lmax=4)
    assert capped.recommended == "3" and any("larger lmax" in n for n in capped.notes)


def test_recommend_grid_rule():
    e = np.zeros((2, 7))
    f = np.zeros((2, 7))
    e[0, 0] = 1e4  # the invariant part never counts
    assert recommend_grid(e, f, parity=True) == ("1", 0, False)
    f[0, 6] = 1.0
    assert recommend_grid(e, f, parity=True) == ("4", 6, False)
    e[1, 0] = 1.0  # a pseudoscalar part: only the inversion pairs remove it
    assert recommend_grid(e, f, parity=True) == ("4i", 6, True)
    e[1, 0], f[0, 6], f[0, 3] = 0.0, 0.0, 1.0
    assert recommend_grid(e, f, parity=True) == ("lebedev3", 3, False)
    # odd content at l >= 1 without a 0o part: a proper grid averages it with the rest, when smaller
    f[0, 3], e[0, 2], e[1, 1] = 0.0, 1.0, 1.0
    assert recommend_grid(e, f, parity=True) == ("2", 2, False)  # 18 rotations, not '2i' (36)
    e[1, 1], e[1, 5] = 0.0, 1.0
    assert recommend_grid(e, f, parity=True) == ("2i", 2, True)  # 36, not lebedev5 (84)
    assert recommend_grid(e[:1], f[:1], parity=False) == ("2", 2, False)
    assert recommend_grid(e[:1], f[:1], parity=False, energy_tol_meV=2.0) == ("1", 0, False)


def test_emt_is_invariant():
    """ASE's EMT on a small copper cluster and on water: no content at any l >= 1, odd or even, to 1e-10
    of the energy and of the forces."""
    rng = np.random.default_rng(0)
    cu = Atoms("Cu4", positions=[[0, 0, 0], [2.5, 0, 0], [0, 2.5, 0], [0, 0, 2.5]] + 0.1 * rng.normal(size=(4, 3)))
    water = Atoms("OH2", positions=[[0, 0, 0.12], [0, 0.76, -0.47], [0, -0.76, -0.47]])
    rep = symmetry_report(EMT(), [cu, water], lmax=4)
    for s, atoms in enumerate((cu, water)):
        atoms.calc = EMT()
        energy, force = 1e3 * abs(atoms.get_potential_energy()), 1e3 * np.sqrt((atoms.get_forces() ** 2).mean())
        assert rep.energy_content_meV[s, 0, 0] == pytest.approx(energy, rel=1e-12)
        assert rep.energy_content_meV[s, :, 1:].max() < 1e-10 * energy and rep.energy_content_meV[s, 1, 0] < 1e-10 * energy
        assert rep.forces_content_meV_A[s, :, 1:].max() < 1e-10 * force and rep.forces_content_meV_A[s, 1, 0] < 1e-10 * force
        assert rep.energy_error_meV[s].max() < 1e-10 * energy and rep.forces_mae_meV_A[s].max() < 1e-10 * force
    assert rep.recommended == "1" and rep.labels == ["Cu4[0]", "H2O[1]"]
    text = rep.format()
    assert "recommended grid: '1' (1 rotation, exact to degree 0)" in text and "invariant" in text


def test_bad_inputs_are_named():
    atoms = cluster()
    calc = AnisotropicCalculator()
    bad = atoms.copy()
    bad.positions[1, 0] = np.nan
    with pytest.raises(StructureError, match=r"C4\[1\]: positions are not finite"):
        symmetry_report(calc, [atoms, bad], lmax=1)
    with pytest.raises(StructureError, match="no structures"):
        symmetry_report(calc, [], lmax=1)
    for lmax in (0, 13, 2.0, True):
        with pytest.raises(SymbreakError, match="lmax must be"):
            symmetry_report(calc, atoms, lmax=lmax)
    for tol in (-1, 0, float("nan"), float("inf"), "x"):
        with pytest.raises(ToleranceError, match="energy_tol_meV"):
            symmetry_report(calc, atoms, lmax=1, energy_tol_meV=tol)
    with pytest.raises(ToleranceError, match="forces_tol_meV_A"):
        symmetry_report(calc, atoms, lmax=1, forces_tol_meV_A=-0.1)
    with pytest.raises(SymbreakError, match="exact to degree 2; resolving l <= 2 needs degree >= 4"):
        symmetry_report(calc, atoms, lmax=2, grid="2")
    with pytest.raises(SymbreakError, match="no Lebedev rule of degree 4"):
        symmetry_report(calc, atoms, lmax=2, grid="lebedev4")
    with pytest.raises(SymbreakError, match="holds the inversion"):
        symmetry_report(calc, atoms, lmax=2, grid="3i", improper=False)
    with pytest.raises(SymbreakError, match="ASE calculator or a symbreak energy model"):
        symmetry_report(object(), atoms, lmax=1)
    with pytest.raises(SymbreakError, match="the calculator failed"):  # EMT has no parameters for fluorine
        symmetry_report(EMT(), Atoms("F2", positions=[[0, 0, 0], [0, 0, 1.4]]), lmax=1)
    with pytest.raises(SymbreakError, match="unknown calculator 'mace'"):
        get_calculator("mace")
    with pytest.raises(SymbreakError, match="no checkpoint"):
        get_calculator("model:/nonexistent/model.pt")
    assert symmetry_report(calc, atoms, lmax=2, grid="lebedev5i").grid == "lebedev5"  # a valid override


def run_cli(*argv):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(argv))
    return code, out.getvalue(), err.getvalue()


@pytest.mark.parametrize("name", ["water.xyz", "methane.xyz", "carbon_dioxide.xyz"])
def test_cli_probe_on_the_examples_with_emt(name):
    code, out, err = run_cli("probe", str(ROOT / "examples" / name), "--lmax", "2")
    assert code == 0, err
    assert "recommended grid: '1'" in out and "content by degree l" in out


def test_cli_probe_writes_json_and_png(tmp_path):
    code, out, err = run_cli("probe", str(ROOT / "examples" / "water.xyz"), "--calculator", "aniso", "--lmax", "5", "--out", str(tmp_path / "p"))
    assert code == 0, err
    assert "recommended grid: '3' (75 rotations, exact to degree 4)" in out and "probe.json and probe.png" in out
    data = json.loads((tmp_path / "p" / "probe.json").read_text())
    assert data["recommended"] == "3" and data["parities"] == ["e", "o"] and len(data["energy_content_meV"][0][0]) == 6
    assert (tmp_path / "p" / "probe.png").stat().st_size > 1000
    code, out, err = run_cli("probe", str(ROOT / "examples" / "water.xyz"), "--calculator", "aniso", "--lmax", "2", "--json", "--proper")
    assert code == 0 and json.loads(out)["parities"] == [""]


def test_cli_probe_errors_are_one_line(tmp_path):
    nan = tmp_path / "nan.xyz"
    nan.write_text("2\n\nH 0 0 0\nH 0 0 nan\n")
    water = str(ROOT / "examples" / "water.xyz")
    cases = [
        (["probe", str(tmp_path / "missing.xyz")], "no such file"),
        (["probe", str(nan)], "positions are not finite"),
        (["probe", water, "--calculator", "nope"], "unknown calculator 'nope'"),
        (["probe", water, "--energy-tol", "-1"], "--energy-tol must be a finite number > 0 (meV)"),
        (["probe", water, "--forces-tol", "nan"], "--forces-tol must be a finite number > 0 (meV/Å)"),
        (["probe", water, "--grid", "lebedev4"], "--grid 'lebedev4': no Lebedev rule of degree 4"),
        (["probe", water, "--grid", "3"], "--grid '3' is exact to degree 4; resolving l <= 6 needs degree >= 12 (e.g. 'lebedev13'), or a smaller --lmax"),
        (["probe", water, "--grid", "3i", "--proper"], "--grid '3i' holds the inversion, which --proper leaves out: give the proper grid '3'"),
        (["probe", water, "--lmax", "40"], "--lmax must be a whole number from 1 to 12, got 40"),
        (["probe", water, "--calculator", "model:" + str(tmp_path / "none.pt")], "no checkpoint"),
    ]
    for argv, message in cases:
        code, out, err = run_cli(*argv)
        assert code == 2 and message in err and len(err.strip().splitlines()) == 1, (argv, err)


def test_cli_probe_errors_name_flags_not_python_names(tmp_path):
    """The command line's messages speak its language: --energy-tol, not energy_tol_meV; --proper,
    not improper=False; no Python constants. The Python API keeps its own names."""
    water = str(ROOT / "examples" / "water.xyz")
    python_names = ("energy_tol_meV", "forces_tol_meV_A", "improper=", "proper=", "grid=", "MAX_LMAX", "MAX_PROBE_ROTATIONS", "MAX_GRID_SIZE", "smallest_grid")
    for argv in (["--energy-tol", "0"], ["--forces-tol", "-2"], ["--lmax", "0"], ["--grid", "3i", "--proper"], ["--grid", "2"], ["--grid", "99"], ["--grid", "x"]):
        code, out, err = run_cli("probe", water, *argv)
        assert code == 2 and err.startswith("symbreak: error: --"), (argv, err)
        assert not any(name in err for name in python_names), (argv, err)
    code, out, err = run_cli("probe", water, "--calculator", "aniso", "--lmax", "2", "--proper", "--no-progress")
    assert code == 0 and "note: improper rotations not probed:" in out and "proper=" not in out
    atoms = cluster()
    with pytest.raises(ToleranceError, match=r"^energy_tol_meV must be a finite number > 0 \(meV\), got 0$"):
        symmetry_report(AnisotropicCalculator(), atoms, lmax=1, energy_tol_meV=0)
    with pytest.raises(SymbreakError, match=r"^grid '3i' holds the inversion, which improper=False leaves out"):
        symmetry_report(AnisotropicCalculator(), atoms, lmax=1, grid="3i", improper=False)


def test_a_grid_too_large_to_probe_is_refused_with_its_size():
    """--grid 40 (249,640 rotations) ran for hours (the projections cost K² per value); --grid 99 hit
    the grid builder's own limit with Python names. Both are one line with the size and the limit,
    and name the grid that would do."""
    water = str(ROOT / "examples" / "water.xyz")
    code, out, err = run_cli("probe", water, "--grid", "40", "--lmax", "1")
    assert code == 2 and err == ("symbreak: error: --grid '40' has 249,640 rotations; the probe takes at most 10,000 "
                                 "(its time grows with the square of the size): '2' (18 rotations) resolves l <= 1\n")  # fmt: skip
    code, out, err = run_cli("probe", water, "--grid", "99")
    assert code == 2 and "--grid '99' has 3,842,091 rotations; the probe takes at most 10,000" in err and "'lebedev13'" in err
    code, out, err = run_cli("probe", water, "--grid", "14i")  # the limit is on the proper rotations
    assert code == 2 and "--grid '14i' has 10,206 rotations before its inverses" in err
    with pytest.raises(SymbreakError, match=r"grid '40' has 249,640 rotations; the probe takes at most 10,000 \(MAX_PROBE_ROTATIONS\)"):
        symmetry_report(AnisotropicCalculator(), cluster(), lmax=1, grid="40")
    from symbreak.md._probe import MAX_PROBE_ROTATIONS
    from symbreak.rotations import grid_size, smallest_grid

    # every grid a legal lmax needs fits, Euler or Lebedev; the command's help states the limit
    assert MAX_PROBE_ROTATIONS == 10_000 and grid_size("13") <= MAX_PROBE_ROTATIONS < grid_size("14")
    assert grid_size(smallest_grid(2 * 12)) <= MAX_PROBE_ROTATIONS
    from symbreak.cli import _parser

    assert f"at most {MAX_PROBE_ROTATIONS:,} rotations" in " ".join(_parser()._subparsers._group_actions[0].choices["probe"].format_help().split())


def test_a_model_file_that_is_not_a_checkpoint_says_what_it_is_and_what_is_expected(tmp_path):
    """model:PATH on a file that is not a symbreak checkpoint named torch's unpickler ("Unsupported
    operand 51", several lines) or "format None"; now one line says what the file is and what
    model:PATH expects, and, for weights without a spec (a training checkpoint such as
    results/water-pet/models/pet.pt), how to make one."""
    torch = pytest.importorskip("torch", reason="model checkpoints need torch (the 'ml' extra)")
    water = str(ROOT / "examples" / "water.xyz")
    expects = "model:PATH expects a symbreak model checkpoint, the .pt file symbreak.models.save_model writes"
    (tmp_path / "empty.pt").write_bytes(b"")
    torch.save({"model": {"w": torch.zeros(2)}, "optimizer": {}, "history": []}, tmp_path / "training.pt")
    torch.save({"w": torch.zeros(2)}, tmp_path / "weights.pt")
    torch.save(torch.zeros(3), tmp_path / "tensor.pt")
    torch.save({"format": "other/1"}, tmp_path / "other.pt")
    cases = {
        water: "is not a PyTorch file",
        str(tmp_path / "empty.pt"): "is empty",
        str(tmp_path / "training.pt"): "is a training checkpoint (model, optimizer, history: weights to resume training from, without the model's spec)",
        str(tmp_path / "weights.pt"): "is a bare state_dict",
        str(tmp_path / "tensor.pt"): "holds a Tensor, not a checkpoint",
        str(tmp_path / "other.pt"): "is a checkpoint of another format ('other/1', not 'symbreak-model/1')",
    }
    for path, what in cases.items():
        code, out, err = run_cli("probe", water, "--calculator", f"model:{path}")
        assert code == 2 and err.startswith(f"symbreak: error: {path} {what}") and expects in err, err
        assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    _, _, err = run_cli("probe", water, "--calculator", f"model:{tmp_path / 'training.pt'}")
    assert "rebuild the model with symbreak.models.build_model" in err
    code, _, err = run_cli("probe", water, "--calculator", f"model:{tmp_path}")
    assert code == 2 and f"{tmp_path} is a folder: model:PATH names a symbreak model checkpoint" in err
    # a real checkpoint whose model cannot be rebuilt keeps load_model's own reason
    torch.save({"format": "symbreak-model/1", "spec": "nosuchmodel", "options": {}, "state_dict": {}, "dtype": "float64"}, tmp_path / "spec.pt")
    code, _, err = run_cli("probe", water, "--calculator", f"model:{tmp_path / 'spec.pt'}")
    assert code == 2 and "unknown model 'nosuchmodel'" in err and len(err.strip().splitlines()) == 1


def test_an_empty_out_is_refused_not_ignored(tmp_path, monkeypatch):
    """--out '' used to be dropped silently (no probe.json anywhere); now it is refused, before any work."""
    monkeypatch.chdir(tmp_path)
    for value in ("", "  "):
        code, out, err = run_cli("probe", str(ROOT / "examples" / "water.xyz"), "--out", value)
        assert (code, out) == (2, "") and err == "symbreak: error: --out is empty: name a folder for probe.json and probe.png, or leave --out off\n"
    assert list(tmp_path.iterdir()) == []


def test_the_probe_shows_a_progress_bar_unless_told_not_to(monkeypatch):
    """A bar on stderr (tqdm, as bench and diagnose show theirs) once the work has run for a second
    (here: at once), and none with --no-progress; stdout is the same either way."""
    pytest.importorskip("tqdm")
    from symbreak.md import _probe

    monkeypatch.setattr(_probe, "_BAR_DELAY", 0.0)
    argv = ("probe", str(ROOT / "examples" / "water.xyz"), "--calculator", "aniso", "--lmax", "2")
    code, out, err = run_cli(*argv)
    assert code == 0 and "probe:" in err and "steps" in err
    code, quiet, err = run_cli(*argv, "--no-progress")
    assert code == 0 and err == "" and quiet == out
    # the Python API is quiet unless asked
    calls = []
    monkeypatch.setattr(_probe, "_progress_bar", lambda total, enabled: calls.append((total, enabled)) or _probe._NoBar())
    symmetry_report(AnisotropicCalculator(), cluster(), lmax=1)
    symmetry_report(AnisotropicCalculator(), cluster(), lmax=1, progress=True)
    assert [enabled for _, enabled in calls] == [False, True]
    assert calls[0][0] == (1 + 2 * 18) + 256  # evaluations of grid '2' and its inverses, then one block of projections


def test_a_calculator_that_returns_the_wrong_shapes_is_named():
    class Wrong:
        def evaluate(self, atoms, rotations):
            return np.zeros(len(rotations) + 1), np.zeros((len(rotations), len(atoms), 3)), None

        def get_potential_energy(self, atoms=None):  # pragma: no cover - never called
            return 0.0

    with pytest.raises(SymbreakError, match=r"C4: the calculator gave energies of shape \(38,\) and forces of shape \(37, 4, 3\) for 37 turned copies"):
        symmetry_report(Wrong(), cluster(), lmax=1)


def test_many_structures_are_projected_in_chunks_with_the_same_result(monkeypatch):
    """The functions are projected a few structures at a time (bounded memory for large files);
    the result does not depend on how they are grouped."""
    from symbreak.md import _probe

    frames = [cluster(seed=s, n=3 + s) for s in range(4)]
    calc = AnisotropicCalculator(c=C, power=4, axis=U)
    whole = symmetry_report(calc, frames, lmax=3)
    monkeypatch.setattr(_probe, "_COLUMNS", 1)  # one structure per group
    seen = []
    original = _probe._degree_contents
    monkeypatch.setattr(_probe, "_degree_contents", lambda values, *a, **k: seen.append(values.shape[1]) or original(values, *a, **k))
    apart = symmetry_report(calc, frames, lmax=3)
    assert seen == [2 * (1 + 3 * len(a)) for a in frames]
    for key in ("energy_content_meV", "forces_content_meV_A", "energy_unresolved_meV", "forces_unresolved_meV_A", "energy_error_meV", "forces_mae_meV_A"):
        np.testing.assert_allclose(getattr(apart, key), getattr(whole, key), rtol=1e-12, atol=1e-12)


# --- SymmetrizedCalculator's extra results ---------------------------------------------------------


def test_rotation_spread_results():
    atoms = cluster()
    atoms.calc = SymmetrizedCalculator(AnisotropicCalculator(c=C, axis=U), grid="2i")
    atoms.get_forces()
    res = atoms.calc.results
    assert res["energy_rot_std"] == res["energy_spread"] > 1e-3
    assert res["forces_rot_std"].shape == (4, 3)
    np.testing.assert_allclose(np.sqrt((res["forces_rot_std"] ** 2).sum(1)), res["forces_spread"], rtol=1e-12)
    inv = cluster()
    inv.calc = SymmetrizedCalculator(EMT(), grid="2i")
    inv.get_forces()
    assert inv.calc.results["energy_rot_std"] < 1e-12 and inv.calc.results["forces_rot_std"].max() < 1e-12


def test_per_atom_energies_where_the_calculator_gives_them():
    from ase.calculators.calculator import PropertyNotImplementedError

    water = Atoms("OH2", positions=[[0, 0, 0.12], [0, 0.76, -0.47], [0, -0.76, -0.47]])
    ref = water.copy()
    ref.calc = EMT()
    for mode in ("raw", "grid", "random"):
        atoms = water.copy()
        atoms.calc = SymmetrizedCalculator(EMT(), mode=mode, grid="2")
        energies = atoms.get_potential_energies()
        np.testing.assert_allclose(energies, ref.get_potential_energies(), atol=1e-12)  # EMT is invariant
        assert energies.sum() == pytest.approx(atoms.get_potential_energy(), abs=1e-12)
    atoms = water.copy()
    atoms.calc = SymmetrizedCalculator(AnisotropicCalculator(), grid="2")
    with pytest.raises(PropertyNotImplementedError):
        atoms.get_potential_energies()
    mts = water.copy()
    mts.calc = SymmetrizedCalculator(EMT(), mode="mts", grid="2")
    with pytest.raises(PropertyNotImplementedError):
        mts.get_potential_energies()


# --- symbreak models ---------------------------------------------------------------------------------


def _pet():
    torch = pytest.importorskip("torch", reason="symbreak models need torch (install the 'ml' extra)")
    from symbreak.models import build_model

    torch.manual_seed(0)
    return build_model("pet", hidden=8, heads=2, layers=1, cutoff=3.0)


def test_probe_a_model_and_its_per_atom_energies(tmp_path):
    """A non-invariant PET through ModelCalculator: content at l >= 1, errors that match the
    SymmetrizedCalculator's average on the same grid; its per-atom energies add up, averaged or not;
    and the CLI reads the same model from a checkpoint (model:PATH)."""
    from symbreak.md import ModelCalculator
    from symbreak.models import save_model

    pet = _pet()
    water = Atoms("OH2", positions=[[0, 0, 0.12], [0, 0.76, -0.47], [0, -0.76, -0.47]])
    rep = symmetry_report(pet, water, lmax=2)
    assert rep.grid == "3" and rep.energy_content_meV[0, :, 1:].max() > 1e-3
    avg = water.copy()
    avg.calc = SymmetrizedCalculator(pet, grid="3i")
    assert 1e3 * abs(avg.get_potential_energy() - rep.raw_energy_eV[0]) == pytest.approx(rep.energy_error_meV[0, 1], rel=1e-6)
    energies = avg.get_potential_energies()
    assert energies.shape == (3,) and energies.sum() == pytest.approx(avg.get_potential_energy(), abs=1e-9)
    raw = water.copy()
    raw.calc = ModelCalculator(pet)
    assert raw.get_potential_energies().sum() == pytest.approx(raw.get_potential_energy(), abs=1e-9)
    path = save_model(pet, tmp_path / "pet.pt")
    code, out, err = run_cli("probe", str(ROOT / "examples" / "water.xyz"), "--calculator", f"model:{path}", "--lmax", "2")
    assert code == 0, err
    assert "recommended grid:" in out


def test_anisotropic_calculator_forces_and_the_generic_path():
    """The toy's forces are minus the gradient of its energy (central differences), and the probe reads
    it the same through its batched ``evaluate`` as through ASE one turned copy at a time."""
    atoms = cluster(seed=4, n=5)
    calc = AnisotropicCalculator(c=C, power=4, axis=U)
    e, f, _ = calc.evaluate(atoms, np.eye(3)[None])
    h = 1e-5
    numeric = np.zeros((5, 3))
    for i in range(5):
        for a in range(3):
            plus, minus = atoms.copy(), atoms.copy()
            plus.positions[i, a] += h
            minus.positions[i, a] -= h
            numeric[i, a] = -(calc.evaluate(plus, np.eye(3)[None])[0][0] - calc.evaluate(minus, np.eye(3)[None])[0][0]) / (2 * h)
    np.testing.assert_allclose(f[0], numeric, atol=1e-7)
    batched = symmetry_report(calc, atoms, lmax=2)
    generic = symmetry_report(SymmetrizedCalculator(calc, mode="raw"), atoms, lmax=2)  # an ASE calculator without evaluate
    np.testing.assert_allclose(generic.energy_content_meV, batched.energy_content_meV, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(generic.forces_content_meV_A, batched.forces_content_meV_A, rtol=1e-9, atol=1e-9)

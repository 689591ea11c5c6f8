"""Character tables: against the published tables (Cotton; Gelessus, Thiel & Weber), against the
defining identities of irreducible characters for every finite point group, and the CLI."""

from __future__ import annotations

import cmath
import json
import math
import re

import numpy as np
import pytest

from conftest import all_group_names
from symbreak import GroupError
from symbreak.cli import main
from symbreak.groups import CharacterTable, PointGroup, character_table
from symbreak.groups._subgroups import conjugacy_classes

PHI = (1 + math.sqrt(5)) / 2  # 2cos(36°); 1 − φ = 2cos(144°)
EPS = cmath.exp(2j * math.pi / 3)

# Published tables, each row as in Cotton (Chemical Applications of Group Theory, 3rd ed.), the
# columns named by symbreak's class labels (the order of rows and columns may differ from the book).
PUBLISHED = {
    "C2v": (
        ["E", "C2", "σv(xz)", "σv′(yz)"],
        {"A1": [1, 1, 1, 1], "A2": [1, 1, -1, -1], "B1": [1, -1, 1, -1], "B2": [1, -1, -1, 1]},
    ),
    "C3v": (["E", "2C3", "3σv"], {"A1": [1, 1, 1], "A2": [1, 1, -1], "E": [2, -1, 0]}),
    "C4v": (
        ["E", "2C4", "C2", "2σv", "2σd"],
        {"A1": [1, 1, 1, 1, 1], "A2": [1, 1, 1, -1, -1], "B1": [1, -1, 1, 1, -1], "B2": [1, -1, 1, -1, 1], "E": [2, 0, -2, 0, 0]},
    ),
    "C3": (["E", "C3", "C3²"], {"A": [1, 1, 1], "¹E": [1, EPS, EPS.conjugate()], "²E": [1, EPS.conjugate(), EPS]}),
    "D2h": (
        ["E", "C2(z)", "C2(y)", "C2(x)", "i", "σ(xy)", "σ(xz)", "σ(yz)"],
        {
            "Ag": [1, 1, 1, 1, 1, 1, 1, 1],
            "B1g": [1, 1, -1, -1, 1, 1, -1, -1],
            "B2g": [1, -1, 1, -1, 1, -1, 1, -1],
            "B3g": [1, -1, -1, 1, 1, -1, -1, 1],
            "Au": [1, 1, 1, 1, -1, -1, -1, -1],
            "B1u": [1, 1, -1, -1, -1, -1, 1, 1],
            "B2u": [1, -1, 1, -1, -1, 1, -1, 1],
            "B3u": [1, -1, -1, 1, -1, 1, 1, -1],
        },
    ),
    "D3d": (
        ["E", "2C3", "3C2", "i", "2S6", "3σd"],
        {
            "A1g": [1, 1, 1, 1, 1, 1],
            "A2g": [1, 1, -1, 1, 1, -1],
            "Eg": [2, -1, 0, 2, -1, 0],
            "A1u": [1, 1, 1, -1, -1, -1],
            "A2u": [1, 1, -1, -1, -1, 1],
            "Eu": [2, -1, 0, -2, 1, 0],
        },
    ),
    "D6h": (
        ["E", "2C6", "2C3", "C2", "3C2′", "3C2″", "i", "2S3", "2S6", "σh", "3σd", "3σv"],
        {
            "A1g": [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1],
            "A2g": [1, 1, 1, 1, -1, -1, 1, 1, 1, 1, -1, -1],
            "B1g": [1, -1, 1, -1, 1, -1, 1, -1, 1, -1, 1, -1],
            "B2g": [1, -1, 1, -1, -1, 1, 1, -1, 1, -1, -1, 1],
            "E1g": [2, 1, -1, -2, 0, 0, 2, 1, -1, -2, 0, 0],
            "E2g": [2, -1, -1, 2, 0, 0, 2, -1, -1, 2, 0, 0],
            "A1u": [1, 1, 1, 1, 1, 1, -1, -1, -1, -1, -1, -1],
            "A2u": [1, 1, 1, 1, -1, -1, -1, -1, -1, -1, 1, 1],
            "B1u": [1, -1, 1, -1, 1, -1, -1, 1, -1, 1, -1, 1],
            "B2u": [1, -1, 1, -1, -1, 1, -1, 1, -1, 1, 1, -1],
            "E1u": [2, 1, -1, -2, 0, 0, -2, -1, 1, 2, 0, 0],
            "E2u": [2, -1, -1, 2, 0, 0, -2, 1, 1, -2, 0, 0],
        },
    ),
    "Td": (
        ["E", "8C3", "3C2", "6S4", "6σd"],
        {"A1": [1, 1, 1, 1, 1], "A2": [1, 1, 1, -1, -1], "E": [2, -1, 2, 0, 0], "T1": [3, 0, -1, 1, -1], "T2": [3, 0, -1, -1, 1]},
    ),
    "Oh": (  # Cotton's column order: E 8C3 6C2 6C4 3C2(=C4²) i 6S4 8S6 3σh 6σd
        ["E", "8C3", "6C2′", "6C4", "3C2", "i", "6S4", "8S6", "3σh", "6σd"],
        {
            "A1g": [1, 1, 1, 1, 1, 1, 1, 1, 1, 1],
            "A2g": [1, 1, -1, -1, 1, 1, -1, 1, 1, -1],
            "Eg": [2, -1, 0, 0, 2, 2, 0, -1, 2, 0],
            "T1g": [3, 0, -1, 1, -1, 3, 1, 0, -1, -1],
            "T2g": [3, 0, 1, -1, -1, 3, -1, 0, -1, 1],
            "A1u": [1, 1, 1, 1, 1, -1, -1, -1, -1, -1],
            "A2u": [1, 1, -1, -1, 1, -1, 1, -1, -1, 1],
            "Eu": [2, -1, 0, 0, 2, -2, 0, 1, -2, 0],
            "T1u": [3, 0, -1, 1, -1, -3, -1, 0, 1, 1],
            "T2u": [3, 0, 1, -1, -1, -3, 1, 0, 1, -1],
        },
    ),
    "Ih": (
        ["E", "12C5", "12C5²", "20C3", "15C2", "i", "12S10", "12S10³", "20S6", "15σ"],
        {
            "Ag": [1, 1, 1, 1, 1, 1, 1, 1, 1, 1],
            "T1g": [3, PHI, 1 - PHI, 0, -1, 3, 1 - PHI, PHI, 0, -1],
            "T2g": [3, 1 - PHI, PHI, 0, -1, 3, PHI, 1 - PHI, 0, -1],
            "Gg": [4, -1, -1, 1, 0, 4, -1, -1, 1, 0],
            "Hg": [5, 0, 0, -1, 1, 5, 0, 0, -1, 1],
            "Au": [1, 1, 1, 1, 1, -1, -1, -1, -1, -1],
            "T1u": [3, PHI, 1 - PHI, 0, -1, -3, PHI - 1, -PHI, 0, 1],
            "T2u": [3, 1 - PHI, PHI, 0, -1, -3, -PHI, PHI - 1, 0, 1],
            "Gu": [4, -1, -1, 1, 0, -4, 1, 1, -1, 0],
            "Hu": [5, 0, 0, -1, 1, -5, 0, 0, 1, -1],
        },
    ),
    "Th": (  # Gelessus: E 4C3 4(C3)² 3C2 i 4(S6)⁵ 4S6 3σh, ε = exp(2πi/3)
        ["E", "4C3", "4C3²", "3C2", "i", "4S6⁵", "4S6", "3σh"],
        {
            "Ag": [1, 1, 1, 1, 1, 1, 1, 1],
            "¹Eg": [1, EPS, EPS.conjugate(), 1, 1, EPS, EPS.conjugate(), 1],
            "²Eg": [1, EPS.conjugate(), EPS, 1, 1, EPS.conjugate(), EPS, 1],
            "Tg": [3, 0, 0, -1, 3, 0, 0, -1],
            "Au": [1, 1, 1, 1, -1, -1, -1, -1],
            "¹Eu": [1, EPS, EPS.conjugate(), 1, -1, -EPS, -EPS.conjugate(), -1],
            "²Eu": [1, EPS.conjugate(), EPS, 1, -1, -EPS.conjugate(), -EPS, -1],
            "Tu": [3, 0, 0, -1, -3, 0, 0, 1],
        },
    ),
}


@pytest.mark.parametrize("name", sorted(PUBLISHED))
def test_matches_the_published_table(name):
    labels, rows = PUBLISHED[name]
    t = character_table(name)
    assert sorted(t.classes) == sorted(labels)
    assert sorted(t.irreps) == sorted(rows)
    for irrep, expected in rows.items():
        got = [t.characters[t.irreps.index(irrep), t.classes.index(c)] for c in labels]
        np.testing.assert_allclose(np.asarray(got, dtype=complex), np.asarray(expected, dtype=complex), atol=1e-12, err_msg=f"{name} {irrep}")


def test_fixed_orders_of_rows_and_columns():
    t = character_table("D6h")
    assert t.classes == ("E", "2C6", "2C3", "C2", "3C2′", "3C2″", "i", "2S3", "2S6", "σh", "3σd", "3σv")
    assert t.irreps[:6] == ("A1g", "A2g", "B1g", "B2g", "E1g", "E2g") and t.irreps[6] == "A1u"
    assert character_table("Oh").classes == ("E", "8C3", "3C2", "6C4", "6C2′", "i", "8S6", "3σh", "6S4", "6σd")
    assert character_table("D3h").irreps == ("A1′", "A2′", "E′", "A1″", "A2″", "E″")
    assert character_table("S8").classes == ("E", "S8", "C4", "S8³", "C2", "S8⁵", "C4³", "S8⁷")
    assert character_table("C5h").classes[5:] == ("σh", "S5", "S5⁷", "S5³", "S5⁹")  # σh·C5^k, as in Cotton
    assert character_table("D5d").classes == ("E", "2C5", "2C5²", "5C2", "i", "2S10³", "2S10", "5σd")


@pytest.mark.parametrize(
    "name, irreps",
    [
        ("C1", ["A"]), ("Cs", ["A′", "A″"]), ("Ci", ["Ag", "Au"]), ("C2", ["A", "B"]), ("C2h", ["Ag", "Bg", "Au", "Bu"]),
        ("D2", ["A", "B1", "B2", "B3"]), ("D2d", ["A1", "A2", "B1", "B2", "E"]), ("S4", ["A", "B", "¹E", "²E"]),
        ("D4d", ["A1", "A2", "B1", "B2", "E1", "E2", "E3"]), ("C5v", ["A1", "A2", "E1", "E2"]),
        ("S6", ["Ag", "¹Eg", "²Eg", "Au", "¹Eu", "²Eu"]), ("C6", ["A", "B", "¹E1", "²E1", "¹E2", "²E2"]),
        ("D5h", ["A1′", "A2′", "E1′", "E2′", "A1″", "A2″", "E1″", "E2″"]), ("T", ["A", "¹E", "²E", "T"]),
        ("O", ["A1", "A2", "E", "T1", "T2"]), ("I", ["A", "T1", "T2", "G", "H"]),
    ],
)  # fmt: skip
def test_mulliken_names(name, irreps):
    assert list(character_table(name).irreps) == irreps


def test_principal_characters_fix_the_names():
    # E_k: χ(principal) = 2cos(2πk/N); ¹E_k: exp(+2πik/N); B: −1 on S8 in D4d and S8
    t = character_table("D4d")
    assert t.character("E1", "2S8") == pytest.approx(math.sqrt(2)) and t.character("E3", "S8") == pytest.approx(-math.sqrt(2))
    s8 = character_table("S8")
    assert s8.character("¹E3", "S8") == pytest.approx(cmath.exp(2j * math.pi * 3 / 8)) and s8.character("B", "S8") == -1
    assert character_table("C6").character("¹E2", "C6") == pytest.approx(EPS)
    assert character_table("I").character("T1", "C5") == pytest.approx(PHI)


def test_linear_functions_column():
    c2v = character_table("C2v")
    assert dict(zip(c2v.irreps, c2v.functions)) == {"A1": "z", "A2": "Rz", "B1": "x, Ry", "B2": "y, Rx"}  # Cotton
    oh = character_table("Oh")
    assert oh.functions[oh.irrep_index("T1u")] == "(x, y, z)" and oh.functions[oh.irrep_index("T1g")] == "(Rx, Ry, Rz)"
    td = character_table("Td")
    assert td.functions[td.irrep_index("T2")] == "(x, y, z)" and td.functions[td.irrep_index("T1")] == "(Rx, Ry, Rz)"
    d3h = character_table("D3h")
    assert [d3h.functions[d3h.irrep_index(n)] for n in ("E'", "A2''", "E''", "A2'")] == ["(x, y)", "z", "(Rx, Ry)", "Rz"]
    c3 = character_table("C3")
    assert c3.functions[c3.irrep_index("¹E")] == "x+iy, Rx+iRy"  # Gelessus: x + iy goes with ε on C3


def test_reduce_decompose_and_products():
    c2v = character_table("C2v")
    # water in the xz plane (Cotton): unmoved atoms 3, 1, 3, 1 times χ_xyz = 3, −1, 1, 1
    assert c2v.decompose([9, -1, 3, 1]) == {"A1": 3, "A2": 1, "B1": 3, "B2": 2}
    np.testing.assert_allclose(c2v.reduce([[1, 1, 1, 1], [2, 0, 2, 0]]), [[1, 0, 0, 0], [1, 0, 1, 0]])
    assert character_table("C3v").product("E", "E") == {"A1": 1, "A2": 1, "E": 1}
    assert character_table("Oh").product("T1u", "T1u") == {"A1g": 1, "Eg": 1, "T1g": 1, "T2g": 1}
    assert character_table("Ih").product("T1u", "T1u") == {"Ag": 1, "T1g": 1, "Hg": 1}
    c3 = character_table("C3")
    assert c3.product("¹E", "¹E") == {"²E": 1} and c3.product("¹E", "²E") == {"A": 1}
    assert c3.decompose([2, -1, -1]) == {"¹E": 1, "²E": 1}  # the real 2-dimensional "E" of real tables
    with pytest.raises(GroupError, match="not the character"):
        c2v.decompose([1, 0, 0, 0])
    with pytest.raises(GroupError, match="expected 4 characters"):
        c2v.reduce([1, 1, 1])
    with pytest.raises(GroupError, match="not an irrep of C3v.*A1, A2, E"):
        character_table("C3v").product("T1")


@pytest.mark.parametrize("name", ["C4v", "D3h", "Oh", "Ih", "S6"])
def test_characters_of_a_representation(name):
    g = PointGroup(name)
    t = character_table(g)
    chi = t.characters_of(g.operations)  # x, y, z
    vector = {"C4v": {"A1": 1, "E": 1}, "D3h": {"E′": 1, "A2″": 1}, "Oh": {"T1u": 1}, "Ih": {"T1u": 1}, "S6": {"Au": 1, "¹Eu": 1, "²Eu": 1}}
    assert t.decompose(chi) == vector[name]
    axial = g.operations * np.linalg.det(g.operations)[:, None, None]
    rot = t.decompose(t.characters_of(axial))
    assert sum(m * t.dimensions[t.irrep_index(k)] for k, m in rot.items()) == 3


def _irreducibility_residual(g: PointGroup, t: CharacterTable) -> float:
    """Largest violation of χ(g)χ(h) = (χ(e)/|C_h|) Σ_{y ∈ C_h} χ(g y), which holds for every g, h
    exactly when χ is an irreducible character (with χ(e) its degree), on symbreak's own Cayley table."""
    table = g.cayley_table
    per_element = np.empty((len(t.irreps), g.order), dtype=complex)
    for j, members in enumerate(t.class_members):
        per_element[:, list(members)] = t.characters[:, [j]]
    worst = 0.0
    for j, members in enumerate(t.class_members):
        h = members[0]
        rhs = per_element[:, table[:, list(members)]].sum(axis=2) * t.dimensions[:, None] / len(members)
        worst = max(worst, float(np.abs(per_element * per_element[:, [h]] - rhs).max()))
    return worst


@pytest.mark.parametrize("name", all_group_names(12) + ["D15h", "D30d", "C60", "S24"])
def test_every_finite_group(name):
    g = PointGroup(name)
    t = character_table(g)
    k, chi, sizes = g.order, t.characters, t.class_sizes
    assert t.group == g.name and t.order == k and sizes.sum() == k
    assert len(t.irreps) == len(t.classes) == len(conjugacy_classes(g))
    assert {frozenset(m) for m in t.class_members} == {frozenset(c) for c in conjugacy_classes(g)}
    # orthogonality of rows and columns; Σ d² = |G|
    np.testing.assert_allclose((chi * sizes) @ chi.conj().T, k * np.eye(len(sizes)), atol=1e-9)
    np.testing.assert_allclose(chi.conj().T @ chi, np.diag(k / sizes), atol=1e-9)
    assert (t.dimensions**2).sum() == k and t.dimensions.min() >= 1
    assert _irreducibility_residual(g, t) < 1e-9
    # the representatives belong to their classes, and the trivial irrep is the first row
    assert all(np.allclose(g.operations[m[0]], t.representatives[j]) or any(np.allclose(g.operations[i], t.representatives[j]) for i in m) for j, m in enumerate(t.class_members))
    assert t.classes[0] == "E" and np.all(chi[0] == 1)
    # names: unique, Mulliken-shaped, letters by degree, g/u by inversion, ′/″ by σh
    assert len(set(t.irreps)) == len(t.irreps) and len(set(t.classes)) == len(t.classes)
    pattern = re.compile(r"^[¹²]?([ABETGH])(\d*)([gu′″]?)$")
    for name_i, d in zip(t.irreps, t.dimensions):
        m = pattern.match(name_i)
        assert m, name_i
        assert m.group(1) == {1: ("E" if name_i[0] in "¹²" else m.group(1)), 2: "E", 3: "T", 4: "G", 5: "H"}[d]
        assert bool(m.group(3) in ("g", "u")) == g.has_inversion
    assert t.is_real == (not any(n[0] in "¹²" for n in t.irreps))
    # x, y, z: a real representation, with integer multiplicities
    assert sum(t.decompose(t.characters_of(g.operations)).values()) >= 1


def test_read_only_and_cached():
    t = character_table("D4h")
    assert character_table(PointGroup("D4h")) is t
    with pytest.raises(ValueError):
        t.characters[0, 0] = 2
    with pytest.raises(AttributeError):
        t.group = "C1"
    assert t.class_index("C4") == t.class_index("2C4") == 1 and character_table("C3").class_index("C3^2") == 2
    assert character_table("D3h").character("E''", "sigma_h") == -2


def test_json_round_trip():
    d = character_table("C3").to_dict()
    assert json.loads(json.dumps(d)) == d
    chi = np.array(d["characters"]) + 1j * np.array(d["characters_imag"])
    assert d["irreps"] == ["A", "¹E", "²E"] and chi[1, 1] == pytest.approx(EPS)
    assert "characters_imag" not in character_table("C3v").to_dict()
    assert np.array(character_table("C3v").to_dict()["representatives"]).shape == (3, 3, 3)


@pytest.mark.parametrize("name", ["C*v", "D*h", "Kh"])
def test_infinite_groups_are_refused(name):
    with pytest.raises(GroupError, match="infinite"):
        character_table(name)


def test_cli_group(capsys):
    assert main(["group", "C2v"]) == 0
    out = capsys.readouterr().out
    assert "C2v  order 4" in out
    assert re.search(r"^B1\s+1\s+-1\s+1\s+-1\s+x, Ry$", out, re.M)
    assert main(["group", "--json", "Ih"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["order"] == 120 and len(d["irreps"]) == 10 and d["characters"][0] == [1.0] * 10


@pytest.mark.parametrize("name, message", [("D*h", "infinite"), ("X9", "unknown point group")])
def test_cli_group_bad_input(name, message, capsys):
    assert main(["group", name]) == 2
    err = capsys.readouterr().err
    assert err.startswith("symbreak: error:") and message in err and err.count("\n") == 1

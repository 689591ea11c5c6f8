"""The model spec ``"name[+variant...][key=value, ...]"``: parsed and checked once, printed back canonically."""

from __future__ import annotations

import pytest

from symbreak import SymbreakError
from symbreak.models import INPUTS, MODELS, VARIANTS, build_model, model_config
from symbreak.models._registry import ALIASES, INTEGER_OPTIONS, ModelSpec


def _combinations() -> list[str]:
    """Every registered model alone and with each registered variant and input (canonical spelling)."""
    return [m + suffix for m in sorted(MODELS) for suffix in ["", *(f"+{v}" for v in sorted(VARIANTS) + sorted(INPUTS))]]


@pytest.mark.parametrize("text", _combinations())
def test_every_model_and_input_round_trips_through_its_canonical_string(text):
    try:
        spec = ModelSpec.parse(text)
    except SymbreakError as exc:  # the one combination refused from signatures alone: an axial input for a model that reads none
        assert "+sbs-axial" in text and "reads no pseudovector (axial) inputs" in str(exc)
        return
    assert str(spec) == text and ModelSpec.parse(str(spec)) == spec
    assert spec.name in MODELS and all(v in VARIANTS or v in INPUTS for v in spec.variants)
    # other spellings of the same model print the same canonical string
    assert str(ModelSpec.parse(text.upper())) == text and str(ModelSpec.parse(f"  {text}[]  ")) == text


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        ("sann[layers=3,num_radial=6]", "sann[layers=3, num_radial=6]"),
        ("sann[num_radial=6, layers=3]", "sann[layers=3, num_radial=6]"),
        ("EGNN+Noise[sigma=0.1,hidden=32]", "egnn+noise[hidden=32, sigma=0.1]"),
        ("dimenet+mlp", "dimenet+++mlp"),  # the SANN paper's name for DimeNet++ with an MLP head
        ("DimeNet+++MLP", "dimenet+++mlp"),
        ("painn+randvec+mlp", "painn+randvec+mlp"),  # the order written is kept (and is part of the job's model settings)
        ("e3nn+sbs[target='Cs', proper=True]", "e3nn+sbs[proper=True, target='Cs']"),
        ("egnn+noise[sigma=0]", "egnn+noise[sigma=0]"),
    ],
)
def test_spellings_reach_one_canonical_string(text, canonical):
    spec = ModelSpec.parse(text)
    assert str(spec) == canonical and ModelSpec.parse(canonical) == spec and hash(spec) == hash(ModelSpec.parse(canonical))
    assert ModelSpec.parse(spec) is spec


def test_search_specs_are_canonical():
    """The search writes ``model[k=v, ...]`` (sorted, ``repr`` values): already the canonical form, so its job keys are the canonical strings."""
    from symbreak.bench._search import _spec

    for model, options in [("sann", {"layers": 3, "num_radial": 6, "num_spherical": 4}), ("egnn", {"hidden": 128, "layers": 5}), ("egnn", {})]:
        assert str(ModelSpec.parse(_spec(model, options))) == _spec(model, options)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("egnn++noise", r"'egnn\+\+noise': an empty variant name; '\+' separates variants"),
        ("egnn+", "an empty variant name"),
        ("+noise", "names no model"),
        ("egnn+nothing", "unknown variant 'nothing'"),
        ("gnn+noise", "unknown model 'gnn'"),
        ("egnn+noise+noise", "variant 'noise' given twice"),
        ("egnn+sbs-axial", "reads no pseudovector"),
        ("egnn[layers=0]", "egnn: layers must be an integer >= 1, got 0"),
        ("egnn[hidden=-1]", "egnn: hidden must be an integer >= 1, got -1"),
        ("egnn[layers=abc]", "option 'layers' in model spec 'egnn\\[layers=abc\\]': 'abc' is not a number"),
        ("egnn[layers='abc']", "egnn: layers must be an integer >= 1, got 'abc'"),
        ("egnn[layers=2.5]", "layers must be an integer >= 1, got 2.5"),
        ("egnn[layers=True]", "layers must be an integer >= 1, got True"),
        ("sann[num_radial=0]", "sann: num_radial must be an integer >= 1, got 0"),
        ("sann[num_spherical=0]", "num_spherical must be an integer >= 1"),
        ("dimenet++[num_spherical=0]", "dimenet\\+\\+: num_spherical must be an integer >= 1"),
        ("pet[heads=0]", "pet: heads must be an integer >= 1, got 0"),
        ("painn[num_rbf=0]", "num_rbf must be an integer >= 1"),
        ("egnn+mlp[head_hidden=0]", "egnn\\+mlp: head_hidden must be an integer >= 1"),
        ("e3nn[lmax=-1]", "lmax must be an integer >= 0"),
        ("egnn[cutoff=0.0]", "egnn: cutoff must be a number > 0"),
        ("sann[tol=-0.1]", "tol must be a number > 0"),
        ("egnn+noise[sigma=-0.1]", "sigma must be a number >= 0"),
        ("egnn[depth=3]", r"'egnn' takes no option\(s\) \['depth'\]"),
        ("egnn[layers]", "expected key=value"),
        ("egnn[[", "malformed model spec"),
    ],
)
def test_bad_specs_are_one_line_errors_naming_the_problem(text, message):
    with pytest.raises(SymbreakError, match=message) as info:
        ModelSpec.parse(text)
    assert "\n" not in str(info.value)
    with pytest.raises(SymbreakError, match=message):  # the same check wherever the spec is read
        build_model(text)


def test_options_given_as_arguments_are_checked_the_same_way():
    for options, message in [({"layers": 0}, "egnn: layers must be an integer >= 1, got 0"), ({"layers": -1}, "got -1"), ({"hidden": 0}, "hidden must be")]:
        with pytest.raises(SymbreakError, match=message):
            build_model("egnn", **options)
        with pytest.raises(SymbreakError, match=message):
            model_config("egnn", **options)
        with pytest.raises(SymbreakError, match=message):
            ModelSpec.parse("egnn").with_options(**options)
    with pytest.raises(SymbreakError, match="unknown model"):
        ModelSpec("nope")
    with pytest.raises(SymbreakError, match="must be an integer"):
        ModelSpec("egnn", (), {"layers": 0})  # made directly, checked the same


def test_every_integer_size_of_the_builtin_models_is_range_checked():
    """Every ``int`` option of a builtin factory (a size or count) is in INTEGER_OPTIONS, or knowingly left out (seeds, a choice's element)."""
    import inspect

    free = {"seed", "element"}
    for registry in (MODELS, VARIANTS, INPUTS):
        for name in registry.builtin_names():
            for p in inspect.signature(registry[name]).parameters.values():
                if p.default is not p.empty and type(p.default) is int:
                    assert p.name in INTEGER_OPTIONS or p.name in free, (name, p.name)


#: parameters of models built from these specs before ModelSpec existed (the same specs build the same models)
PARAMETERS = {
    "schnet": 64577, "dimenet++": 200577, "egnn": 122884, "painn": 167714, "painn-vector": 157313, "sann": 190857, "pet": 111233,
    "pet-invariant": 110865, "e3nn": 37456, "relaxed-e3nn": 37536, "egnn+mlp": 127431, "egnn+noise": 122884, "egnn+randvec": 123396,
    "egnn+sbs": 123396, "egnn+sympe": 123399, "egnn+canon": 123399, "dimenet+mlp": 205124, "painn+mlp": 184549, "sann+sbs": 191113,
    "e3nn+sbs-axial": 40784, "schnet+mlp": 69124,
}  # fmt: skip


def test_valid_specs_build_the_models_they_built_before():
    for text, count in PARAMETERS.items():
        model = build_model(text)
        assert sum(p.numel() for p in model.parameters()) == count, text
        assert model.spec == text  # the spec as written is what a checkpoint records
    assert ALIASES["dimenet"] == "dimenet++"

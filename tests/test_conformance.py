"""The conformance suite on every buildable model × variant × input of the registries (issue 26, item 5).

The tests live in :mod:`symbreak.testing` (:class:`~symbreak.testing.ModelConformance`), where a
plugin author subclasses them; here they run on every spec :func:`~symbreak.testing.conformance_specs`
generates, and what the registry refuses is listed by :func:`~symbreak.testing.refused_specs`.
"""

import pytest

from symbreak.models import INPUTS, MODELS, VARIANTS, ModelSpec
from symbreak.testing import InputConformance, ModelConformance, conformance_specs, refused_specs

SPECS = conformance_specs()

#: defects the suite found in models outside its own code, each an expected failure until fixed
KNOWN_FAILURES: dict[str, str] = {}


class TestEveryBuildableModel(ModelConformance):
    specs = SPECS
    known_failures = KNOWN_FAILURES


class TestAnInputOnEveryModel(InputConformance):
    """An input author's entry point (``input = "myinput"``), here on a slice the product above also covers."""

    input = "randvec"
    models = ["egnn", "schnet"]
    known_failures = KNOWN_FAILURES


def test_every_registered_name_is_covered_and_every_refusal_is_explained():
    parsed = [ModelSpec.parse(s) for s in SPECS]
    assert {s.name for s in parsed} == set(MODELS)
    assert {v for s in parsed for v in s.variants} == set(VARIANTS) | set(INPUTS)
    assert len(SPECS) == len(set(SPECS)) and all(str(ModelSpec.parse(s)) == s for s in SPECS)
    refused = refused_specs()
    assert not set(refused) & set(SPECS)
    assert all(error and "\n" not in error for error in refused.values())
    assert len(SPECS) + len(refused) == len(MODELS) * (len(VARIANTS) + 1) * (len(INPUTS) + 1)


@pytest.mark.parametrize(("spec", "message"), [
    ("egnn+sbs-axial", "reads no pseudovector"),
    ("pet+randvec", "cannot read vector inputs"),
    ("sann+mlp", "canonical frame"),
])  # fmt: skip
def test_refused_combinations_are_left_out_with_the_registry_error(spec, message):
    assert spec not in SPECS and message in refused_specs()[spec]


def test_a_plugin_subclass_is_parametrized_by_its_specs():
    class TestMine(ModelConformance):
        specs = ["egnn", "egnn+mlp"]

    (mark,) = [m for m in TestMine.pytestmark if m.name == "parametrize"]
    assert mark.args == ("model_spec", ["egnn", "egnn+mlp"])
    assert TestAnInputOnEveryModel.specs == ["egnn+randvec", "egnn+mlp+randvec", "egnn+noise+randvec", "schnet+randvec", "schnet+mlp+randvec", "schnet+noise+randvec"]

"""water-pet as a registered task: settings it cannot honour are refused before any training."""

import pytest

from symbreak import SymbreakError
from symbreak.bench import run_benchmark
from symbreak.cli import main


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"losses": ["mse"]}, "its loss is 'energy\\+forces'"),
        ({"folds": 3}, "--folds must be 1"),
        ({"limit": 5}, "--limit does not apply"),
        ({"save_models": True}, "--save-models does not apply"),
        ({"models": ["pet-invariant"]}, "runs its own models"),
    ],
)
def test_water_pet_refuses_what_it_cannot_honour(tmp_path, options, message):
    with pytest.raises(SymbreakError, match=message):
        run_benchmark("water-pet", quick=True, out=tmp_path, progress=False, **options)
    assert not (tmp_path / "results.jsonl").exists()  # nothing ran


def test_water_pet_is_listed_and_a_bad_report_path_fails_before_training(tmp_path, capsys):
    assert main(["bench", "--list"]) == 0
    assert "water-pet" in capsys.readouterr().out
    (tmp_path / "folder").mkdir()
    assert main(["bench", "square-ssb", "--quick", "--out", str(tmp_path / "run"), "--report", str(tmp_path / "folder")]) == 2
    assert "is a folder" in capsys.readouterr().err and not (tmp_path / "run").exists()

import numpy as np
import pytest
from hypothesis import settings

# scripts and plugins the tests run or import by path: not test modules (doctest collection would
# import them, running a training script and registering the plugin tasks twice)
collect_ignore = ["data"]

settings.register_profile("ci", max_examples=60, deadline=None, derandomize=True)
settings.load_profile("ci")


@pytest.fixture
def rng():
    return np.random.default_rng(20261122)


def all_group_names(max_n: int = 12) -> list[str]:
    names = ["C1", "Cs", "Ci", "T", "Td", "Th", "O", "Oh", "I", "Ih"]
    for n in range(2, max_n + 1):
        names += [f"C{n}", f"C{n}v", f"C{n}h", f"D{n}", f"D{n}h", f"D{n}d"]
        if n % 2 == 0 and n >= 4:
            names.append(f"S{n}")
    return names


@pytest.fixture
def float64():
    """Default dtype float64 (e3nn builds Wigner-D matrices and weights in it) and a seeded torch."""
    import torch

    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    torch.manual_seed(0)
    yield
    torch.set_default_dtype(old)

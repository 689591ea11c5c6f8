"""Build of the compiled detection core (plain C, loaded with ctypes); metadata lives in pyproject.toml.

The extension is optional: where no C compiler is found, symbreak runs its NumPy path instead.
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "symbreak.detect._ccore",
            ["src/symbreak/detect/_ccore.c"],
            extra_compile_args=["-O2", "-std=c99"],
            optional=True,
        )
    ]
)

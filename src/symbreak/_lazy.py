r"""Import on first use: keep ``import symbreak.models`` free of e3nn and torch-geometric.

Registries hold builtin entries as ``"module:attribute"`` strings and import them when an entry is
first read; packages expose their classes through a module ``__getattr__``. A missing optional
dependency then surfaces as one :class:`~symbreak.SymbreakError` naming the extra to install,
at the moment the feature is used, not as an ``ImportError`` at ``import symbreak``.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator, MutableMapping
from typing import Any

from ._errors import SymbreakError

__all__ = ["load", "LazyRegistry", "lazy_exports"]

#: the extra of pyproject.toml that installs each optional top-level package
EXTRAS = {"torch": "ml", "e3nn": "ml", "torch_geometric": "ml", "tqdm": "ml", "matplotlib": "ml", "tblite": "chem", "pyscf": "chem", "rdkit": "chem", "qm9pack": "qm9"}


def load(path: str) -> Any:
    """Import ``"package.module:attribute"``; a missing optional dependency names its extra."""
    module, _, attribute = path.partition(":")
    try:
        mod = importlib.import_module(module)
    except ModuleNotFoundError as exc:
        top = (exc.name or "").split(".")[0]
        if top in EXTRAS:
            raise SymbreakError(f"{attribute or module} needs {top}, which is not installed: pip install -e '.[{EXTRAS[top]}]' (in a clone of symbreak)") from exc
        raise
    return getattr(mod, attribute) if attribute else mod


class LazyRegistry(MutableMapping):
    """name → object, where builtin entries are ``"module:attribute"`` strings imported when read.

    Listing names (``sorted(registry)``, ``name in registry``) imports nothing.
    """

    def __init__(self, kind: str, builtin: dict[str, str]) -> None:
        self.kind = kind
        self._entries: dict[str, Any] = dict(builtin)
        self._builtin = tuple(builtin)

    def builtin_names(self) -> list[str]:
        """The names symbreak ships (not those a plugin registered)."""
        return list(self._builtin)

    def __getitem__(self, name: str) -> Any:
        entry = self._entries[name]
        if isinstance(entry, str):
            entry = self._entries[name] = load(entry)
        return entry

    def __setitem__(self, name: str, value: Any) -> None:
        self._entries[name] = value

    def __delitem__(self, name: str) -> None:
        del self._entries[name]

    def __contains__(self, name: object) -> bool:  # without importing: Mapping's would read the entry
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def register(self, name: str, obj: Any) -> None:
        """Add ``obj`` as ``name``; a builtin's own module registering it again (on import) is no clash."""
        entry = self._entries.get(name)
        if entry is None or entry is obj:
            self._entries[name] = obj
            return
        if isinstance(entry, str) and entry == f"{getattr(obj, '__module__', '')}:{getattr(obj, '__name__', '')}":
            self._entries[name] = obj
            return
        raise ValueError(f"{self.kind} {name!r} is already registered")


def lazy_exports(package: str, exports: dict[str, str]) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``(__getattr__, __dir__)`` for a package whose names (``exports``: name → submodule) load on first use."""

    def __getattr__(name: str) -> Any:
        if name not in exports:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return load(f"{package}.{exports[name]}:{name}")

    def __dir__() -> list[str]:
        return sorted(exports)

    return __getattr__, __dir__

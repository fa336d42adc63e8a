"""pyups.lean: a library imported without a module it would load, which stays importable."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from pyups.lean import import_without

LIBRARY = """
try:
    import lean_probe_extra
    HAS_EXTRA = True
except ImportError:
    HAS_EXTRA = False
"""


@pytest.fixture
def probe(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    (tmp_path / "lean_probe_library.py").write_text(LIBRARY)
    (tmp_path / "lean_probe_extra.py").write_text("LOADED = True\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    yield
    for name in ("lean_probe_library", "lean_probe_extra"):
        sys.modules.pop(name, None)


def test_the_library_takes_its_fallback_and_the_module_is_importable_afterwards(
    probe: None,
) -> None:
    library = import_without("lean_probe_library", "lean_probe_extra")
    assert library.HAS_EXTRA is False
    assert "lean_probe_extra" not in sys.modules
    import lean_probe_extra  # type: ignore[import-not-found]

    assert lean_probe_extra.LOADED is True


def test_a_module_already_loaded_is_not_hidden(probe: None) -> None:
    import lean_probe_extra

    library = import_without("lean_probe_library", "lean_probe_extra")
    assert library.HAS_EXTRA is True
    assert sys.modules["lean_probe_extra"] is lean_probe_extra


def test_a_failing_import_still_unhides(probe: None) -> None:
    with pytest.raises(ModuleNotFoundError):
        import_without("lean_probe_no_such_library", "lean_probe_extra")
    assert "lean_probe_extra" not in sys.modules

"""pytest imports test modules by their file name (the folders have no __init__.py): two test
files with one name stop the whole suite at collection, in CI, after every other check passed."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

TESTS = Path(__file__).parent


def test_every_test_module_has_a_name_of_its_own():
    names = Counter(path.name for path in TESTS.rglob("test_*.py") if "apps" not in path.parts)
    assert [name for name, count in names.items() if count > 1] == []

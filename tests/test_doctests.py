"""Every docstring example in the package runs and shows what it claims.

Examples that need a running server are marked ``+SKIP`` in the docstring itself and are not
counted here; everything else must pass.
"""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import brainbucket

MODULES = sorted(m.name for m in pkgutil.walk_packages(brainbucket.__path__, prefix="brainbucket."))


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples failed in {name}"


def test_there_are_examples() -> None:
    finder = doctest.DocTestFinder()
    count = sum(
        len(t.examples) for name in MODULES for t in finder.find(importlib.import_module(name))
    )
    assert count >= 50

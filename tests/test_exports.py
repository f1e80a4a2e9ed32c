"""The public API is exactly what ``__all__`` says, sorted and complete."""

from __future__ import annotations

import types

import brainbucket


def test_all_is_sorted_and_unique() -> None:
    assert list(brainbucket.__all__) == sorted(set(brainbucket.__all__))


def test_all_names_exist() -> None:
    for name in brainbucket.__all__:
        assert hasattr(brainbucket, name), name


def test_every_public_name_is_exported() -> None:
    public = {
        name
        for name, value in vars(brainbucket).items()
        if not name.startswith("_") and not isinstance(value, types.ModuleType)
    }
    assert public <= set(brainbucket.__all__), sorted(public - set(brainbucket.__all__))


def test_every_error_is_in_one_tree_with_a_builtin_twin() -> None:
    errors = [getattr(brainbucket, n) for n in brainbucket.__all__ if n.endswith("Error")]
    assert brainbucket.BrainbucketError in errors
    for cls in errors:
        assert issubclass(cls, brainbucket.BrainbucketError)
        assert isinstance(cls.exit_code, int)
        assert cls.exit_code > 0
    assert issubclass(brainbucket.NotFoundError, FileNotFoundError)
    assert issubclass(brainbucket.AccessDeniedError, PermissionError)
    assert issubclass(brainbucket.EndpointError, ConnectionError)
    # The module docstring draws every class.
    doc = brainbucket._exceptions.__doc__ or ""
    for cls in errors:
        assert cls.__name__ in doc, cls.__name__

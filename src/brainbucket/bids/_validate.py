"""Check a study's names against the BIDS schema: one problem per line, with the rule broken."""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from typing import Any

from .._exceptions import ValidationError
from ._schema import BIDSFile, Vocabulary, parse_key, vocabulary
from ._study import Study

__all__ = ["Problem", "check_valid", "validate"]


@dataclass(frozen=True)
class Problem:
    """One naming or layout problem.

    Attributes
    ----------
    path
        The file (relative to the study root), or ``""`` for the dataset as a whole.
    rule
        The schema rule broken (``rules.files.raw.anat.nonparametric``,
        ``rules.files.common.core.dataset_description``, ``entities`` ...).
    message
        What is wrong, in one line.
    """

    path: str
    rule: str
    message: str

    def __str__(self) -> str:
        return f"{self.path or '.'}: {self.message} [{self.rule}]"

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "rule": self.rule, "message": self.message}


def _ignored(path: str, patterns: list[str]) -> bool:
    for pat in patterns:
        p = pat.rstrip("/")
        anchored = p.lstrip("/")
        if fnmatch.fnmatch(path, anchored) or fnmatch.fnmatch(path, anchored + "/*"):
            return True
        if not p.startswith("/") and (
            fnmatch.fnmatch(path.rsplit("/", 1)[-1], p)
            or fnmatch.fnmatch(path, "*/" + p)
            or fnmatch.fnmatch(path, "*/" + p + "/*")
            or fnmatch.fnmatch(path, p + "/*")
        ):
            return True
    return False


def _bidsignore(study: Study) -> list[str]:
    path = study.index.root + ".bidsignore"
    if path not in study.index.by_path:
        return []
    text = study.read_bytes(path).decode("utf-8", "replace")
    return [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.startswith("#")]


def _check_raw_rules(f: BIDSFile, rel: str, voc: Vocabulary) -> Problem | None:
    """The raw-data file rules of the schema for one file below ``sub-*/``."""
    dt = f.datatype or ""
    rules = voc.raw_rules.get((dt, f.suffix or ""), [])
    if not rules:
        where = f"datatype '{dt}'" if dt else "a subject or session folder"
        return Problem(
            rel,
            f"rules.files.raw.{dt or 'common'}",
            f"suffix '{f.suffix}' is not allowed in {where}",
        )
    ext = f.extension or ""
    fitting = [r for r in rules if r.allows_extension(ext)]
    if not fitting:
        allowed = sorted({e for r in rules for e in r.extensions})
        return Problem(
            rel,
            rules[0].name,
            f"extension '{ext}' is not allowed for {f.suffix} (allowed: {', '.join(allowed)})",
        )
    best: Problem | None = None
    for r in fitting:
        extra = [k for k in f.entities if k not in r.entities]
        missing = [k for k, lvl in r.entities.items() if lvl == "required" and k not in f.entities]
        if not extra and not missing:
            return None
        if best is None:
            short = voc.entity_short
            if extra:
                msg = f"entity '{short.get(extra[0], extra[0])}' is not allowed for {f.suffix}"
            else:
                msg = f"required entity '{short.get(missing[0], missing[0])}' is missing"
            best = Problem(rel, r.name, msg)
    return best


def validate(study: Study | Any) -> list[Problem]:
    """Every naming problem of a study, checked against the official BIDS schema.

    Raw data below ``sub-*/`` is checked against the schema's file rules (datatype, suffix,
    extension, allowed and required entities, entity order, inherited sidecars); dataset-level
    files against the core rules. Derivatives (``derivatives/<pipeline>/`` and datasets whose
    ``DatasetType`` is ``derivative``) may name files their own way; only a file contradicting
    its subject folder is flagged there. ``.bidsignore`` and hidden files are skipped.

    Parameters
    ----------
    study
        A :class:`Study`, or anything ``Study()`` accepts (URL or folder).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from brainbucket._demo import build_demo_study
    >>> root = build_demo_study(pathlib.Path(tempfile.mkdtemp()) / "s", subjects=1)
    >>> validate(root)
    []
    >>> _ = (root / "sub-01" / "ses-01" / "anat" / "sub-01_ses-01_T1.nii").write_bytes(b"")
    >>> [str(p) for p in validate(root)]
    ["sub-01/ses-01/anat/sub-01_ses-01_T1.nii: 'T1' is not a BIDS suffix [suffixes]"]
    """
    if not isinstance(study, Study):
        study = Study(study)
    voc = vocabulary()
    index = study.index
    root = index.root
    ignore = _bidsignore(study)
    derivative = _is_derivative(study)
    problems: list[Problem] = []
    if root + "dataset_description.json" not in index.by_path:
        problems.append(
            Problem(
                "",
                "rules.files.common.core.dataset_description",
                "dataset_description.json is missing",
            )
        )
    if not index.by_subject and not derivative:
        problems.append(
            Problem(
                "", "rules.directories", "no sub-<label>/ folder: the study holds no subject data"
            )
        )
    for f in index.files:
        rel = f.path[len(root) :] if f.path.startswith(root) else f.path
        if ignore and _ignored(rel, ignore):
            continue
        if derivative and f.path.startswith(root):
            f = parse_key(rel, voc, derivative=True)
        problem = _check_file(f, rel, voc, derivative)
        if problem is not None:
            problems.append(problem)
    return problems


def _is_derivative(study: Study) -> bool:
    import json

    path = study.index.root + "dataset_description.json"
    if path not in study.index.by_path:
        return False
    try:
        desc = json.loads(study.read_bytes(path))
    except ValueError:
        return False
    return isinstance(desc, dict) and desc.get("DatasetType") == "derivative"


def _check_file(f: BIDSFile, rel: str, voc: Vocabulary, derivative: bool) -> Problem | None:
    if rel.rsplit("/", 1)[-1].startswith("."):
        return None  # hidden files are not part of the dataset's naming
    if f.problem is not None:
        if (derivative or f.pipeline is not None) and not f.problem.startswith("file name says"):
            # Derivatives may name things their own way (reports, logs, pipeline-specific
            # entities); only a file contradicting its subject folder is flagged.
            return None
        return Problem(rel, _rule_of(f.problem), f.problem)
    if derivative:
        return None
    if f.level == "template" and f.pipeline is None:
        return Problem(
            rel,
            "rules.directories.derivative.template",
            "a tpl-<label>/ template folder belongs to a derivative dataset "
            '(DatasetType "derivative" in dataset_description.json)',
        )
    if f.level == "subject" and f.pipeline is None:
        return _check_raw_rules(f, rel, voc)
    if f.level == "dataset" and f.pipeline is None:
        stem = rel.split(".", 1)[0]
        if stem in voc.top_level_stems:
            return None
        # Top-level sidecars follow the inheritance principle: known suffix, known entities.
        if f.suffix is None or f.suffix not in voc.suffixes:
            return Problem(rel, "rules.files.common.core", "not a BIDS dataset-level file")
        unknown = [k for k in f.entities if k not in voc.entity_order]
        if unknown:
            return Problem(rel, "entities", f"'{unknown[0]}' is not a BIDS entity")
    return None


def _rule_of(problem: str) -> str:
    if "entity" in problem or "entities" in problem or "key-value" in problem:
        return "entities"
    if "suffix" in problem:
        return "suffixes"
    if "datatype" in problem or "folder" in problem or "nested" in problem:
        return "rules.directories"
    if "sub-" in problem or "ses-" in problem:
        return "rules.files.raw (subject/session in name and folder)"
    return "rules.files"


def check_valid(study: Study | Any) -> None:
    """Raise :class:`ValidationError` naming the first problems if the study is not valid.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from brainbucket._demo import build_demo_study
    >>> check_valid(build_demo_study(pathlib.Path(tempfile.mkdtemp()) / "s", subjects=1))
    """
    problems = validate(study)
    if problems:
        first = "; ".join(str(p) for p in problems[:3])
        more = f" (and {len(problems) - 3} more)" if len(problems) > 3 else ""
        msg = f"{len(problems)} BIDS problem(s): {first}{more}"
        raise ValidationError(msg)

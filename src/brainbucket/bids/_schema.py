"""The BIDS vocabulary, compiled once from the official schema, and a fast key parser.

The schema (``bidsschematools``) is loaded once per process and boiled down to plain sets and
dicts: entity short names → long names and their order, datatypes, suffixes, extensions, and
the raw-data filename rules. Parsing a key is then a few string splits and dict lookups — no
schema call and no regular expression per file — and :class:`~._keyparser.KeyParser` parses
each shape of key once, so 100,000 keys index in well under a second.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any

__all__ = ["BIDSFile", "Vocabulary", "parse_key", "vocabulary"]

# Folders a BIDS dataset may hold at its root besides sub-*/ (rules.files.common.core).
DATASET_FOLDERS = frozenset(
    {"code", "derivatives", "docs", "logs", "sourcedata", "stimuli", "phenotype"}
)


# Sidecar extensions the inheritance principle applies to (as bidsschematools has them).
_HERITABLE = frozenset({".tsv", ".json", ".bval", ".bvec"})


@dataclass(frozen=True)
class FileRule:
    """One raw-data filename rule of the schema (e.g. ``rules.files.raw.anat.nonparametric``)."""

    name: str
    datatypes: frozenset[str]
    suffixes: frozenset[str]
    extensions: frozenset[str]
    entities: dict[str, str]  # long name → "required" | "optional" | ...

    def allows_extension(self, ext: str) -> bool:
        return (
            ext in self.extensions
            or ext + "/" in self.extensions  # folder-files such as .ome.zarr/
            or (".*" in self.extensions and ext.startswith("."))
        )


@dataclass(frozen=True)
class Vocabulary:
    """What the schema says names may contain, as plain Python containers."""

    bids_version: str
    entity_long: dict[str, str]  # "acq" → "acquisition"
    entity_short: dict[str, str]  # "acquisition" → "acq"
    entity_order: dict[str, int]  # long name → position in the canonical order
    entity_format: dict[str, str]  # long name → "label" | "index"
    datatypes: frozenset[str]
    suffixes: frozenset[str]
    extensions: frozenset[str]
    folder_extensions: frozenset[str]  # extensions of folders that are one BIDS file
    raw_rules: dict[tuple[str, str], list[FileRule]] = field(repr=False)
    top_level_stems: frozenset[str] = field(repr=False)

    def long_name(self, key: str) -> str:
        """Long entity name for a short one (``acq`` → ``acquisition``); unknown keys as is."""
        return self.entity_long.get(key, key)


@functools.lru_cache(maxsize=1)
def vocabulary() -> Vocabulary:
    """The compiled vocabulary of the installed BIDS schema (loaded once per process).

    Examples
    --------
    >>> v = vocabulary()
    >>> v.entity_long["ses"], "dwi" in v.datatypes, "T1w" in v.suffixes
    ('session', True, True)
    """
    from bidsschematools import schema as bst_schema

    sch = bst_schema.load_schema()
    ents = sch.objects.entities
    entity_long = {ents[k]["name"]: k for k in ents}
    entity_short = {k: ents[k]["name"] for k in ents}
    order = {name: i for i, name in enumerate(sch.rules.entities)}
    formats = {k: str(ents[k].get("format", "label")) for k in ents}
    datatypes = frozenset(v["value"] for v in sch.objects.datatypes.values())
    suffixes = frozenset(v["value"] for v in sch.objects.suffixes.values())
    all_exts = {str(v["value"]) for v in sch.objects.extensions.values()}
    extensions = frozenset(all_exts - {"", "/", ".*"})
    folder_exts = frozenset(e.rstrip("/") for e in all_exts if e.endswith("/") and e != "/")
    rules: dict[tuple[str, str], list[FileRule]] = {}
    groups = [("raw", sch.rules.files.raw), ("common.tables", sch.rules.files.common.tables)]
    for prefix, group in groups:
        for gname, sub in group.items():
            candidates = [(gname, sub)] if "extensions" in sub else list(sub.items())
            for rname, r in candidates:
                if "suffixes" not in r or "entities" not in r:
                    continue  # stem- and path-rules are checked separately
                name = f"rules.files.{prefix}.{gname}" + (f".{rname}" if rname != gname else "")
                ents_of = {
                    k: (v if isinstance(v, str) else str(v.get("level", "optional")))
                    for k, v in r["entities"].items()
                }
                rule = FileRule(
                    name=name,
                    datatypes=frozenset(r.get("datatypes", ())) or frozenset({""}),
                    suffixes=frozenset(r["suffixes"]),
                    extensions=frozenset(r["extensions"]),
                    entities=ents_of,
                )
                variants = [rule]
                sidecar_exts = rule.extensions & _HERITABLE
                if sidecar_exts and "" not in rule.datatypes:
                    # The inheritance principle: sidecars may also sit in the subject or
                    # session folder, with any subset of the entities.
                    variants.append(
                        FileRule(
                            name=name + " (inherited sidecar)",
                            datatypes=frozenset({""}),
                            suffixes=rule.suffixes,
                            extensions=sidecar_exts,
                            entities={k: "optional" for k in ents_of},
                        )
                    )
                for variant in variants:
                    for dt in variant.datatypes:
                        for sfx in variant.suffixes:
                            rules.setdefault((dt, sfx), []).append(variant)
    stems = {"dataset_description", "participants", "samples", "genetic_info", "CITATION"}
    stems |= {"README", "CHANGES", "LICENSE"}
    return Vocabulary(
        bids_version=str(sch["bids_version"]),
        entity_long=entity_long,
        entity_short=entity_short,
        entity_order=order,
        entity_format=formats,
        datatypes=datatypes,
        suffixes=suffixes,
        extensions=extensions,
        folder_extensions=folder_exts,
        raw_rules=rules,
        top_level_stems=frozenset(stems),
    )


@dataclass(slots=True)
class BIDSFile:
    """One file of a study, with the BIDS entities its key carries.

    Attributes
    ----------
    path
        Path relative to the study root (the store URL), ``/``-separated.
    size, etag, version_id, sha256
        What the listing or manifest says about the remote object.
    subject, session, datatype
        From the ``sub-*/ses-*/<datatype>/`` folders, or the datatype of a template's
        ``tpl-*/[cohort-*/]<datatype>/`` folders (``None`` when absent). A file at the root of
        the study or of a pipeline whose name starts with ``sub-<label>`` (``sub-03.html``,
        the report fMRIPrep and QSIPrep write) belongs to that subject.
    suffix, extension
        From the file name (``T1w``, ``.nii.gz``).
    entities
        Every ``key-value`` pair of the file name, by long name (``acquisition``), values as
        written (``run`` stays ``"01"``).
    pipeline
        ``fmriprep`` for ``derivatives/fmriprep/...``; ``None`` for raw data.
    level
        ``"dataset"`` (a file at the root of the study or of a pipeline), ``"subject"``
        (below ``sub-*/``, or a subject's own file at such a root), ``"template"`` (below a
        BEP038 template folder ``tpl-*/``) or ``"other"`` (``code/``, ``sourcedata/``,
        hidden files ...).
    problem
        Why the name is not plain BIDS (``None`` when it is); such files are kept.
    """

    path: str
    size: int = 0
    etag: str | None = None
    version_id: str | None = None
    sha256: str | None = None
    subject: str | None = None
    session: str | None = None
    datatype: str | None = None
    suffix: str | None = None
    extension: str | None = None
    entities: dict[str, str] = field(default_factory=dict)
    pipeline: str | None = None
    level: str = "other"
    problem: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "size": self.size,
            "subject": self.subject,
            "session": self.session,
            "datatype": self.datatype,
            "suffix": self.suffix,
            "extension": self.extension,
            "entities": dict(self.entities),
            "pipeline": self.pipeline,
            "level": self.level,
            "problem": self.problem,
        }


def _split_name(name: str) -> tuple[str, str]:
    """``sub-01_T1w.nii.gz`` → (``sub-01_T1w``, ``.nii.gz``). Labels hold no dots, so the
    first dot starts the extension."""
    dot = name.find(".")
    if dot <= 0:
        return name, ""
    return name[:dot], name[dot:]


def _parse_name(name: str, voc: Vocabulary) -> tuple[dict[str, str], str | None, str, str | None]:
    """Entities, suffix, extension and a problem (or None) of one file name."""
    stem, ext = _split_name(name)
    chunks = stem.split("_")
    last = chunks[-1]
    entities: dict[str, str] = {}
    problem: str | None = None
    if "-" in last:  # no suffix: every chunk is an entity, e.g. "sub-01.html"
        suffix = None
        pairs = chunks
        problem = "file name has no suffix"
    else:
        suffix = last
        pairs = chunks[:-1]
    long_of = voc.entity_long
    for chunk in pairs:
        key, sep, value = chunk.partition("-")
        if not sep or not key or not value:
            return {}, None, ext, f"'{chunk}' is not a key-value entity"
        entities[long_of.get(key, key)] = value
    return entities, suffix, ext, problem


def parse_key(path: str, voc: Vocabulary | None = None, *, derivative: bool = False) -> BIDSFile:
    """Parse a path relative to the dataset root into a :class:`BIDSFile`.

    Only the file name and the ``sub-*/ses-*/<datatype>`` folders at their expected places
    carry entities; any other folder name (e.g. ``atlas-4S/`` above a dataset) is never read as
    one. ``derivative=True`` (a dataset whose ``DatasetType`` is ``derivative``) accepts the
    extra entities, suffixes and folders pipelines write.

    Examples
    --------
    >>> f = parse_key("sub-01/ses-1/dwi/sub-01_ses-1_acq-multi_dwi.nii.gz")
    >>> f.subject, f.session, f.datatype, f.suffix, f.extension, f.entities["acquisition"]
    ('01', '1', 'dwi', 'dwi', '.nii.gz', 'multi')
    >>> parse_key("derivatives/dmriprep/sub-02/dwi/sub-02_desc-preproc_dwi.nii.gz").pipeline
    'dmriprep'
    """
    voc = voc or vocabulary()
    f = BIDSFile(path)
    parts = path.split("/")
    if parts[0] == "derivatives":
        if len(parts) < 3:
            f.problem = "file directly under derivatives/ (expected derivatives/<pipeline>/)"
            return f
        f.pipeline = parts[1]
        parts = parts[2:]
    name = parts[-1]
    dirs = parts[:-1]
    lenient = derivative or f.pipeline is not None
    if dirs and dirs[0].startswith("sub-"):
        f.level = "subject"
        f.subject = dirs[0][4:]
        i = 1
        if len(dirs) > 1 and dirs[1].startswith("ses-"):
            f.session = dirs[1][4:]
            i = 2
        name = _datatype_folder(f, dirs, i, name, voc, lenient)
        if name.startswith("."):
            return f  # hidden files (.DS_Store ...) belong to the subject, carry no entities
    elif dirs and dirs[0].startswith("tpl-") and len(dirs[0]) > 4:
        # A BEP038 template (rules.directories.derivative.template): tpl-<label>/, then an
        # optional cohort-<label>/, then a datatype folder or none (TemplateFlow's layout).
        # Templates live in derivative datasets, where pipelines may nest as they like.
        f.level = "template"
        i = 2 if len(dirs) > 1 and dirs[1].startswith("cohort-") else 1
        name = _datatype_folder(f, dirs, i, name, voc, lenient=True)
        if name.startswith("."):
            return f
    elif name.startswith("."):
        return f  # hidden files (.bidsignore, ...) are "other", not problems
    elif not dirs:
        f.level = "dataset"
        subject = _subject_of_root_file(name)
        if subject is not None:
            # sub-03.html at the root of a pipeline (fMRIPrep's, QSIPrep's report) is sub-03's,
            # as pybids and pyAFQ's S3BIDSStudy (a key-prefix match on sub-03) have it.
            f.level = "subject"
            f.subject = subject
    else:
        if dirs[0] not in DATASET_FOLDERS and f.pipeline is None and not derivative:
            f.problem = f"'{dirs[0]}/' is not a BIDS folder"
        return f
    if f.level == "dataset" and _split_name(name)[0] in voc.top_level_stems:
        f.extension = _split_name(name)[1]
        return f  # dataset_description.json, README, participants.tsv ...: no entities
    f.entities, f.suffix, f.extension, problem = _parse_name(name, voc)
    if f.level == "subject":
        if dirs:
            problem = problem or _check_subject_file(f, voc, derivative)
        elif not lenient:
            problem = problem or f"file of sub-{f.subject} outside its sub-{f.subject}/ folder"
    elif f.level == "template":
        problem = problem or _check_template_file(f, dirs)
    f.problem = f.problem or problem
    return f


def _datatype_folder(
    f: BIDSFile, dirs: list[str], i: int, name: str, voc: Vocabulary, lenient: bool
) -> str:
    """Read the datatype folder at ``dirs[i]`` into ``f``; the name that carries the entities
    (a folder-file's own name for a file inside it, else ``name``)."""
    if len(dirs) <= i:
        return name
    if dirs[i] in voc.datatypes:
        f.datatype = dirs[i]
        if len(dirs) > i + 1:
            if _split_name(dirs[i + 1])[1] in voc.folder_extensions:
                return dirs[i + 1]  # a file of a folder-file (.ome.zarr/, .ds/ ...)
            if not lenient:
                f.problem = "file nested below the datatype folder"
    elif not lenient:
        f.problem = f"'{dirs[i]}' is not a BIDS datatype folder"
    return name


def _subject_of_root_file(name: str) -> str | None:
    """The subject a file at the root of a study or pipeline belongs to, from its first
    entity: ``sub-03.html`` and ``sub-03_desc-summary.html`` are sub-03's; else ``None``.

    Examples
    --------
    >>> _subject_of_root_file("sub-03.html"), _subject_of_root_file("sub-03_report.html")
    ('03', '03')
    >>> _subject_of_root_file("participants.tsv") is None, _subject_of_root_file("sub-.x")
    (True, None)
    """
    if not name.startswith("sub-"):
        return None
    end = len(name)
    for stop in ("_", "."):
        at = name.find(stop, 4)
        if at >= 0:
            end = min(end, at)
    label = name[4:end]
    return label if label.isalnum() else None


def _check_template_file(f: BIDSFile, dirs: list[str]) -> str | None:
    """Only a contradiction counts (templates are derivatives): the name's template or cohort
    is not its folder's, or it names none."""
    folder = dirs[0][4:]
    named = f.entities.get("template")
    if named != folder:
        if named is None:
            return f"file name lacks tpl-{folder} of its folder"
        return f"file name says tpl-{named} inside the tpl-{folder} folder"
    if len(dirs) > 1 and dirs[1].startswith("cohort-"):
        cohort = dirs[1][7:]
        if f.entities.get("cohort") != cohort:
            return f"file name lacks cohort-{cohort} of its folder"
    return None


def _check_subject_file(f: BIDSFile, voc: Vocabulary, derivative: bool) -> str | None:
    ents = f.entities
    if f.pipeline is not None or derivative:
        # Pipelines also write logs and reports below sub-*/; only a contradiction counts.
        if "subject" in ents and ents["subject"] != f.subject:
            return f"file name says sub-{ents['subject']} inside the sub-{f.subject} folder"
        return None
    if ents.get("subject") != f.subject:
        return f"file name does not start with sub-{f.subject}"
    if f.session is not None and ents.get("session") != f.session:
        return f"file name lacks ses-{f.session} of its folder"
    order = voc.entity_order
    last = -1
    for key in ents:
        pos = order.get(key)
        if pos is None:
            return f"'{voc.entity_short.get(key, key)}' is not a BIDS entity"
        if pos < last:
            return "entities are not in the order the BIDS schema requires"
        last = pos
    if f.suffix is not None and f.suffix not in voc.suffixes:
        return f"'{f.suffix}' is not a BIDS suffix"
    return None

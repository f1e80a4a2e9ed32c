"""The BIDS vocabulary, compiled once from the official schema, and a fast key parser.

The schema (``bidsschematools``) is loaded once per process and boiled down to plain sets and
dicts: entity short names → long names and their order, datatypes, suffixes, extensions, and
the raw-data filename rules. Parsing a key is then a few string splits and dict lookups — no
schema call and no regular expression per file — so 100,000 keys index in well under a second.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any

__all__ = ["BIDSFile", "KeyParser", "Vocabulary", "parse_key", "vocabulary"]

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
        From the ``sub-*/ses-*/<datatype>/`` folders (``None`` when absent).
    suffix, extension
        From the file name (``T1w``, ``.nii.gz``).
    entities
        Every ``key-value`` pair of the file name, by long name (``acquisition``), values as
        written (``run`` stays ``"01"``).
    pipeline
        ``fmriprep`` for ``derivatives/fmriprep/...``; ``None`` for raw data.
    level
        ``"dataset"`` (a file at the root of the study or of a pipeline), ``"subject"``
        (below ``sub-*/``) or ``"other"`` (``code/``, ``sourcedata/``, hidden files ...).
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
    if dirs and dirs[0].startswith("sub-"):
        f.level = "subject"
        f.subject = dirs[0][4:]
        i = 1
        if len(dirs) > 1 and dirs[1].startswith("ses-"):
            f.session = dirs[1][4:]
            i = 2
        lenient = derivative or f.pipeline is not None
        if len(dirs) > i:
            if dirs[i] in voc.datatypes:
                f.datatype = dirs[i]
                if len(dirs) > i + 1:
                    if _split_name(dirs[i + 1])[1] in voc.folder_extensions:
                        name = dirs[i + 1]  # a file of a folder-file (.ome.zarr/, .ds/ ...)
                    elif not lenient:
                        f.problem = "file nested below the datatype folder"
            elif not lenient:
                f.problem = f"'{dirs[i]}' is not a BIDS datatype folder"
        if name.startswith("."):
            return f  # hidden files (.DS_Store ...) belong to the subject, carry no entities
    elif name.startswith("."):
        return f  # hidden files (.bidsignore, ...) are "other", not problems
    elif not dirs:
        f.level = "dataset"
    else:
        if dirs[0] not in DATASET_FOLDERS and f.pipeline is None and not derivative:
            f.problem = f"'{dirs[0]}/' is not a BIDS folder"
        return f
    if f.level == "dataset" and _split_name(name)[0] in voc.top_level_stems:
        f.extension = _split_name(name)[1]
        return f  # dataset_description.json, README, participants.tsv ...: no entities
    f.entities, f.suffix, f.extension, problem = _parse_name(name, voc)
    if f.level == "subject":
        problem = problem or _check_subject_file(f, voc, derivative)
    f.problem = f.problem or problem
    return f


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


_SUB, _SES = "\x00", "\x01"  # placeholders: control characters never occur in parsed keys


class KeyParser:
    """:func:`parse_key` for many keys at once, memoised by the key's *shape*.

    A study repeats the same few name patterns for every subject and session
    (``sub-X/ses-Y/dwi/sub-X_ses-Y_dwi.nii.gz``). The subject and session labels of the
    folders are swapped for placeholders, the resulting template is parsed once, and every
    other key of that shape only fills the labels back in. The substitution is reversible, so
    the result is exactly what :func:`parse_key` gives — including the problems it reports.

    Examples
    --------
    >>> p = KeyParser()
    >>> [p.parse(f"sub-{i}/anat/sub-{i}_T1w.nii.gz").subject for i in ("01", "02")]
    ['01', '02']
    >>> len(p.templates)
    1
    """

    def __init__(self, voc: Vocabulary | None = None, *, derivative: bool = False) -> None:
        self.voc = voc or vocabulary()
        self.derivative = derivative
        # template → (parsed template, entity keys to fill with the subject, with the session,
        # and keys whose values hold a placeholder some other way)
        self.templates: dict[
            str, tuple[BIDSFile, tuple[str, ...], tuple[str, ...], tuple[str, ...]]
        ] = {}

    def _slow(self, path: str, full: str, remote: tuple[Any, ...]) -> BIDSFile:
        f = parse_key(path, self.voc, derivative=self.derivative)
        f.path = full
        f.size, f.etag, f.version_id, f.sha256 = remote
        return f

    def parse(
        self,
        path: str,
        full: str | None = None,
        remote: tuple[Any, ...] = (0, None, None, None),
    ) -> BIDSFile:
        """Parse ``path`` (relative to the dataset root); the result is named ``full`` (the
        store path) and carries ``remote`` = ``(size, etag, version_id, sha256)``."""
        full = path if full is None else full
        start = 0
        if path.startswith("derivatives/"):
            start = path.find("/", 12) + 1
            if start == 0:
                return self._slow(path, full, remote)
        if not path.startswith("sub-", start) or _SUB in path or _SES in path:
            return self._slow(path, full, remote)
        slash = path.find("/", start)
        if slash < 0 or slash == start + 4:
            return self._slow(path, full, remote)
        sub = path[start + 4 : slash]
        template = path.replace("sub-" + sub, "sub-" + _SUB)
        ses = ""
        at = slash + 1 + len(_SUB) - len(sub)
        if template.startswith("ses-", at):
            end = template.find("/", at + 4)
            if end > at + 4:
                ses = template[at + 4 : end]
                template = template.replace("ses-" + ses, "ses-" + _SES)
        entry = self.templates.get(template)
        if entry is None:
            proto = parse_key(template, self.voc, derivative=self.derivative)
            ents = proto.entities
            entry = self.templates[template] = (
                proto,
                tuple(k for k, v in ents.items() if v == _SUB),
                tuple(k for k, v in ents.items() if v == _SES),
                tuple(
                    k for k, v in ents.items() if v not in (_SUB, _SES) and (_SUB in v or _SES in v)
                ),
            )
        proto, sub_keys, ses_keys, other_keys = entry
        ents = proto.entities.copy()
        for k in sub_keys:
            ents[k] = sub
        for k in ses_keys:
            ents[k] = ses
        for k in other_keys:
            ents[k] = ents[k].replace(_SUB, sub).replace(_SES, ses)
        problem = proto.problem
        if problem is not None:
            problem = problem.replace(_SUB, sub).replace(_SES, ses)
        session = proto.session
        if session is not None:
            session = ses if session == _SES else session.replace(_SES, ses)
        size, etag, version_id, sha256 = remote
        return BIDSFile(
            full,
            size,
            etag,
            version_id,
            sha256,
            sub,
            session,
            proto.datatype,
            proto.suffix,
            proto.extension,
            ents,
            proto.pipeline,
            proto.level,
            problem,
        )

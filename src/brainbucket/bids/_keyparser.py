"""Many keys at once: :func:`parse_key` memoised by the shape of the key."""

from __future__ import annotations

from typing import Any

from ._schema import BIDSFile, Vocabulary, parse_key, vocabulary

__all__ = ["KeyParser"]

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

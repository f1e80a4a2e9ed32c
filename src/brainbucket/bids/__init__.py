"""BIDS-aware studies: entities from key names, queries, phenotype selection, validation.

Examples
--------
>>> from brainbucket.bids import parse_key
>>> parse_key("sub-01/anat/sub-01_T1w.nii.gz").suffix
'T1w'
"""

from ._index import StudyIndex, find_root
from ._query import Query
from ._schema import BIDSFile, parse_key, vocabulary
from ._select import Selection, selector
from ._study import Study
from ._validate import Problem, check_valid, validate

__all__ = [
    "BIDSFile",
    "Problem",
    "Query",
    "Selection",
    "Study",
    "StudyIndex",
    "check_valid",
    "find_root",
    "parse_key",
    "selector",
    "validate",
    "vocabulary",
]

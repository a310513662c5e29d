"""URFC data: synthetic generator, visit parser, prepare -> cache, and opening caches.

Only numpy, PIL and the stdlib here; the torch loader is ``ablate.data.loader``.
"""

from ablate.data._ensure import ensure_dataset, synthetic_key
from ablate.data.cache import CachedData, check_cache, open_cache
from ablate.data.prepare import Manifest, prepare_cache
from ablate.data.synthetic import write_synthetic
from ablate.data.visits import (
    PARSER_VERSION,
    ParsedVisits,
    VisitProblem,
    parse_visit_bytes,
    parse_visit_files,
)

__all__ = [
    "PARSER_VERSION",
    "CachedData",
    "Manifest",
    "ParsedVisits",
    "VisitProblem",
    "check_cache",
    "ensure_dataset",
    "open_cache",
    "parse_visit_bytes",
    "parse_visit_files",
    "prepare_cache",
    "synthetic_key",
    "write_synthetic",
]

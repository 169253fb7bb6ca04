"""Sources of evidence, registered by kind: `corpus:PATH` and `model`."""

from aios.discovery.sources.base import (
           SOURCES,
           Evidence,
           Source,
           SourceContext,
           parse_source,
           source,
)
from aios.discovery.sources.corpus import CorpusSource
from aios.discovery.sources.model import ModelSource

__all__ = ["SOURCES", "CorpusSource", "Evidence", "ModelSource", "Source", "SourceContext",
           "parse_source", "source"]

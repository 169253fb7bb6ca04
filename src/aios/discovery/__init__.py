"""The autonomous discovery agent: missions, sources, claims, a knowledge graph, curiosity.

A mission (`Mission`) names a question, its sources (`corpus:PATH`, `model`), a budget and
an autonomy level; `DiscoveryAgent` runs it step by step, choosing what to explore next by
a curiosity policy (UCB1), extracting (subject, relation, object) claims with provenance,
merging them into a `KnowledgeGraph`, and checkpointing everything in the store
(`DiscoveryStore`) so a mission can be resumed and a graph extended by later missions.
"""

from aios.discovery.agent import DiscoveryAgent, StepListener
from aios.discovery.autonomy import Approval, StepPlan, approval_needed
from aios.discovery.corpus import Document, Passage, chunk, load_corpus
from aios.discovery.curiosity import CuriosityPolicy, FrontierItem, information_gain
from aios.discovery.evaluate import GoldFact, load_gold, match_claims
from aios.discovery.export import EXPORTERS, export_graph
from aios.discovery.extract import Claim, Extraction, ModelExtractor, Provenance
from aios.discovery.graph import KnowledgeGraph, normalise
from aios.discovery.mission import Budget, CuriosityConfig, Mission, build_mission
from aios.discovery.patterns import PatternExtractor
from aios.discovery.retrieval import Embedder, HybridIndex
from aios.discovery.sources import SOURCES, CorpusSource, ModelSource, Source, parse_source
from aios.discovery.state import MissionResult, MissionState, StepRecord
from aios.discovery.store import DiscoveryStore, MissionRecord

__all__ = [
    "EXPORTERS",
    "SOURCES",
    "Approval",
    "Budget",
    "Claim",
    "CorpusSource",
    "CuriosityConfig",
    "CuriosityPolicy",
    "DiscoveryAgent",
    "DiscoveryStore",
    "Document",
    "Embedder",
    "Extraction",
    "FrontierItem",
    "GoldFact",
    "HybridIndex",
    "KnowledgeGraph",
    "Mission",
    "MissionRecord",
    "MissionResult",
    "MissionState",
    "ModelExtractor",
    "ModelSource",
    "Passage",
    "PatternExtractor",
    "Provenance",
    "Source",
    "StepListener",
    "StepPlan",
    "StepRecord",
    "approval_needed",
    "build_mission",
    "chunk",
    "export_graph",
    "information_gain",
    "load_corpus",
    "load_gold",
    "match_claims",
    "normalise",
    "parse_source",
]

"""Evaluation harness: compare a hunt's findings with ground truth (docs/EVALUATION.md).

``load_labels(path)`` understands three label formats (the simulator's ground truth, a
folder-per-tactic corpus, OTRF metadata); ``load_findings`` reads a result document;
``evaluate(labels, findings)`` returns an :class:`~chainbreaker.evaluate.metrics.Evaluation`.
"""

from chainbreaker.evaluate.findings import Finding, Findings, findings_from_document, load_findings
from chainbreaker.evaluate.labels import FileLabels, GroundTruth, Labels, TruthEvent, load_labels
from chainbreaker.evaluate.metrics import Evaluation, Score, evaluate

__all__ = [
    "Evaluation",
    "FileLabels",
    "Finding",
    "Findings",
    "GroundTruth",
    "Labels",
    "Score",
    "TruthEvent",
    "evaluate",
    "findings_from_document",
    "load_findings",
    "load_labels",
]

"""The detector interface: every detection engine (Sigma, analytics, intel, sensor verdicts).

The pipeline streams batches through all detectors, then asks each to finish. A detector
that needs the whole time line (beaconing, correlation rules, brute force over windows)
keeps the few columns it needs in ``observe`` and decides in ``finish``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

import polars as pl

from chainbreaker.alerts import Alert
from chainbreaker.detect.interest import Interest


class Detector(ABC):
    #: Registry key and what ``--list-detectors`` prints.
    name: str
    description: str = ""

    @abstractmethod
    def observe(self, batch: pl.DataFrame) -> list[Alert]:
        """Look at one batch; return alerts that one batch suffices to raise."""

    def finish(self) -> list[Alert]:
        """End of input: return alerts that needed the whole stream. Default: none."""
        return []

    def interest(self) -> Interest | None:
        """The rows and columns of a batch that ``observe`` reads (detect/interest.py).

        When every detector of a hunt declares one, the reader workers send only their union
        (``observe`` then sees that union: more than its own interest, never less). Default None:
        every row and column, the safe answer for a detector that reads anything.
        """
        return None

    def skipped_reasons(self) -> list[str]:
        """Why parts of this detector did not run (e.g. 'beaconing: no Zeek conn data')."""
        return []

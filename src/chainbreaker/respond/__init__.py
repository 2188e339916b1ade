"""Response guidance: where to break the chain, countermeasures per phase, containment lists."""

from chainbreaker.respond.containment import containment, domains_of
from chainbreaker.respond.countermeasures import break_at, guidance

__all__ = ["break_at", "containment", "domains_of", "guidance"]

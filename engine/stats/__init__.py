"""Statistics of a vector space: the report (`vector_stats`) and the modules it draws on."""

from .report import StatsOptions, vector_stats
from .schema import StatsReport

__all__ = ["StatsOptions", "StatsReport", "vector_stats"]

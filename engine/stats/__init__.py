"""Statistics of a vector space: the report (`vector_stats`) and the modules it draws on."""

from .report import StatsOptions, vector_stats

__all__ = ["StatsOptions", "vector_stats"]

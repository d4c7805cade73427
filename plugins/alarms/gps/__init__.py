"""GPS alarms: the Stigfinnare cloud's signed webhook (contracts/vendors/stigfinnare.md)."""

from .adapter import StigfinnareAdapter

__all__ = ["StigfinnareAdapter"]

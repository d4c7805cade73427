"""SCAIP receiver: social alarm units speaking SS 91100 over SIP."""

from .adapter import ScaipAdapter

__all__ = ["ScaipAdapter"]

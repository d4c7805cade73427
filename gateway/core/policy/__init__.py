"""Policies: who may make Navet act on a device, decided before anything is sent.

A policy answers one command with a :class:`Decision`: allowed with its basis
(the planned visit or dispatched alarm that makes it legitimate) or denied with
a reason a person can act on. The command path (:mod:`gateway.core.commands`)
audits every decision and turns a denial into an event.
"""

from .base import Decision, PolicyContext
from .locks import LockPolicy

__all__ = ["Decision", "LockPolicy", "PolicyContext"]

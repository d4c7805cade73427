"""Door locks for keyless home care (nyckelfri hemtjänst): two integration shapes.

- ``portvakt``: a lock vendor's cloud. Commands go to its REST API; access
  events come back as HMAC-signed webhooks, with a cursor feed to catch up on
  anything a webhook missed (contracts/vendors/portvakt.md).
- ``lasbro``: a vendor whose locks report through an on-site MQTT bridge.
  JSON events on vendor topics; commands published to a command topic and
  answered on a result topic (contracts/vendors/lasbro.md).

Both normalise to the same events (``lock.unlocked``, ``lock.locked``,
``lock.denied``, ``lock.jammed``, ``device.battery``, ``device.tamper``) through
:mod:`plugins.locks.normalise`, so a door behaves the same whoever made it.
Whether a command may be sent at all is decided by the core's lock policy
before ``execute`` is called.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from gateway import hookimpl

from .lasbro import LasbroAdapter
from .portvakt import PortvaktAdapter

if TYPE_CHECKING:
    from gateway import AdapterRegistry


@hookimpl
def navet_register_adapters(registry: AdapterRegistry) -> None:
    registry.add(PortvaktAdapter)
    registry.add(LasbroAdapter)

"""Night supervision cameras (digital tillsyn): a cloud vendor and an MQTT vendor.

- ``ugglan``: the Ugglan cloud. Navet starts a session through its REST API and
  gets a short-lived viewing URL back; session and camera events come back as
  HMAC-signed webhooks.
- ``vaktaren``: Vaktaren camera units driven over MQTT: session commands down,
  acknowledgements, session, privacy, fault and heartbeat reports up.

Both normalise to the same events (``supervision.started``, ``supervision.ended``,
``camera.privacy``, ``device.fault``, ``device.heartbeat``). Neither stores or logs
the viewing URL. Whether a session may start at all is decided by Navet's camera
policy before either adapter is asked.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from gateway import hookimpl

from .ugglan import UgglanAdapter
from .vaktaren import VaktarenAdapter

if TYPE_CHECKING:
    from gateway import AdapterRegistry


@hookimpl
def navet_register_adapters(registry: AdapterRegistry) -> None:
    registry.add(UgglanAdapter)
    registry.add(VaktarenAdapter)

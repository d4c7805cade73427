"""What the command and camera services use of the running gateway.

A Protocol, not ``Gateway`` itself, so ``gateway.core.commands`` and
``gateway.core.policy`` do not import the module that imports them (no import
cycle, ``lint-imports``); :class:`gateway.core.gateway.Gateway` satisfies it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from gateway.sdk.clock import Clock

    from .alarms import AlarmService
    from .directory import DeviceDirectory
    from .store import Store


class RunningGateway(Protocol):
    clock: Clock
    store: Store
    directory: DeviceDirectory
    alarms: AlarmService

    @property
    def hosts(self) -> Mapping[str, Any]:
        """Adapter hosts by instance id."""
        ...

    @property
    def adapter_instances(self) -> Mapping[str, Any]:
        """Running adapters by instance id."""
        ...

    async def emit(self, events: Any) -> None:
        """Store events Navet itself decides (source ``navet``) and run the rules on them."""
        ...

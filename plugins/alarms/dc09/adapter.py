"""The DC-09 adapter: a receiver for IP alarm transmitters (SIA DC-09 over TCP/UDP).

``start`` checks the accounts (a clear account, one without a key, is logged as
a warning at every start and refused in production unless it says
``allow_clear: true``) and opens the listeners (:mod:`.receiver`); ``decode`` turns one stored
frame into contract events and is pure, so a dead letter can be replayed
later with the same result. The raw frame is kept exactly as it came on the
wire (ciphertext included); decoding it again needs the account's key.
"""

from __future__ import annotations

import logging
from typing import Any, ClassVar

from gateway import (
    AdapterBase,
    AdapterHost,
    ConfigError,
    ContractError,
    DeviceKind,
    Event,
    Manifest,
    RawFrame,
)

from .const import ADAPTER
from .crypto import open_with_any
from .frame import Dc09Error, parse_frame
from .mapping import events_for
from .models import Dc09Settings
from .payloads import signals
from .receiver import Dc09Receiver

log = logging.getLogger(__name__)


class Dc09Adapter(AdapterBase):
    """Alarm panels and social alarm units reporting SIA-DCS / Contact ID over DC-09."""

    manifest: ClassVar[Manifest] = Manifest(
        name=ADAPTER,
        vendor="Any SIA DC-09 transmitter (ANSI/SIA DC-09-2007/2013)",
        description="IP alarm transmission: SIA-DCS and ADM-CID (Contact ID) over TCP/UDP, "
        "clear or AES-encrypted per account",
        device_kinds=(DeviceKind.SOCIAL_ALARM, DeviceKind.ALARM_PANEL),
        transports=("tcp", "udp"),
        contract=">=1.0,<2",
    )

    def __init__(self, settings: dict[str, Any] | None = None) -> None:
        super().__init__(settings)
        self.config = Dc09Settings.model_validate(self.settings)
        self.receiver: Dc09Receiver | None = None

    async def start(self, host: AdapterHost) -> None:
        self.check_accounts(getattr(host, "instance_id", ADAPTER),
                            production=getattr(host, "environment", "") == "production")
        self.receiver = Dc09Receiver(
            self.config, host, tenant=getattr(host, "tenant", ""),
            instance=getattr(host, "instance_id", ""),
        )
        await self.receiver.start()

    def check_accounts(self, instance: str, *, production: bool) -> None:
        """Warn about each account without a key; in production refuse them unless each
        says ``allow_clear: true``.

        :raises ConfigError: naming every clear account production refuses.
        """
        clear = self.config.clear_accounts()
        for acct in clear:
            log.warning("DC-09 %s: account %s has no AES key: anyone who knows the account "
                        "number can send alarms and restorals for it%s", instance, acct.account,
                        " (allowed by allow_clear)" if acct.allow_clear else
                        "; production refuses it unless it says allow_clear: true",
                        extra={"adapter": instance, "account": acct.account})
        refused = [a.account for a in clear if not a.allow_clear]
        if production and refused:
            raise ConfigError(
                f"DC-09 {instance}: production refuses account(s) {', '.join(refused)} without "
                "an AES key (anyone who knows an account number could send alarms for it): "
                "give each a key, or set allow_clear: true on the account to accept it in "
                "clear")

    async def stop(self) -> None:
        if self.receiver is not None:
            await self.receiver.stop()

    @property
    def tcp_address(self) -> tuple[str, int] | None:
        """Where the TCP listener is bound (useful with port 0)."""
        return self.receiver.tcp_address if self.receiver else None

    @property
    def udp_address(self) -> tuple[str, int] | None:
        return self.receiver.udp_address if self.receiver else None

    def listening(self) -> list[tuple[str, int]]:
        """The receiver's sockets: the outbound policy never sends anything to them."""
        return [a for a in (self.tcp_address, self.udp_address) if a is not None]

    def decode(self, frame: RawFrame) -> list[Event]:
        msg_frame = parse_frame(frame.payload)
        number = msg_frame.account
        account = self.config.account(number) if number else None
        if account is None:
            raise Dc09Error(f"account #{number or '?'} is not configured for this receiver",
                            device=number or None)
        if (account.tenant or frame.tenant) != frame.tenant:
            raise Dc09Error(f"account #{number} belongs to tenant {account.tenant}, "
                            f"not {frame.tenant}", device=number)
        keys = account.keys_bytes()
        if keys and not msg_frame.encrypted:
            raise Dc09Error(f"account #{number} has an AES key; its clear messages are refused",
                            device=number)
        message, _ = open_with_any(msg_frame, keys)
        try:
            return events_for(
                message, signals(message), tenant=frame.tenant, received=frame.received,
                device_kind=DeviceKind(account.device_kind),
            )
        except ContractError as err:
            raise Dc09Error(str(err), device=number) from err

"""A SIA DC-09 transmitter (alarm panel or social alarm unit) over TCP or UDP.

It does what transmitters in the field do: send SIA-DCS and ADM-CID events
and NULL supervision polls at an interval, clear or AES-encrypted per
account; repeat a message that got no answer (same bytes, so the receiver
sees a true retransmission); correct its clock from a NAK's timestamp and
send again; never repeat after DUH.

The framing, CRC and AES here are written independently of the receiver's
code in ``plugins/alarms/dc09`` on purpose, so a shared misunderstanding
cannot pass the tests unnoticed. Network waits are bounded real-time
timeouts; retry delays and poll intervals use the injected clock.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import re
import secrets
import string
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from gateway import Clock, SystemClock

FAMILY = "dc09"

_ANSWER = re.compile(
    r'^"(?P<star>\*?)(?P<token>ACK|NAK|DUH|RSP)"(?P<seq>\d{4})(?:R[0-9A-F]*)?L[0-9A-F]*'
    r"(?:#?[0-9A-F]*)?\[(?P<rest>.*)$"
)
_STAMP = re.compile(r"_(\d\d:\d\d:\d\d,\d\d-\d\d-\d{4})$")


def crc_arc(data: bytes) -> int:
    """CRC-16/ARC, bit by bit (the receiver uses a table; two ways to the same number)."""
    crc = 0
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
    return crc


def stamp(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%H:%M:%S,%m-%d-%Y")


@dataclass(frozen=True)
class Answer:
    """How one message ended: ``ACK``, ``DUH`` or ``none`` (no answer after all retries)."""

    kind: str
    seq: int
    attempts: int
    naks: int = 0
    raw: bytes | None = None


class Dc09Transmitter:
    """One account on one receiver address.

    :param key: AES key bytes (16/24/32) to encrypt with; ``None`` sends in clear.
    :param ack_timeout: real seconds to wait for an answer to one transmission.
    :param retries: extra transmissions after the first when no answer comes.
    :param retry_delay_s: clock seconds between transmissions (DC-09: 5-60 s).
    """

    def __init__(
        self,
        host: str,
        port: int,
        *,
        account: str,
        transport: str = "tcp",
        key: bytes | None = None,
        receiver: str | None = "1",
        line: str = "1",
        clock: Clock | None = None,
        ack_timeout: float = 10.0,
        retries: int = 3,
        retry_delay_s: float = 5.0,
        max_corrections: int = 2,
        first_seq: int = 1,
    ) -> None:
        if transport not in ("tcp", "udp"):
            raise ValueError(f"transport must be tcp or udp, got {transport!r}")
        self.host, self.port, self.transport = host, port, transport
        self.account, self.key, self.receiver, self.line = account, key, receiver, line
        self.clock: Clock = clock or SystemClock()
        self.ack_timeout, self.retries, self.retry_delay_s = ack_timeout, retries, retry_delay_s
        self.max_corrections = max_corrections
        self.offset = timedelta(0)
        self.sent: list[bytes] = []
        self.answers: list[Answer] = []
        self.garbled = 0
        """Answers that were not a valid ACK/NAK/DUH for the message sent."""
        self._seq = first_seq - 1
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._udp: asyncio.DatagramTransport | None = None
        self._inbox: asyncio.Queue[bytes] = asyncio.Queue()

    # ------------------------------------------------------------------ messages

    async def send_sia(self, code: str, zone: str = "", *, area: str | None = None,
                       text: str | None = None) -> Answer:
        """A SIA-DCS event, e.g. ``send_sia("MA", "012")`` for a medical alarm in zone 12."""
        blocks = [f"ri{area}"] if area else []
        blocks.append(code + zone + (f"^{text}^" if text else ""))
        return await self.send("SIA-DCS", f"#{self.account}|N" + "/".join(blocks))

    async def send_cid(self, event: str, *, qualifier: int = 1, group: str = "01",
                       zone: str = "001") -> Answer:
        """A Contact ID event, e.g. ``send_cid("100")`` for a medical alarm."""
        return await self.send("ADM-CID", f"#{self.account}|{qualifier}{event} {group} {zone}")

    async def poll(self) -> Answer:
        """A NULL supervision message."""
        return await self.send("NULL", "")

    async def supervise(self, interval_s: float, count: int | None = None) -> None:
        """Poll every ``interval_s`` clock seconds, ``count`` times (forever if None)."""
        done = 0
        while count is None or done < count:
            await self.poll()
            done += 1
            if count is None or done < count:
                await self.clock.sleep(interval_s)

    def next_seq(self) -> int:
        self._seq = self._seq % 9999 + 1  # 9998, 9999, 0001, ...
        return self._seq

    def frame(self, token: str, data: str, seq: int, when: datetime | None = None) -> bytes:
        """One frame for ``data`` (what goes between the brackets) at clock time + offset."""
        ts = "_" + stamp(when or (self.clock.now() + self.offset))
        header = f'"{"*" if self.key else ""}{token}"{seq:04d}'
        header += (f"R{self.receiver}" if self.receiver is not None else "") + f"L{self.line}"
        header += f"#{self.account}["
        if self.key is None:
            body = f"{header}{data}]{ts}"
        else:
            plain = ("|" + data if data else "") + "]" + ts
            pad = "".join(secrets.choice(string.ascii_letters)
                          for _ in range(-len(plain) % 16))
            enc = Cipher(algorithms.AES(self.key), modes.CBC(bytes(16))).encryptor()
            secret = enc.update((pad + plain).encode()) + enc.finalize()
            body = header + secret.hex().upper()
        raw = body.encode("ascii")
        return b"\n%04X%04X%s\r" % (crc_arc(raw), len(raw), raw)

    async def send(self, token: str, data: str) -> Answer:
        """Send one message until it is ACKed, DUHed or the retries run out."""
        seq = self.next_seq()
        raw = self.frame(token, data, seq)
        attempts = naks = 0
        while True:
            attempts += 1
            reply = await self._transmit(raw)
            kind, when = self._read_answer(reply, seq) if reply else ("none", None)
            if kind == "none" and reply:
                self.garbled += 1
            if kind in ("ACK", "DUH"):
                return self._done(Answer(kind, seq, attempts, naks, reply))
            if kind == "NAK" and when is not None and naks < self.max_corrections:
                naks += 1
                self.offset = when - self.clock.now()  # the receiver's clock is right
                raw = self.frame(token, data, seq)
                continue
            if attempts > self.retries:
                return self._done(Answer("none", seq, attempts, naks, reply))
            await self.clock.sleep(self.retry_delay_s)

    def _done(self, answer: Answer) -> Answer:
        self.answers.append(answer)
        return answer

    def _read_answer(self, reply: bytes, seq: int) -> tuple[str, datetime | None]:
        try:
            return self._parse_answer(reply, seq)
        except (ValueError, UnicodeError):
            return "none", None

    def _parse_answer(self, reply: bytes, seq: int) -> tuple[str, datetime | None]:
        body = reply.strip(b"\r\n")
        if len(body) < 9 or int(body[4:8] or b"0", 16) != len(body) - 8:
            return "none", None
        if f"{crc_arc(body[8:]):04X}".encode() != body[:4].upper():
            return "none", None
        m = _ANSWER.match(body[8:].decode("ascii", "replace"))
        if m is None:
            return "none", None
        rest = m["rest"]
        if m["star"]:
            if self.key is None:
                return "none", None
            dec = Cipher(algorithms.AES(self.key), modes.CBC(bytes(16))).decryptor()
            rest = (dec.update(bytes.fromhex(rest)) + dec.finalize()).decode("ascii", "replace")
        token = m["token"]
        if token != "NAK" and int(m["seq"]) != seq:
            return "none", None  # an answer to something else
        found = _STAMP.search(rest)
        when = (datetime.strptime(found[1], "%H:%M:%S,%m-%d-%Y").replace(tzinfo=UTC)
                if found else None)
        return token, when

    # ------------------------------------------------------------------ transports

    async def _transmit(self, raw: bytes) -> bytes | None:
        self.sent.append(raw)
        try:
            if self.transport == "udp":
                return await self._transmit_udp(raw)
            return await self._transmit_tcp(raw)
        except (OSError, TimeoutError):
            await self.close()
            return None

    async def _transmit_tcp(self, raw: bytes) -> bytes | None:
        if self._writer is None or self._writer.is_closing():
            self._reader, self._writer = await asyncio.wait_for(
                asyncio.open_connection(self.host, self.port), self.ack_timeout
            )
        assert self._reader is not None and self._writer is not None
        self._writer.write(raw)
        await self._writer.drain()
        try:
            reply = await asyncio.wait_for(self._reader.readuntil(b"\r"), self.ack_timeout)
        except asyncio.IncompleteReadError:
            await self.close()  # the receiver hung up without answering
            return None
        return reply

    async def _transmit_udp(self, raw: bytes) -> bytes | None:
        if self._udp is None:
            loop = asyncio.get_running_loop()
            self._udp, _ = await loop.create_datagram_endpoint(
                lambda: _Inbox(self._inbox), remote_addr=(self.host, self.port)
            )
        while not self._inbox.empty():
            self._inbox.get_nowait()  # a late answer to an earlier transmission
        self._udp.sendto(raw)
        return await asyncio.wait_for(self._inbox.get(), self.ack_timeout)

    async def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._writer.wait_closed(), 1)
        if self._udp is not None:
            self._udp.close()
        self._reader = self._writer = None
        self._udp = None

    async def __aenter__(self) -> Dc09Transmitter:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()


class _Inbox(asyncio.DatagramProtocol):
    def __init__(self, queue: asyncio.Queue[bytes]) -> None:
        self.queue = queue

    def datagram_received(self, data: bytes, addr: Any) -> None:
        self.queue.put_nowait(data)


def conformance_frames(count: int) -> list[dict[str, str]]:
    """Frames for the conformance kit (``plugins/alarms/conformance.json``), deterministic.

    A clear-text panel on account 4321 at the kit's frame time: supervision polls,
    SIA-DCS alarms with zones and openings with users, and Contact ID events.
    """
    when = datetime(2026, 1, 1, 3, 0, tzinfo=UTC)
    sender = Dc09Transmitter("127.0.0.1", 0, account="4321")
    made = [
        ("NULL", ""),
        ("SIA-DCS", "#4321|NMA012"),
        ("SIA-DCS", "#4321|NFA003"),
        ("SIA-DCS", "#4321|Nid0042/OP001"),
        ("ADM-CID", "#4321|1100 01 015"),
        ("ADM-CID", "#4321|3100 01 015"),
    ]
    return [{"address": "127.0.0.1:4000", "transport": "tcp",
             "payload": sender.frame(token, data, seq=n % 9999 + 1, when=when).decode("ascii")}
            for n, (token, data) in zip(range(count), itertools.cycle(made), strict=False)]

"""The DC-09 receiver: asyncio TCP and UDP listeners and the per-frame answer.

One frame, one decision (reference/alarm-centre-protocols.md §2.1.5):

=====================================  ============================================
frame                                  answer
=====================================  ============================================
bad shape, length or CRC               none (DC-09-2007 C.2.3.5)
a response (ACK/NAK/DUH/RSP)           none
does not decrypt with the account key  NAK with our time
timestamp outside the window           NAK with our time (the panel corrects its clock)
same account + sequence + content as   ACK again, nothing new stored
a frame already stored
store failed (ingest raised)           none, and TCP is closed: the panel retries
decode refused it (unknown account or  DUH, after the frame is kept as a dead letter
SIA code, clear frame from a keyed
account, malformed data)
stored                                 ACK (encrypted when the message was)
=====================================  ============================================

The ACK is written only after ``host.ingest`` returned, i.e. after the events
are on disk. Every answer echoes the frame's receiver and line fields as they
came (none when none came); a sequence that is not four decimal digits (hex,
from dc09-spt) is accepted, echoed and logged once per account
(docs/protocols/dc09.md, "Variants accepted").

What comes in at all is decided by one :class:`gateway.ListenerIntake` per
transport (``listener`` in the settings): a TCP connection is *proven* by its
first frame that opens for a configured account (ACK, repeat, or a NAK for its
timestamp); until then it is limited per source address and must prove itself
within ``first_frame_timeout_s``. UDP datagrams wait in per-source queues served
round-robin. Every refusal (frame, connection or datagram) is counted on
``/metrics``; garbage frames and unknown accounts are sampled into the dead letters.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from collections import Counter, deque
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from gateway import AdapterHost, ListenerConnection, ListenerIntake, RawFrame

from .const import ADAPTER, RESPONSE_IDS
from .crypto import open_with_any
from .frame import Dc09Error, DecryptError, Frame, FramingError, Message, parse_frame
from .models import Dc09Settings
from .responses import ack, duh, nak

log = logging.getLogger(__name__)

RECENT_PER_ACCOUNT = 32
"""How many stored (sequence, content) pairs per account a repeat is checked against."""


@dataclass(frozen=True, slots=True)
class Outcome:
    """What the receiver did with one frame; ``response`` goes back to the peer."""

    kind: str  # ack | repeat | nak | duh | silent | withheld
    response: bytes | None = None
    reason: str | None = None
    refusal: str | None = None
    """Counter label when the frame was refused at the listener (``bad_crc`` ...)."""
    sample: bool = False
    """Keep the frame as a dead-letter sample of that refusal (within the listener's bounds)."""
    proven: bool = False
    """The frame opened for a configured account: its connection or source is genuine."""


class Dc09Receiver:
    def __init__(
        self, config: Dc09Settings, host: AdapterHost, *, tenant: str, instance: str = ""
    ) -> None:
        self.config = config
        self.host = host
        self.tenant = tenant
        self.instance = instance
        self.keys = {a.account: a.keys_bytes() for a in config.accounts}
        self.stats: Counter[str] = Counter()
        self._recent: dict[str, deque[tuple[str, str]]] = {}
        self._seq_noted: set[str] = set()  # accounts whose sequence deviation was logged
        self._tcp: asyncio.Server | None = None
        self._udp: Any = None  # the intake's datagram endpoint (sendto, close)
        self._tasks: set[asyncio.Task[Any]] = set()
        self.intakes: dict[str, ListenerIntake] = {}

    # ------------------------------------------------------------------ listeners

    async def start(self) -> None:
        cfg = self.config
        for transport, port in (("tcp", cfg.tcp_port), ("udp", cfg.udp_port)):
            if port is not None:
                intake = ListenerIntake(self.host, adapter=ADAPTER, transport=transport,
                                        settings=cfg.listener,
                                        max_connections=cfg.max_connections)
                intake.start()
                self.intakes[transport] = intake
        if cfg.tcp_port is not None:
            self._tcp = await asyncio.start_server(
                self._serve_tcp, cfg.host, cfg.tcp_port, limit=cfg.max_frame_bytes
            )
        if cfg.udp_port is not None:  # drained into per-source queues (gateway.ListenerIntake)
            self._udp = self.intakes["udp"].bind_datagrams(cfg.host, cfg.udp_port,
                                                           self._answer_udp)
        log.info("DC-09 receiver for %s listening on tcp %s udp %s", self.tenant,
                 self.tcp_address, self.udp_address)

    @property
    def tcp_address(self) -> tuple[str, int] | None:
        if self._tcp is None or not self._tcp.sockets:
            return None
        host, port = self._tcp.sockets[0].getsockname()[:2]
        return str(host), int(port)

    @property
    def udp_address(self) -> tuple[str, int] | None:
        if self._udp is None:
            return None
        host, port = self._udp.get_extra_info("sockname")[:2]
        return str(host), int(port)

    async def stop(self) -> None:
        if self._tcp is not None:
            self._tcp.close()
        if self._udp is not None:
            self._udp.close()
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if self._tcp is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._tcp.wait_closed(), 5)
        for intake in self.intakes.values():
            await intake.stop()
        self._tcp = self._udp = None

    def _track(self, task: asyncio.Task[Any]) -> None:
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _serve_tcp(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._track(task)
        intake = self.intakes["tcp"]
        conn = await intake.accept(reader, writer)
        if conn is None:
            return  # refused, counted and closed by the intake
        try:
            await self._read_frames(reader, writer, conn)
        finally:
            conn.release()
            writer.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(writer.wait_closed(), 1)

    async def _read_frames(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                           conn: ListenerConnection) -> None:
        """Frames end at <CR>; stray CR/LF/NUL between frames is not part of a frame."""
        intake, cfg = self.intakes["tcp"], self.config
        peer = f"{conn.source[0]}:{conn.source[1]}"
        buffer = conn.prefix
        while True:
            end = buffer.find(b"\r")
            if end < 0:
                if len(buffer) > cfg.max_frame_bytes:
                    intake.refuse("frame_too_long", conn.host, sample=buffer,
                                  detail=f"more than {cfg.max_frame_bytes} bytes without <CR>")
                    return
                try:
                    chunk = await conn.read(reader, 4096, cfg.read_timeout_s)
                except TimeoutError:
                    if conn.proven:
                        log.info("DC-09: %s idle for %ss, closing", peer, cfg.read_timeout_s)
                    intake.timed_out(conn)
                    return
                except ConnectionError:
                    return
                if not chunk:
                    return
                buffer += chunk
                continue
            raw, buffer = buffer[: end + 1].lstrip(b"\r\n\x00"), buffer[end + 1:]
            if not raw:
                continue
            outcome = await self.handle(b"\n" + raw, "tcp", peer)
            if outcome.proven:
                conn.prove()
            if outcome.response is not None:
                writer.write(outcome.response)
                try:
                    await asyncio.wait_for(writer.drain(), cfg.read_timeout_s)
                except (TimeoutError, ConnectionError):
                    return
            if outcome.kind == "withheld":
                return  # closing tells the panel at once that it must send again

    async def _answer_udp(self, raw: bytes, addr: Any) -> None:
        peer = _peer(addr)
        outcome = await self.handle(b"\n" + raw.strip(b"\r\n\x00") + b"\r", "udp", peer)
        if outcome.proven:
            self.intakes["udp"].prove_source(str(addr[0]))
        if outcome.response is not None and self._udp is not None:
            self._udp.sendto(outcome.response, addr)

    # ------------------------------------------------------------------ per frame

    async def handle(self, raw: bytes, transport: str, peer: str) -> Outcome:
        """Decide on one frame, ingest it when it should be, and say what to answer."""
        outcome = await self._decide(raw, transport, peer)
        self.stats[outcome.kind] += 1
        intake = self.intakes.get(transport)
        if outcome.refusal is not None and intake is not None:
            # counted always; logged and sampled within the listener's bounds
            kept = intake.refuse(outcome.refusal, peer.rpartition(":")[0] or peer,
                                 detail=outcome.reason or "",
                                 sample=raw if outcome.sample else None)
            if kept is not None and outcome.kind == "duh":
                await kept  # DUH says "kept, do not repeat": the sample exists first
        elif outcome.reason:
            log.info("DC-09 %s from %s %s: %s", outcome.kind, transport, peer, outcome.reason)
        return outcome

    async def _decide(self, raw: bytes, transport: str, peer: str) -> Outcome:
        if len(raw) > self.config.max_frame_bytes:
            return Outcome("silent", reason=f"{len(raw)} bytes is over the frame limit",
                           refusal="frame_too_long", sample=True)
        try:
            frame = parse_frame(raw)
        except FramingError as err:
            return Outcome("silent", reason=err.reason, refusal=_framing_label(err),
                           sample=True)
        if frame.token in RESPONSE_IDS:
            return Outcome("silent", reason=f"unexpected {frame.token} from a transmitter",
                           refusal="unexpected_response", sample=True)
        now = self.host.clock.now()
        account = self.config.account(frame.account) if frame.account else None
        if account is None:  # sampled, not stored per frame: a flood must not fill the store
            return Outcome("duh", duh(frame), f"account #{frame.account or '?'} is not "
                           "configured for this receiver", refusal="unknown_account",
                           sample=True)
        keys = self.keys.get(frame.account) or []
        key: bytes | None = None
        message: Message | None = None
        if account is not None and (keys or not frame.encrypted):
            try:
                message, key = open_with_any(frame, keys)
            except DecryptError as err:
                return Outcome("nak", nak(now, frame), err.reason, refusal="decrypt_failed")
            except Dc09Error:
                message = None  # decode will say why and keep it as a dead letter
        if message is not None and message.timestamp is not None:
            window = self.config.timestamp_window
            early = now - timedelta(seconds=window.past_s)
            late = now + timedelta(seconds=window.future_s)
            if not early <= message.timestamp <= late:  # genuine, its clock is off
                return Outcome("nak", nak(now, frame),
                               f"timestamp {message.timestamp_text} outside "
                               f"-{window.past_s}s/+{window.future_s}s of {now.isoformat()}",
                               refusal="timestamp_window", proven=True)
        ack_key = key if frame.encrypted else None
        mark = _mark(message) if message is not None else None
        opened = message is not None
        if mark is not None and mark in self._recent.get(frame.account, ()):
            return Outcome("repeat", ack(frame, now, ack_key), f"sequence {frame.seq} again",
                           proven=True)
        if opened and not frame.standard_seq:
            self._note_sequence(frame)
        tenant = (account.tenant if account is not None else None) or self.tenant
        record = RawFrame(
            adapter=ADAPTER, tenant=tenant, transport=transport, address=peer, payload=raw,
            received=now, instance=self.instance,
        )
        try:
            result = await self.host.ingest(record)
        except Exception as err:  # whatever failed, nothing is stored: do not acknowledge
            log.warning("DC-09 frame %s from #%s not stored, ACK withheld: %s", frame.seq,
                        frame.account, err)
            return Outcome("withheld", reason=str(err))
        if result.dead_letter is not None:
            return Outcome("duh", duh(frame), result.reason, proven=opened)
        if mark is not None:
            self._recent.setdefault(frame.account, deque(maxlen=RECENT_PER_ACCOUNT)).append(mark)
        return Outcome("ack", ack(frame, now, ack_key), proven=opened)

    def _note_sequence(self, frame: Frame) -> None:
        """Log once per account that its sequence is not four decimal digits (accepted)."""
        if frame.account in self._seq_noted:
            return
        self._seq_noted.add(frame.account)  # configured accounts only: the set is bounded
        log.warning("DC-09 account #%s sends sequence %r, not four decimal digits "
                    "(a dialler counting in hex?): accepted and echoed as it came; logged once "
                    "per account", frame.account, frame.seq,
                    extra={"adapter": ADAPTER, "account": frame.account})


def _mark(message: Message) -> tuple[str, str]:
    """(sequence, content digest): a repeat has both equal; a wrapped sequence has not."""
    f: Frame = message.frame
    content = "\x1f".join((f.token, message.data, *message.xdata, message.timestamp_text or ""))
    return f.seq, hashlib.sha256(content.encode()).hexdigest()


def _framing_label(err: FramingError) -> str:
    """A short, stable counter label for a framing error (its text says the details)."""
    code = getattr(err, "code", None)  # the frame module may name its errors one day
    if isinstance(code, str) and code:
        return code
    text = err.reason.lower()
    if "crc mismatch" in text or "crc does not match" in text:
        return "bad_crc"
    if "length field" in text:
        return "bad_length"
    return "malformed_frame"


def _peer(addr: Any) -> str:
    if isinstance(addr, tuple) and len(addr) >= 2:
        return f"{addr[0]}:{addr[1]}"
    return str(addr)

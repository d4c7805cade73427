"""A SCAIP social alarm unit (local unit & controller) speaking real SIP over UDP, TCP or TLS.

It does what units in the field do: REGISTER with digest authentication,
send heartbeats (``mty=PI``), raise alarms of each kind, poll while the
receiver answers HOLD (the same ``<mrq>`` again every 5-20 s on the injected
clock, for at most ``hold_max_s``), abort with ``mty=RE`` when it gives up,
cancel, report low battery and mains loss, and go silent. Vendor dialects
reproduce what real units get wrong or do differently (see :class:`Dialect`).

The SIP and XML here are written independently of the receiver's code on
purpose, so a shared misunderstanding cannot pass the tests unnoticed.
Network waits are bounded real-time timeouts; SCAIP timing uses the clock.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import itertools
import random
import re
import secrets
import ssl
from dataclasses import dataclass, field
from typing import Any
from xml.etree.ElementTree import Element

import defusedxml.ElementTree as safe_et  # type: ignore[import-untyped]  # no stubs

from gateway import Clock

FAMILY = "scaip"
CONTENT_TYPE = "application/scaip+xml"

ALARMS: dict[str, dict[str, int | None]] = {
    "personal_button": {"dty": 3, "stc": 10},
    "unit_button": {"dty": 2, "stc": None},
    "fall": {"dty": 5, "stc": 9},
    "bed_exit": {"dty": 12, "stc": 9},
    "door": {"dty": 14, "stc": 9},
    "no_activity": {"dty": 10, "stc": 9},
    "water": {"dty": 33, "stc": 9},
    "smoke": {"dty": 23, "stc": 9},
    "low_battery": {"dty": 3, "stc": 16},
    "mains_lost": {"dty": 2, "stc": 85},
    "mains_restored": {"dty": 2, "stc": 86},
    "cancel": {"dty": 3, "stc": 19},
    "reset": {"dty": 2, "stc": 93},
}
"""Simulated events -> (device type, status code) as SS 91100 codes them."""


@dataclass(frozen=True)
class Dialect:
    """How a vendor's unit deviates from the cleanest reading of the standard."""

    leading_spaces: bool = False      # whitespace before <mrq> and around values
    unpadded_codes: bool = False      # <dty>3</dty> instead of <dty>0003</dty> (TR examples)
    register: bool = True             # False: never REGISTER (TR 91102 §7.11 peer-to-peer)
    reuse_via_branch: bool = False    # one Via branch for every request (old stacks)
    alphanumeric_refs: bool = False   # refs like "A7F3C2" instead of a counter
    namespace: bool = False           # the Annex F XSD namespace on <mrq>


@dataclass
class Mrs:
    ref: str
    snu: int
    hbi: int | None = None
    mre: int | None = None
    fields: dict[str, str] = field(default_factory=dict)


@dataclass
class _Response:
    status: int
    headers: dict[str, str]
    body: bytes


def _md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()  # RFC 2617 digest


def parse_mrs(body: bytes) -> Mrs:
    root: Element = safe_et.fromstring(body.strip(), forbid_dtd=True)
    values = {child.tag.rsplit("}", 1)[-1]: (child.text or "").strip() for child in root}
    hbi = values.get("hbi")
    mre = values.get("mre")
    return Mrs(values["ref"], int(values["snu"]), int(hbi) if hbi else None,
               int(mre) if mre else None, values)


class ScaipUnit:
    """One simulated unit. ``await start()``, then ``register()``, ``alarm()`` ..."""

    def __init__(self, unit: str, password: str | None, server: tuple[str, int], *,
                 clock: Clock, transport: str = "udp", cid: str = "678",
                 dialect: Dialect | None = None, hold_interval_s: float = 10.0,
                 hold_max_s: float = 180.0, mrs_in_200: bool = False, seed: int = 0,
                 realm_host: str = "navet.local", timeout_s: float = 5.0,
                 tls_ca: str | None = None, tls_cert: str | None = None,
                 tls_key: str | None = None, tls_server_name: str | None = None) -> None:
        """``transport="tls"``: SIP over TLS, checking the receiver's certificate against
        ``tls_ca`` (and ``tls_server_name``, default the server's address), presenting
        ``tls_cert``/``tls_key`` when given, as a unit with a client certificate does."""
        if not 5 <= hold_interval_s <= 20:
            raise ValueError("SS 91100 §4.2: HOLD resends come every 5 to 20 s")
        self.unit = unit
        self.password = password
        self.server = server
        self.clock = clock
        self.transport = transport
        self.cid = cid
        self.dialect = dialect or Dialect()
        self.tls_ca, self.tls_cert, self.tls_key = tls_ca, tls_cert, tls_key
        self.tls_server_name = tls_server_name
        self.hold_interval_s = hold_interval_s
        self.hold_max_s = hold_max_s
        self.mrs_in_200 = mrs_in_200
        self.timeout_s = timeout_s
        self.domain = realm_host
        self.received: list[Mrs] = []
        self.holds = 0
        self.silent = False
        self._rng = random.Random(seed)
        self._refs = itertools.count(1000 + self._rng.randrange(1000))
        self._cseq = itertools.count(1)
        self._branch = "z9hG4bK" + secrets.token_hex(6)
        self._tag = secrets.token_hex(4)
        self._auth: dict[str, str] | None = None
        self._nc = 0
        self._pending: dict[tuple[str, int], asyncio.Future[_Response]] = {}
        self._mrs: dict[str, asyncio.Queue[Mrs]] = {}
        self._udp: asyncio.DatagramTransport | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._reader_task: asyncio.Task[None] | None = None
        self._heartbeat_task: asyncio.Task[None] | None = None
        self.local: tuple[str, int] = ("127.0.0.1", 0)

    # ------------------------------------------------------------------ network

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        if self.transport == "udp":
            unit = self

            class Proto(asyncio.DatagramProtocol):
                def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
                    unit._incoming(data, lambda out: unit._send_raw(out, addr))

            self._udp, _ = await loop.create_datagram_endpoint(
                Proto, local_addr=("127.0.0.1", 0))
            self.local = self._udp.get_extra_info("sockname")[:2]
        else:
            context = self._tls_context() if self.transport == "tls" else None
            reader, writer = await asyncio.wait_for(asyncio.open_connection(
                *self.server, ssl=context,
                server_hostname=(self.tls_server_name or self.server[0]) if context else None),
                self.timeout_s)
            self._writer = writer
            self.local = writer.get_extra_info("sockname")[:2]
            self._reader_task = asyncio.create_task(self._read_tcp(reader))

    async def stop(self) -> None:
        for task in (self._heartbeat_task, self._reader_task):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        if self._udp is not None:
            self._udp.close()
        if self._writer is not None:
            self._writer.close()

    def _tls_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=self.tls_ca)
        if self.tls_cert is not None:
            context.load_cert_chain(self.tls_cert, self.tls_key)
        return context

    def _send_raw(self, data: bytes, addr: tuple[str, int] | None = None) -> None:
        if self._udp is not None:
            self._udp.sendto(data, addr or self.server)
        elif self._writer is not None:
            self._writer.write(data)

    async def _read_tcp(self, reader: asyncio.StreamReader) -> None:
        try:
            await self._read_stream(reader)
            why: Exception = ConnectionResetError("the receiver closed the connection")
        except (OSError, ssl.SSLError) as err:  # e.g. a TLS alert: certificate refused
            why = err
        for fut in self._pending.values():  # nothing more can come: fail what waits
            if not fut.done():
                fut.set_exception(why)

    async def _read_stream(self, reader: asyncio.StreamReader) -> None:
        buffer = b""
        while True:
            chunk = await reader.read(8192)
            if not chunk:
                return
            buffer += chunk
            while b"\r\n\r\n" in buffer:
                head, rest = buffer.split(b"\r\n\r\n", 1)
                m = re.search(rb"(?im)^content-length:\s*(\d+)", head)
                length = int(m.group(1)) if m else 0
                if len(rest) < length:
                    break
                self._incoming(head + b"\r\n\r\n" + rest[:length], self._send_raw)
                buffer = rest[length:]

    def _incoming(self, data: bytes, reply: Any) -> None:
        head, _, body = data.partition(b"\r\n\r\n")
        lines = head.decode().split("\r\n")
        headers: dict[str, str] = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers.setdefault(name.strip().lower(), value.strip())
        if lines[0].startswith("SIP/2.0"):
            cseq = headers.get("cseq", "0 X").split()
            fut = self._pending.get((headers.get("call-id", ""), int(cseq[0])))
            status = int(lines[0].split()[1])
            if fut is not None and not fut.done() and status >= 200:
                fut.set_result(_Response(status, headers, body))
            return
        # A request from the receiver: the <mrs> in a MESSAGE. Answer 200, keep the mrs.
        ok = "\r\n".join([
            "SIP/2.0 200 OK", *(f"{n}: {headers[n.lower()]}" for n in
                                ("Via", "From", "To", "Call-ID", "CSeq") if n.lower() in headers),
            "Content-Length: 0", "", ""])
        reply(ok.encode())
        if lines[0].startswith("MESSAGE") and body.strip():
            self._keep(parse_mrs(body))

    def _keep(self, mrs: Mrs) -> None:
        self.received.append(mrs)
        self._mrs.setdefault(mrs.ref, asyncio.Queue()).put_nowait(mrs)

    # ------------------------------------------------------------------ SIP requests

    def _via(self) -> str:
        branch = self._branch if self.dialect.reuse_via_branch else \
            "z9hG4bK" + secrets.token_hex(6)
        return f"SIP/2.0/{self.transport.upper()} {self.local[0]}:{self.local[1]};" \
               f"branch={branch};rport"

    def _authorization(self, method: str, uri: str) -> str | None:
        if self._auth is None or self.password is None:
            return None
        a = self._auth
        self._nc += 1
        nc, cnonce = f"{self._nc:08x}", secrets.token_hex(4)
        ha1 = _md5(f"{self.unit}:{a['realm']}:{self.password}")
        ha2 = _md5(f"{method}:{uri}")
        resp = _md5(f"{ha1}:{a['nonce']}:{nc}:{cnonce}:auth:{ha2}")
        return (f'Digest username="{self.unit}", realm="{a["realm"]}", nonce="{a["nonce"]}", '
                f'uri="{uri}", response="{resp}", algorithm=MD5, qop=auth, nc={nc}, '
                f'cnonce="{cnonce}"')

    async def request(self, method: str, body: bytes = b"", *,
                      extra: tuple[str, ...] = ()) -> _Response:
        """One SIP transaction, answering a digest challenge once."""
        uri = f"sip:{self.server[0]}:{self.server[1]}" if method == "REGISTER" else \
            f"sip:arc@{self.server[0]}:{self.server[1]}"
        call_id = f"{secrets.token_hex(8)}@{self.local[0]}"
        for _ in range(3):
            cseq = next(self._cseq)
            aor = f"sip:{self.unit}@{self.domain}"
            lines = [f"{method} {uri} SIP/2.0", f"Via: {self._via()}", "Max-Forwards: 70",
                     f"From: <{aor}>;tag={self._tag}",
                     f"To: <{aor if method == 'REGISTER' else uri}>",
                     f"Call-ID: {call_id}", f"CSeq: {cseq} {method}",
                     f"Contact: <sip:{self.unit}@{self.local[0]}:{self.local[1]}"
                     f"{'' if self.transport == 'udp' else ';transport=' + self.transport}>",
                     *extra]
            auth = self._authorization(method, uri)
            if auth:
                lines.append(f"Authorization: {auth}")
            if body:
                lines.append(f"Content-Type: {CONTENT_TYPE}")
            lines.append(f"Content-Length: {len(body)}")
            data = ("\r\n".join(lines) + "\r\n\r\n").encode() + body
            resp = await self._transact(call_id, cseq, data)
            if resp.status != 401:
                return resp
            params = dict(re.findall(r'(\w+)="?([^",]+)"?', resp.headers.get(
                "www-authenticate", "")))
            if self.password is None or "nonce" not in params:
                return resp
            self._auth, self._nc = params, 0
        return resp

    async def _transact(self, call_id: str, cseq: int, data: bytes) -> _Response:
        fut: asyncio.Future[_Response] = asyncio.get_running_loop().create_future()
        self._pending[(call_id, cseq)] = fut
        try:
            waits = (0.5, 1.0, 2.0, 4.0) if self.transport == "udp" else (self.timeout_s,)
            for wait in waits:
                self._send_raw(data)
                with contextlib.suppress(TimeoutError):
                    return await asyncio.wait_for(asyncio.shield(fut), wait)
            raise TimeoutError(f"no SIP answer from {self.server} for CSeq {cseq}")
        finally:
            self._pending.pop((call_id, cseq), None)

    async def register(self, expires: int = 3600) -> int:
        resp = await self.request("REGISTER", extra=(f"Expires: {expires}",))
        return resp.status

    # ------------------------------------------------------------------ SCAIP

    def new_ref(self) -> str:
        n = next(self._refs)
        return format(n * 7919, "X")[-8:] if self.dialect.alphanumeric_refs else str(n)

    def mrq(self, ref: str, *, dty: int, stc: int | None = None, mty: str | None = None,
            fields: dict[str, str | int] | None = None) -> bytes:
        def pad(value: str | int, width: int) -> str:
            return str(value) if self.dialect.unpadded_codes else str(value).zfill(width)

        sp = "  " if self.dialect.leading_spaces else ""
        items: list[tuple[str, str]] = [("ref", ref)]
        if mty:
            items.append(("mty", mty))
        items += [("cid", self.cid), ("dty", pad(dty, 4))]
        if stc is not None:
            items.append(("stc", pad(stc, 4)))
        for key, value in (fields or {}).items():
            width = {"lco": 3, "dco": 3, "ico": 3}.get(key)
            items.append((key, pad(value, width) if width else str(value)))
        ns = ' xmlns="http://www.hi.se/2012/XScaipXML"' if self.dialect.namespace else ""
        inner = "".join(f"{sp}<{k}>{sp}{v}{sp}</{k}>" for k, v in items)
        return f"{sp}\n<mrq{ns}>{inner}</mrq>\n".encode()

    async def send(self, body: bytes, ref: str) -> Mrs:
        """Send one ``<mrq>`` and return the ``<mrs>`` for it."""
        queue = self._mrs.setdefault(ref, asyncio.Queue())
        resp = await self.request("MESSAGE", body)
        if resp.status != 200:
            raise RuntimeError(f"receiver answered SIP {resp.status} to ref {ref}")
        if self.mrs_in_200 and resp.body.strip():
            mrs = parse_mrs(resp.body)
            self.received.append(mrs)
            # the same answer also comes as a separate MESSAGE: consume it here
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(queue.get(), self.timeout_s)
            return mrs
        return await asyncio.wait_for(queue.get(), self.timeout_s)

    async def heartbeat(self, *, offer_hbi: bool = False) -> Mrs:
        ref = self.new_ref()
        extra: dict[str, str | int] = {"hbo": "001"} if offer_hbi else {}
        return await self.send(self.mrq(ref, mty="PI", dty=2, fields=extra), ref)

    async def event(self, what: str, **more: str | int) -> Mrs:
        """One message session without HOLD polling (cancel, battery, mains ...)."""
        codes = ALARMS[what]
        ref = self.new_ref()
        return await self.send(self.mrq(ref, dty=int(codes["dty"] or 0), stc=codes["stc"],
                                        fields=more), ref)

    async def alarm(self, what: str = "personal_button", **more: str | int) -> Mrs:
        """Raise an alarm and poll while held; abort with RE if never handled in time.

        Returns the last ``<mrs>``: snu 0 when handled, or the HOLD that made the
        unit give up (it then sent RE with the same ref).
        """
        codes = ALARMS[what]
        ref = self.new_ref()
        body = self.mrq(ref, dty=int(codes["dty"] or 0), stc=codes["stc"], fields=more)
        started = self.clock.now()
        mrs = await self.send(body, ref)
        while mrs.snu == 4:
            self.holds += 1
            if (self.clock.now() - started).total_seconds() + self.hold_interval_s > \
                    self.hold_max_s:
                await self.send(self.mrq(ref, mty="RE", dty=int(codes["dty"] or 0)), ref)
                return mrs
            await self.clock.sleep(self.hold_interval_s)
            mrs = await self.send(body, ref)  # the same <mrq>, the same ref
        return mrs

    async def update(self, ref: str, dty: int, **more: str | int) -> Mrs:
        return await self.send(self.mrq(ref, mty="IN", dty=dty, fields=more), ref)

    # ------------------------------------------------------------------ life

    def start_heartbeats(self, interval_s: float) -> None:
        """Send PI every ``interval_s`` on the clock until :meth:`go_silent`."""

        async def loop() -> None:
            while not self.silent:
                await self.clock.sleep(interval_s)
                if not self.silent:
                    await self.heartbeat()

        self._heartbeat_task = asyncio.create_task(loop())

    def go_silent(self) -> None:
        """Stop talking, as a unit whose power or line is gone."""
        self.silent = True

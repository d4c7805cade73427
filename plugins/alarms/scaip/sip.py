"""SIP messages (RFC 3261) as far as SCAIP needs them, and HTTP digest (RFC 2617/7616, MD5).

Only what a SCAIP receiver uses: REGISTER and MESSAGE in, MESSAGE out,
responses both ways. Headers keep their order; compact forms (``v``, ``f``,
``t``, ``i``, ``m``, ``l``, ``c``) are read as their long names. Parsing
raises :class:`SipError`, which the listener answers with 400.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass, field

CRLF = "\r\n"
_COMPACT = {"v": "via", "f": "from", "t": "to", "i": "call-id", "m": "contact",
            "l": "content-length", "c": "content-type", "k": "supported", "s": "subject"}
REASONS = {100: "Trying", 200: "OK", 400: "Bad Request", 401: "Unauthorized",
           403: "Forbidden", 404: "Not Found", 405: "Method Not Allowed",
           413: "Request Entity Too Large", 415: "Unsupported Media Type",
           481: "Call/Transaction Does Not Exist", 486: "Busy Here",
           500: "Server Internal Error", 503: "Service Unavailable"}
MAX_HEADERS = 100


class SipError(ValueError):
    """A SIP message Navet cannot read; ``code`` is a short label the listener counts by."""

    def __init__(self, message: str, code: str = "malformed") -> None:
        super().__init__(message)
        self.code = code


@dataclass
class SipMessage:
    """One SIP request (``method`` set) or response (``status`` set)."""

    method: str = ""
    uri: str = ""
    status: int = 0
    reason: str = ""
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""

    @property
    def is_request(self) -> bool:
        return bool(self.method)

    def get(self, name: str, default: str = "") -> str:
        key = name.lower()
        for k, v in self.headers:
            if k.lower() == key:
                return v
        return default

    def get_all(self, name: str) -> list[str]:
        key = name.lower()
        return [v for k, v in self.headers if k.lower() == key]

    def set(self, name: str, value: str) -> None:
        key = name.lower()
        self.headers = [(k, v) for k, v in self.headers if k.lower() != key]
        self.headers.append((name, value))

    @property
    def cseq(self) -> tuple[int, str]:
        parts = self.get("CSeq").split()
        if len(parts) != 2 or not parts[0].isdigit():
            raise SipError(f"bad CSeq header {self.get('CSeq')!r}", "bad_cseq")
        return int(parts[0]), parts[1].upper()

    def encode(self) -> bytes:
        start = (f"{self.method} {self.uri} SIP/2.0" if self.is_request
                 else f"SIP/2.0 {self.status} {self.reason or REASONS.get(self.status, '')}")
        lines = [start] + [f"{k}: {v}" for k, v in self.headers
                           if k.lower() != "content-length"]
        lines.append(f"Content-Length: {len(self.body)}")
        return (CRLF.join(lines) + CRLF + CRLF).encode("utf-8") + self.body


def _canonical(name: str) -> str:
    name = _COMPACT.get(name.lower(), name)
    special = {"call-id": "Call-ID", "cseq": "CSeq", "www-authenticate": "WWW-Authenticate"}
    return special.get(name.lower()) or "-".join(p.capitalize() for p in name.split("-"))


def parse(data: bytes) -> SipMessage:
    """Parse one complete SIP message (a UDP datagram, or one framed from a TCP stream)."""
    head, sep, body = data.partition(b"\r\n\r\n")
    if not sep:
        head, sep, body = data.partition(b"\n\n")
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as err:
        raise SipError(f"SIP headers are not UTF-8: {err}", "not_utf8") from err
    lines = text.replace("\r\n", "\n").lstrip("\n").split("\n")
    msg = _start_line(lines[0])
    for line in lines[1:]:
        if line[:1] in (" ", "\t") and msg.headers:  # folded continuation line
            k, v = msg.headers[-1]
            msg.headers[-1] = (k, f"{v} {line.strip()}")
            continue
        name, colon, value = line.partition(":")
        if not colon or not name.strip():
            raise SipError(f"bad header line {line[:60]!r}", "bad_header")
        msg.headers.append((_canonical(name.strip()), value.strip()))
        if len(msg.headers) > MAX_HEADERS:
            raise SipError(f"more than {MAX_HEADERS} headers", "too_many_headers")
    length = msg.get("Content-Length")
    if length:
        if not length.isdigit():
            raise SipError(f"bad Content-Length {length!r}", "bad_content_length")
        if int(length) > len(body):
            raise SipError(f"Content-Length {length} but only {len(body)} body bytes",
                           "short_body")
        body = body[: int(length)]
    msg.body = body
    for name in ("Via", "From", "To", "Call-ID", "CSeq"):
        if not msg.get(name):
            raise SipError(f"mandatory header {name} is missing", "missing_header")
    return msg


def _start_line(line: str) -> SipMessage:
    parts = line.strip().split(" ", 2)
    if len(parts) == 3 and parts[0] == "SIP/2.0" and parts[1].isdigit():
        return SipMessage(status=int(parts[1]), reason=parts[2])
    if len(parts) == 3 and parts[2] == "SIP/2.0" and re.fullmatch(r"[A-Z]+", parts[0]):
        return SipMessage(method=parts[0], uri=parts[1])
    raise SipError(f"bad start line {line[:80]!r}", "bad_start_line")


def frame_stream(buffer: bytes, limit: int) -> tuple[bytes | None, bytes]:
    """Split one message off a TCP stream buffer: (message or None if incomplete, rest)."""
    buffer = buffer.lstrip(b"\r\n")  # keep-alive CRLFs between messages (RFC 5626)
    end = buffer.find(b"\r\n\r\n")
    if end < 0:
        if len(buffer) > limit:
            raise SipError(f"headers exceed {limit} bytes", "too_large")
        return None, buffer
    head = buffer[:end].decode("utf-8", "replace")
    m = re.search(r"^(?:content-length|l)[ \t]*:[ \t]*(\d+)", head, re.I | re.M)
    if m is None:
        raise SipError("Content-Length is mandatory over TCP", "no_content_length")
    total = end + 4 + int(m.group(1))
    if total > limit:
        raise SipError(f"message of {total} bytes exceeds {limit}", "too_large")
    if len(buffer) < total:
        return None, buffer
    return buffer[:total], buffer[total:]


# ----------------------------------------------------------------------- URIs and headers


def uri_of(value: str) -> str:
    """The URI inside a From/To/Contact value: ``"Name" <sip:u@h>;tag=x`` -> ``sip:u@h``."""
    m = re.search(r"<([^>]*)>", value)
    return (m.group(1) if m else value.split(";")[0]).strip()


def user_of(uri: str) -> str:
    rest = uri.split(":", 1)[1] if ":" in uri else uri
    return rest.split("@", 1)[0] if "@" in rest else ""


def host_port(uri: str, default_port: int = 5060) -> tuple[str, int]:
    rest = uri.split(":", 1)[1] if ":" in uri else uri
    rest = rest.split("@", 1)[-1].split(";", 1)[0].split("?", 1)[0]
    host, _, port = rest.rpartition(":") if rest.count(":") == 1 else (rest, "", "")
    return host, int(port) if port.isdigit() else default_port


def param(value: str, name: str) -> str | None:
    m = re.search(rf";\s*{re.escape(name)}=([^;>\s,]+)", value, re.I)
    return m.group(1) if m else None


def response(request: SipMessage, status: int, *, to_tag: str = "", body: bytes = b"",
             content_type: str = "", extra: list[tuple[str, str]] | None = None) -> SipMessage:
    """A response to ``request`` (RFC 3261 §8.2.6): Via, From, To, Call-ID, CSeq copied."""
    resp = SipMessage(status=status, reason=REASONS.get(status, ""))
    for via in request.get_all("Via"):
        resp.headers.append(("Via", via))
    to = request.get("To")
    if to_tag and param(to, "tag") is None:
        to = f"{to};tag={to_tag}"
    resp.headers += [("From", request.get("From")), ("To", to),
                     ("Call-ID", request.get("Call-ID")), ("CSeq", request.get("CSeq"))]
    resp.headers += extra or []
    if body:
        resp.headers.append(("Content-Type", content_type))
    resp.body = body
    return resp


def new_tag() -> str:
    return secrets.token_hex(6)


def new_branch() -> str:
    return "z9hG4bK" + secrets.token_hex(8)


# ----------------------------------------------------------------------- digest


def md5(text: str) -> str:
    return hashlib.md5(text.encode("utf-8")).hexdigest()  # RFC 2617 digest


def auth_params(value: str) -> dict[str, str]:
    """``Digest username="u", nc=00000001`` -> ``{"username": "u", "nc": "00000001"}``."""
    scheme, _, rest = value.strip().partition(" ")
    if scheme.lower() != "digest":
        return {}
    out: dict[str, str] = {}
    for m in re.finditer(r'([A-Za-z-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]+))', rest):
        out[m.group(1).lower()] = m.group(2) if m.group(2) is not None else m.group(3)
    return out


def digest_response(*, username: str, password: str, realm: str, method: str, uri: str,
                    nonce: str, qop: str | None = None, nc: str = "", cnonce: str = "") -> str:
    ha1 = md5(f"{username}:{realm}:{password}")
    ha2 = md5(f"{method}:{uri}")
    if qop:
        return md5(f"{ha1}:{nonce}:{nc}:{cnonce}:{qop}:{ha2}")
    return md5(f"{ha1}:{nonce}:{ha2}")


class NonceKeeper:
    """Stateless nonces: the issue time signed with a per-process secret, so any
    request can be checked without remembering what was handed out."""

    def __init__(self, ttl_s: int, secret: bytes | None = None) -> None:
        self.ttl_s = ttl_s
        self._secret = secret or secrets.token_bytes(32)

    def issue(self, now: float) -> str:
        stamp = format(int(now), "x")
        return f"{stamp}.{self._sign(stamp)}"

    def _sign(self, stamp: str) -> str:
        return hmac.new(self._secret, stamp.encode(), hashlib.sha256).hexdigest()[:32]

    def check(self, nonce: str, now: float) -> str:
        """'ok', 'stale' (genuine but expired) or 'bad'."""
        stamp, _, sig = nonce.partition(".")
        if not sig or not hmac.compare_digest(sig, self._sign(stamp)):
            return "bad"
        try:
            issued = int(stamp, 16)
        except ValueError:
            return "bad"
        return "ok" if 0 <= now - issued <= self.ttl_s else "stale"


def challenge(realm: str, nonce: str, stale: bool = False) -> str:
    value = f'Digest realm="{realm}", nonce="{nonce}", algorithm=MD5, qop="auth"'
    return value + (", stale=true" if stale else "")


def verify(params: dict[str, str], *, method: str, password: str, realm: str) -> bool:
    """True if the Authorization parameters prove knowledge of ``password``."""
    if params.get("realm") != realm or params.get("algorithm", "MD5").upper() != "MD5":
        return False
    qop = params.get("qop")
    if qop not in (None, "auth"):
        return False
    expected = digest_response(
        username=params.get("username", ""), password=password, realm=realm, method=method,
        uri=params.get("uri", ""), nonce=params.get("nonce", ""), qop=qop,
        nc=params.get("nc", ""), cnonce=params.get("cnonce", ""))
    return hmac.compare_digest(expected, params.get("response", ""))

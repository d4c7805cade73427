"""The SCAIP XML codec: read ``<mrq>`` leniently, write ``<mrs>`` strictly.

Lenient reading follows what units in the field send (reference/scaip.md
§1.8): any element order, with or without the Annex F namespace, codes
unpadded or zero-padded, whitespace around values, repeated ``crd``,
unknown elements ignored. The parser is defusedxml with DTDs, entities and
external references forbidden, behind a size limit, so a hostile body
cannot expand or fetch anything.

Writing is canonical: no namespace, fixed code widths, ASCII.
"""

from __future__ import annotations

import re
from xml.etree.ElementTree import Element, ParseError

import defusedxml.ElementTree as safe_et  # type: ignore[import-untyped]  # no stubs
from defusedxml import DefusedXmlException

from gateway import PayloadError

from .const import (
    ADAPTER,
    MAX_XML_BYTES,
    SNU_INVALID_FORMAT,
    SNU_MANDATORY_MISSING,
    SNU_REF_MISSING,
    SNU_TOO_LONG,
    SNU_WRONG_CONTENT,
)
from .models import Geo, Mrq, Mrs


class ScaipFormatError(PayloadError):
    """A request Navet cannot read; ``snu`` is the status number to answer with."""

    def __init__(self, reason: str, *, snu: int, ref: str | None = None,
                 device: str | None = None) -> None:
        super().__init__(reason, adapter=ADAPTER, device=device)
        self.snu = snu
        self.ref = ref


_REF = re.compile(r"^[A-Za-z0-9._:-]{1,32}$")
_DIGITS = re.compile(r"^[0-9]+$")
_VER = re.compile(r"^\d{1,2}\.\d{1,2}$")
_TEXT_MAX = 512  # every text element is far shorter in SS 91100; vendors overrun a little
_SINGLE = frozenset({
    "ref", "ver", "sco", "cha", "mty", "hbo", "cid", "dty", "did", "dco", "dte", "stc", "stt",
    "pri", "lco", "lva", "lge", "lte", "ico", "ite", "ame",
})
_MTY = frozenset({"ME", "RE", "IN", "PI"})


def _local(tag: object) -> str:
    name = tag if isinstance(tag, str) else ""
    return name.rsplit("}", 1)[-1].strip().lower()


def _fromstring(data: bytes, limit: int) -> Element:
    if len(data) > limit:
        raise ScaipFormatError(f"body of {len(data)} bytes exceeds the {limit}-byte limit",
                               snu=SNU_TOO_LONG)
    body = data.lstrip(b"\xef\xbb\xbf").strip()  # BOM and leading spaces seen from units
    if not body:
        raise ScaipFormatError("empty body, expected <mrq>", snu=SNU_INVALID_FORMAT)
    try:
        root = safe_et.fromstring(body, forbid_dtd=True, forbid_entities=True,
                                  forbid_external=True)
    except DefusedXmlException as err:
        raise ScaipFormatError(f"forbidden XML construct: {type(err).__name__}",
                               snu=SNU_INVALID_FORMAT) from err
    except (ParseError, ValueError, UnicodeError) as err:
        raise ScaipFormatError(f"not well-formed XML: {err}", snu=SNU_INVALID_FORMAT) from err
    return root  # type: ignore[no-any-return]  # defusedxml is untyped


def _collect(root: Element, expected: str) -> dict[str, list[Element]]:
    if _local(root.tag) != expected:
        raise ScaipFormatError(f"root element is <{_local(root.tag)}>, expected <{expected}>",
                               snu=SNU_INVALID_FORMAT)
    found: dict[str, list[Element]] = {}
    for child in root:
        found.setdefault(_local(child.tag), []).append(child)
    return found


def _text(el: Element) -> str:
    return (el.text or "").strip()


class _Reader:
    """Reads one element at a time, naming the element and value in every error."""

    def __init__(self, found: dict[str, list[Element]], ref: str | None) -> None:
        self.found = found
        self.ref = ref

    def fail(self, reason: str, snu: int = SNU_WRONG_CONTENT) -> ScaipFormatError:
        return ScaipFormatError(reason, snu=snu, ref=self.ref)

    def text(self, name: str, limit: int = _TEXT_MAX) -> str | None:
        els = self.found.get(name)
        if not els:
            return None
        values = {_text(e) for e in els}
        if len(values) > 1 and name in _SINGLE:
            raise self.fail(f"<{name}> appears {len(els)} times with different values")
        value = values.pop()
        if len(value) > limit:
            raise self.fail(f"<{name}> is {len(value)} characters, at most {limit} allowed")
        return value or None

    def code(self, name: str, width: int, lo: int = 0, hi: int | None = None) -> int | None:
        value = self.text(name)
        if value is None:
            return None
        if not _DIGITS.match(value) or len(value.lstrip("0")) > width:
            raise self.fail(f"<{name}> must be a number of at most {width} digits, got {value!r}")
        number = int(value)
        top = hi if hi is not None else 10**width - 1
        if not lo <= number <= top:
            raise self.fail(f"<{name}> must be {lo}..{top}, got {value!r}")
        return number


def parse_mrq(data: bytes, *, limit: int = MAX_XML_BYTES) -> Mrq:
    """Read one ``<mrq>``.

    :raises ScaipFormatError: (a ``PayloadError``) naming the element and value.
    """
    found = _collect(_fromstring(data, limit), "mrq")
    r = _Reader(found, None)
    ref = r.text("ref")
    if ref is None:
        raise r.fail("mandatory <ref> is missing", SNU_REF_MISSING)
    if not _REF.match(ref):
        raise r.fail(f"<ref> must be 1-32 letters, digits or ._:-, got {ref[:40]!r}")
    r.ref = ref
    cid = r.text("cid", 32)
    if cid is None:
        raise r.fail("mandatory <cid> is missing", SNU_MANDATORY_MISSING)
    if not _DIGITS.match(cid):
        raise r.fail(f"<cid> must be digits, got {cid!r}")
    dty = r.code("dty", 4)
    if dty is None:
        raise r.fail("mandatory <dty> is missing", SNU_MANDATORY_MISSING)
    mty = (r.text("mty") or "ME").upper()
    if mty not in _MTY:
        raise r.fail(f"<mty> must be ME, RE, IN or PI, got {mty!r}")
    ver = r.text("ver")
    if ver is not None and not _VER.match(ver):
        raise r.fail(f"<ver> must look like 01.00, got {ver!r}")
    crd = tuple(v for v in (_text(e)[:256] for e in found.get("crd", [])) if v)
    return Mrq(
        ref=ref, cid=cid, dty=dty, mty=mty, ver=ver,
        sco=r.code("sco", 1, 0, 3), cha=r.code("cha", 1, 0, 1), hbo=r.code("hbo", 3, 0, 3),
        did=r.text("did", 64), dco=r.code("dco", 3), dte=r.text("dte"), crd=crd,
        stc=r.code("stc", 4), stt=r.text("stt"), pri=r.code("pri", 1),
        lco=r.code("lco", 3), lva=r.text("lva", 32), lge=_geo(r, found), lte=r.text("lte"),
        ico=r.code("ico", 3), ite=r.text("ite"), ame=r.code("ame", 4),
    )


def _geo(r: _Reader, found: dict[str, list[Element]]) -> Geo | None:
    els = found.get("lge")
    if not els:
        return None
    if len(els) > 1:
        raise r.fail(f"<lge> appears {len(els)} times")
    inner = _Reader({_local(c.tag): [c] for c in els[0]}, r.ref)
    lat = lon = None
    geo = inner.text("geo", 64)
    if geo is not None:
        parts = geo.removeprefix("geo:").split(";")[0].split(",")
        try:
            lat, lon = float(parts[0]), float(parts[1])
        except (ValueError, IndexError):
            raise r.fail(f"<lge><geo> must be 'lat,lon', got {geo!r}") from None
        if not (-90 <= lat <= 90 and -180 <= lon <= 180):
            raise r.fail(f"<lge><geo> is outside WGS-84 ranges: {geo!r}")
    return Geo(lat=lat, lon=lon, tim=inner.text("tim", 32), gga=inner.text("gga", 128))


def _escape(value: str) -> str:
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def build_mrs(mrs: Mrs) -> bytes:
    """Write one ``<mrs>`` canonically (no namespace, fixed widths, ASCII)."""
    if not _REF.match(mrs.ref):
        raise ValueError(f"mrs ref must be letters or digits, got {mrs.ref!r}")
    if not 0 <= mrs.snu <= 999:
        raise ValueError(f"snu out of range: {mrs.snu}")
    parts = [f"<ref>{mrs.ref}</ref>", f"<snu>{mrs.snu}</snu>"]
    if mrs.ste:
        ascii_text = "".join(c if 32 <= ord(c) <= 126 else "?" for c in mrs.ste)[:128]
        parts.append(f"<ste>{_escape(ascii_text)}</ste>")
    if mrs.cve:
        parts.append(f"<cve>{mrs.cve}</cve>")
    if mrs.mre is not None:
        parts.append(f"<mre>{mrs.mre}</mre>")
    if mrs.cre is not None:
        parts.append(f"<cre>{mrs.cre:02d}</cre>")
    parts.extend(f"<tnu>{_escape(t)}</tnu>" for t in mrs.tnu)
    if mrs.hbi is not None:
        if not 1 <= mrs.hbi <= 1440:
            raise ValueError(f"hbi must be 1..1440 minutes, got {mrs.hbi}")
        parts.append(f"<hbi>{mrs.hbi}</hbi>")
    return ("<mrs>" + "".join(parts) + "</mrs>").encode("ascii")


def parse_mrs(data: bytes, *, limit: int = MAX_XML_BYTES) -> Mrs:
    """Read one ``<mrs>`` (used by forwarders and tests; same leniency as ``parse_mrq``)."""
    found = _collect(_fromstring(data, limit), "mrs")
    r = _Reader(found, None)
    ref = r.text("ref")
    if ref is None:
        raise r.fail("mandatory <ref> is missing", SNU_REF_MISSING)
    r.ref = ref
    snu = r.code("snu", 3)
    if snu is None:
        raise r.fail("mandatory <snu> is missing", SNU_MANDATORY_MISSING)
    tnu = tuple(_text(e) for e in found.get("tnu", []) if _text(e))
    return Mrs(ref=ref, snu=snu, ste=r.text("ste", 128), cve=r.text("cve"),
               mre=r.code("mre", 2), cre=r.code("cre", 2), tnu=tnu, hbi=r.code("hbi", 4))


class ParsedRequests:
    """The ``<mrq>`` the user agent parsed, kept for the adapter's ``decode`` of the same
    body, so a MESSAGE is parsed once (issue 14).

    Keyed by the exact body bytes: ``decode`` stays a function of its frame (the same
    bytes give the same request whether parsed here or again). Bounded; an entry is
    taken once. A body that did not parse is not kept: ``decode`` parses it again to
    raise the error with the adapter's name.
    """

    def __init__(self, size: int = 256) -> None:
        self.size = size
        self._items: dict[bytes, Mrq] = {}

    def keep(self, body: bytes, mrq: Mrq) -> None:
        if len(self._items) >= self.size:
            self._items.pop(next(iter(self._items)))
        self._items[body] = mrq

    def take(self, body: bytes) -> Mrq | None:
        return self._items.pop(body, None)

    def __len__(self) -> int:
        return len(self._items)

"""FHIR ids and references for Navet's own ids.

A FHIR id is ``[A-Za-z0-9\\-.]{1,64}``; Navet ids are not (``zigbee2mqtt:bed``,
pseudonyms with ``_``, vendor alarm ids). :func:`fhir_id` keeps letters, digits
and ``-`` and writes every other byte as ``.`` + two hex digits, so the mapping
is reversible and collision-free (``zigbee2mqtt:bed`` -> ``zigbee2mqtt.3abed``).
An id that would be longer than 64 characters becomes ``x..`` + a hash; ``..``
never occurs in an escaped id, so the two forms cannot collide, and the
repository resolves hashed ids by comparing candidates.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

FHIR_ID = re.compile(r"^[A-Za-z0-9\-.]{1,64}$")
_KEEP = re.compile(r"[A-Za-z0-9-]")
HASHED_PREFIX = "x.."


def fhir_id(navet_id: str) -> str:
    """The FHIR id for a Navet id (reversible unless hashed, see module docstring)."""
    out = []
    for ch in navet_id:
        if _KEEP.fullmatch(ch):
            out.append(ch)
        else:
            out.extend(f".{b:02x}" for b in ch.encode("utf-8"))
    escaped = "".join(out)
    if 0 < len(escaped) <= 64:
        return escaped
    return HASHED_PREFIX + hashlib.sha256(navet_id.encode("utf-8")).hexdigest()[:40]


def navet_id(fid: str) -> str | None:
    """The Navet id behind a FHIR id; None for hashed or malformed ids."""
    if fid.startswith(HASHED_PREFIX) or not FHIR_ID.match(fid):
        return None
    raw = bytearray()
    i = 0
    while i < len(fid):
        ch = fid[i]
        if ch == ".":
            try:
                raw.append(int(fid[i + 1:i + 3], 16))
            except ValueError:
                return None
            if len(fid[i + 1:i + 3]) != 2:
                return None
            i += 3
        else:
            raw.extend(ch.encode())
            i += 1
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return None


def ref(resource_type: str, navet: str) -> dict[str, Any]:
    """A literal reference to a resource this facade serves."""
    return {"reference": f"{resource_type}/{fhir_id(navet)}"}


def logical(resource_type: str, system: str, value: str) -> dict[str, Any]:
    """A logical reference (by identifier) to something the facade does not serve,
    such as a member of staff (Practitioner) or the municipality (Organization)."""
    return {"type": resource_type, "identifier": {"system": system, "value": value}}


def home_id(resident: str) -> str:
    """Navet id of the home Location of a resident."""
    return f"home-{resident}"


def alarm_location_id(alarm: str) -> str:
    """Navet id of the Location where an alarm with a known position happened."""
    return f"alarm-{alarm}"


def association_id(device: str) -> str:
    """Navet id of the DeviceAssociation of a device with its resident."""
    return f"assoc-{device}"

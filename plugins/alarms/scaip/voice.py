"""Voice-call negotiation in the answer to an alarm: ``mre``, ``cre`` and ``tnu``.

SS 91100 §5 and TR 91102 §5.3-5.7 (reference/scaip.md): after ``snu=0`` with
``mre >= 1`` the unit sets up a voice call within 60 s. What Navet answers
depends on what the unit offers and what the municipality configured for it:

- no ``mre`` configured, or the unit offers only ``no-voice:`` media: no voice;
- the unit asks for a callback (``cha=1``) and callbacks are configured:
  ``cre=<minutes>`` (the unit keeps auto-answer open that long) and no ``tnu``;
- a destination is configured (``call_to: gsm:+46...``) in a scheme the unit
  offers: ``cre=62`` and ``tnu`` with that destination;
- a preferred scheme (``call_scheme: gsm``) among several the unit offers:
  ``tnu=gsm:`` and ``cre=61`` (call the predefined receiver over that bearer);
- otherwise the unit calls its predefined receiver (``cre`` omitted = 61).

Navet does not carry the call itself (no RTP bridging): the unit calls the
alarm centre's number or SIP address directly.
"""

from __future__ import annotations

from typing import Any

from .models import Mrq, UnitSettings

CRE_PREDEFINED = 61
CRE_CALL_TNU = 62


def offered_media(mrq: Mrq) -> set[str]:
    """The media the unit can call with, from its ``crd`` (omitted means ``sip:``)."""
    media = {c.split(":", 1)[0].strip().lower() for c in mrq.crd if c.strip()} or {"sip"}
    return {"sip" if m == "sip-pp" else m for m in media}  # sip-pp is treated as sip


def voice_reply(mrq: Mrq, unit: UnitSettings) -> dict[str, Any]:
    """``mre``/``cre``/``tnu`` fields for the final ``snu=0`` answer to an alarm."""
    if not unit.mre:
        return {}
    offered = offered_media(mrq)
    if offered <= {"no-voice"}:
        return {}
    reply: dict[str, Any] = {"mre": unit.mre}
    if mrq.cha == 1 and unit.callback_minutes:
        reply["cre"] = unit.callback_minutes
    elif unit.call_to and unit.call_to.split(":", 1)[0] in offered:
        reply["cre"] = CRE_CALL_TNU
        reply["tnu"] = (unit.call_to,)
    elif unit.call_scheme and unit.call_scheme in offered and len(offered - {"no-voice"}) > 1:
        reply["cre"] = CRE_PREDEFINED
        reply["tnu"] = (f"{unit.call_scheme}:",)
    return reply

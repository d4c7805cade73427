"""Care configuration as resources: Patient, home Location, Device, DeviceAssociation, Consent.

A Patient is **pseudonymous**: its only identifier is the Navet pseudonym,
marked ``PSEUDED`` in ``meta.security``; it has no name, no personal identity
number, no address, no birth date. The home Location carries only what the
municipality configured for the resident's home (label, site code, point).
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from ..codes import DEVICEASSOCIATION_STATUS, V3_OBSERVATION_VALUE, V3_ROLE_CODE
from ..host import ConsentView
from ..ids import association_id, home_id, logical
from .common import base, coding, concept, device, home, meta, organization, patient, ts

PURPOSE = {"camera_supervision": "camera-supervision", "notify_relatives": "notify-relatives"}
ACTION = {"camera_supervision": "live-view", "notify_relatives": "notify"}


def patient_resource(tenant: str, resident: str) -> dict[str, Any]:
    out = base("Patient", resident)
    out["meta"] = {"security": [coding(V3_OBSERVATION_VALUE, "PSEUDED")]}
    out["identifier"] = [{"system": f"urn:navet:{tenant}:resident", "value": resident}]
    out["active"] = True
    out["managingOrganization"] = organization(tenant)
    return out


def home_location(tenant: str, resident: str, body: dict[str, Any]) -> dict[str, Any]:
    """The resident's home, from the resident's configuration row body."""
    out = base("Location", home_id(resident))
    home_cfg = body.get("home") or {}
    if home_cfg.get("code"):
        out["identifier"] = [{"system": f"urn:navet:{tenant}:site", "value": home_cfg["code"]}]
    out["status"] = "active"
    out["name"] = body.get("label") or f"Home of {resident}"
    if home_cfg.get("text"):
        out["description"] = home_cfg["text"]
    out["mode"] = "instance"
    out["type"] = [{"coding": [coding(V3_ROLE_CODE, "PTRES")]}]
    point = home_cfg.get("point")
    if point:
        out["position"] = {"latitude": point["lat"], "longitude": point["lon"]}
    out["managingOrganization"] = organization(tenant)
    return out


def device_resource(row: dict[str, Any]) -> dict[str, Any]:
    """A device from its row in the devices table."""
    body = json.loads(row.get("body") or "{}")
    out = base("Device", row["id"])
    if row.get("last_seen"):
        out["meta"] = meta(datetime.fromisoformat(row["last_seen"]))
    out["identifier"] = [{"system": "urn:navet:device", "value": row["id"]},
                         {"system": f"urn:navet:adapter:{row['adapter']}",
                          "value": row["address"]}]
    name = " ".join(p for p in (body.get("vendor"), body.get("model")) if p)
    out["displayName"] = name or row["kind"].replace("_", " ")
    out["status"] = "active"
    if body.get("vendor"):
        out["manufacturer"] = body["vendor"]
    if body.get("model"):
        out["modelNumber"] = body["model"]
    out["type"] = [concept("device-kind", row["kind"])]
    if body.get("location"):
        out["property"] = [{"type": concept("device-property", "placement"),
                            "valueString": body["location"]}]
    out["owner"] = organization(row["tenant"])
    if row.get("resident"):
        out["location"] = home(row["resident"])
    return out


def association(row: dict[str, Any]) -> dict[str, Any] | None:
    """The device is issued to its resident (None for an unassigned device)."""
    if not row.get("resident"):
        return None
    out = base("DeviceAssociation", association_id(row["id"]))
    out["device"] = device(row["id"])
    out["category"] = [concept("device-relationship", "issued-to-resident")]
    out["status"] = {"coding": [coding(DEVICEASSOCIATION_STATUS, "attached")]}
    out["subject"] = patient(row["resident"])
    return out


def consent_resource(tenant: str, consent: ConsentView, now: datetime) -> dict[str, Any]:
    """A consent from the care configuration; ``status`` as it stands at ``now``."""
    out = base("Consent", consent.id)
    out["identifier"] = [{"system": f"urn:navet:{tenant}:consent", "value": consent.id}]
    if consent.valid_at(now):
        status = "active"
    elif now < consent.valid_from and consent.withdrawn is None:
        status = "draft"
    else:
        status = "inactive"
    out["status"] = status
    out["subject"] = patient(consent.resident)
    out["date"] = consent.valid_from.date().isoformat()
    period = {"start": ts(consent.valid_from)}
    end = min((t for t in (consent.valid_to, consent.withdrawn) if t is not None), default=None)
    if end is not None:
        period["end"] = ts(end)
    out["period"] = period
    if consent.given_by == "resident":
        out["grantor"] = [patient(consent.resident)]
    else:  # a cohabitant; identified by the consent, never by name
        out["grantor"] = [logical("RelatedPerson", f"urn:navet:{tenant}:cohabitant", consent.id)]
    out["grantee"] = [organization(tenant)]
    out["controller"] = [organization(tenant)]
    out["regulatoryBasis"] = [{"text": consent.legal_basis}]
    out["decision"] = "permit"
    out["provision"] = [{
        "action": [concept("consent-action", ACTION[consent.purpose])],
        "purpose": [coding("urn:navet:fhir:CodeSystem:consent-purpose", PURPOSE[consent.purpose])],
    }]
    return out

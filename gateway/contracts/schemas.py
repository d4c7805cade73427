"""JSON Schema (draft 2020-12) of the events, generated from the pydantic models."""

from __future__ import annotations

from typing import Any

from gateway.core.model import CATALOGUE, EVENT_MODELS, EventAdapter, EventBase
from gateway.core.model.cloudevents import dataschema

from .examples import example_event

DRAFT = "https://json-schema.org/draft/2020-12/schema"
URN = dataschema("").removesuffix(":")  # urn:navet:contract:v<major>


def _schema(urn: str, title: str, description: str, body: dict[str, Any]) -> dict[str, Any]:
    body = dict(body)
    body.pop("title", None)
    body.pop("description", None)
    return {"$schema": DRAFT, "$id": urn, "title": title, "description": description, **body}


def event_schema(event_type: str) -> dict[str, Any]:
    """JSON Schema of one whole event (envelope + typed ``data``) of ``event_type``."""
    body = EVENT_MODELS[event_type].model_json_schema()
    body["properties"]["type"] = {"const": event_type, "type": "string"}
    body["required"] = ["type", *body["required"]]  # the literal has a default in Python only
    body["examples"] = [example_event(event_type).model_dump(mode="json")]
    return _schema(dataschema(event_type), event_type, CATALOGUE[event_type][1], body)


def envelope_schema() -> dict[str, Any]:
    """JSON Schema of the envelope every event shares; ``data`` is typed per type."""
    body = EventBase.model_json_schema()
    body["properties"]["type"] = {"enum": list(CATALOGUE), "type": "string",
                                  "description": "Event type from the v1 catalogue."}
    body["properties"]["data"] = {"type": "object",
                                  "description": "Typed per event type: see events/<type>.json."}
    body.get("$defs", {}).pop("Strict", None)
    return _schema(f"{URN}:envelope", "Navet event envelope",
                   "Fields every Navet event carries, whatever its type.", body)


def union_schema() -> dict[str, Any]:
    """JSON Schema of any v1 event: one of the event types, chosen by ``type``."""
    return _schema(f"{URN}:event", "Navet event",
                   "Any event of contract v1; ``type`` selects the schema.",
                   EventAdapter.json_schema())

"""AsyncAPI channels of out-of-process adapters (contract 1.3; gateway/core/remote)."""

from __future__ import annotations

from typing import Any

from gateway.core.adapters import Manifest
from gateway.core.model import CONTRACT_VERSION

_BASE = "{prefix}/{tenant}/adapters/{adapter}"
_PARAMS = {
    "prefix": {"description": "The instance setting `prefix` (default `navet`).",
               "examples": ["navet"]},
    "tenant": {"description": "Tenant slug: the adapter instance's tenant.",
               "examples": ["vasteras"]},
    "adapter": {"description": "The adapter's manifest name, declared in the deployment's "
                "`remote_adapters`.", "examples": ["nyckelbo"]},
}
_TIME = {"type": "string", "format": "date-time"}

HELLO: dict[str, Any] = {
    "type": "object",
    "required": ["state"],
    "properties": {
        "state": {"enum": ["online", "offline"], "description": "`online` when the process "
                  "connects; `offline` as its MQTT last will (retained) and when it stops."},
        "manifest": {"type": "object", "description": "The adapter's manifest (required with "
                     "`online`): checked against the one the deployment declared.",
                     "properties": {k: {} for k in Manifest.model_fields}},
        "heartbeat_s": {"type": "number", "exclusiveMinimum": 0, "maximum": 3600,
                        "description": "Seconds between heartbeats (default 10); silent for "
                        "three of them, the process counts as down."},
        "session": {"type": "string", "maxLength": 100,
                    "description": "Random per process start; echoed in `welcome`."},
        "time": _TIME | {"description": "When this connection began (makes the "
                         "`device.online` id of a reconnect distinct)."},
        "reason": {"type": "string", "maxLength": 200},
    },
    "examples": [{"state": "online", "session": "3f0b8e2a", "heartbeat_s": 10,
                  "time": "2026-01-01T07:00:00Z",
                  "manifest": {"name": "nyckelbo", "vendor": "Nyckelbo",
                               "description": "Door locks", "device_kinds": ["door_lock"],
                               "transports": ["mqtt"], "contract": ">=1.3,<2",
                               "commands": ["lock.unlock", "lock.lock"], "version": "0.1.0"}}],
}
HEARTBEAT: dict[str, Any] = {
    "type": "object",
    "properties": {"time": _TIME, "unacked": {"type": "integer", "minimum": 0,
                                              "description": "Events still waiting for an ack."}},
}
ACK: dict[str, Any] = {
    "type": "object",
    "required": ["id", "status"],
    "properties": {
        "id": {"type": ["string", "null"], "description": "The event id (null only when a "
               "refused payload named none)."},
        "status": {"enum": ["stored", "duplicate", "refused"], "description":
                   "stored: committed now; duplicate: that id was stored before; refused: "
                   "invalid, kept as a dead letter (`reason` says why); do not resend."},
        "reason": {"type": "string"},
        "frame": {"type": "string", "description": "With `refused`: the dead letter's frame "
                  "reference (sha256), for the operator."},
    },
}
WELCOME: dict[str, Any] = {
    "type": "object",
    "required": ["accepted", "contract", "adapter", "tenant"],
    "properties": {
        "accepted": {"type": "boolean"},
        "reason": {"type": ["string", "null"], "description": "Why the hello was refused "
                   "(manifest name, contract range, device kinds or commands not declared)."},
        "contract": {"type": "string", "examples": [CONTRACT_VERSION]},
        "adapter": {"type": "string"},
        "tenant": {"type": "string"},
        "session": {"type": ["string", "null"]},
    },
}
COMMAND: dict[str, Any] = {
    "type": "object",
    "required": ["id", "name", "device", "address", "args", "issued", "requested_by"],
    "properties": {
        "id": {"type": "string", "description": "Unique per request; answer with it, and "
               "execute a redelivered id only once."},
        "name": {"type": "string", "examples": ["lock.unlock"]},
        "device": {"type": "string", "description": "Navet device id `<adapter>:<address>`."},
        "address": {"type": "string", "description": "The device's address at the vendor."},
        "resident": {"type": ["string", "null"]},
        "args": {"type": "object"},
        "issued": _TIME,
        "requested_by": {"type": "object", "properties": {"kind": {"type": "string"},
                                                          "id": {"type": "string"}}},
    },
}
RESULT: dict[str, Any] = {
    "type": "object",
    "required": ["id", "accepted"],
    "properties": {
        "id": {"type": "string", "description": "The command's id."},
        "accepted": {"type": "boolean", "description": "false: the vendor or device refused "
                     "(`reason`). What the device then did comes as an event."},
        "reason": {"type": "string", "maxLength": 500},
        "vendor_ref": {"type": ["string", "null"], "maxLength": 200},
    },
}


def channels() -> dict[str, Any]:
    def ch(name: str, description: str, message: str) -> dict[str, Any]:
        return {"address": f"{_BASE}/{name}", "description": description,
                "parameters": _PARAMS,
                "messages": {message: {"$ref": f"#/components/messages/{message}"}}}

    return {
        "adapterHello": ch("hello", "An out-of-process adapter announces itself (retained, "
                           "QoS 1) with its manifest; its MQTT last will on the same topic "
                           "(retained) says `offline`. Navet answers on `adapterWelcome` and "
                           "stores the process's state as `device.online`/`device.offline` of "
                           "device `<adapter>:adapter-process`.", "adapterHello"),
        "adapterHeartbeat": ch("heartbeat", "Liveness of the adapter process, every "
                               "`heartbeat_s`. No heartbeat for three intervals (instance "
                               "setting `silent_after_s`): `device.offline` of the process "
                               "device, and commands fail at once.", "adapterHeartbeat"),
        "adapterEvents": ch("events", "One contract event per message as a CloudEvent, "
                            "exactly the northbound form (see cloudevents.md), QoS 1, with "
                            "`source` `/navet/<tenant>/<adapter>`, device ids "
                            "`<adapter>:<address>` of the manifest's device kinds. The adapter "
                            "keeps each event (durably) until it is acknowledged on "
                            "`adapterAcks`, and sends what is unacknowledged again after a "
                            "reconnect; the same id is stored once. The adapter may instead "
                            "publish on "
                            "`events/<key>` (one topic level, e.g. the device's address): "
                            "Navet keeps the order of each topic and handles different keys "
                            "in parallel, so a busy adapter is not limited to one store "
                            "commit at a time.", "cloudEvent"),
        "adapterAcks": ch("acks", "Navet acknowledges each event only once it is durably "
                          "stored (or, if invalid, kept as a dead letter): durable before "
                          "ack, end to end. Published QoS 1 by Navet only; the adapter's "
                          "identity may read it, never write it.", "adapterAck"),
        "adapterWelcome": ch("welcome", "Navet's answer to a hello: accepted, or the reason "
                             "it is refused (the adapter should stop and say why).",
                             "adapterWelcome"),
        "adapterCommands": ch("commands", "A command for one of the adapter's devices, after "
                              "Navet's policy allowed it and it was audited (QoS 1).",
                              "adapterCommand"),
        "adapterResults": ch("results", "The adapter's answer to a command, within the "
                             "instance's `command_timeout_s` (default 10 s).",
                             "adapterResult"),
    }


def operations() -> dict[str, Any]:
    q1 = {"mqtt": {"qos": 1, "retain": False, "bindingVersion": "0.2.0"}}
    ops: dict[str, Any] = {}
    for name, action, summary, bindings in [
        ("adapterHello", "receive", "Navet reads each adapter's hello (retained) and will.",
         {"mqtt": {"qos": 1, "retain": True, "bindingVersion": "0.2.0"}}),
        ("adapterHeartbeat", "receive", "Navet watches each adapter process's heartbeat.",
         {"mqtt": {"qos": 0, "retain": False, "bindingVersion": "0.2.0"}}),
        ("adapterEvents", "receive", "Navet stores each event, then acknowledges it.", q1),
        ("adapterAcks", "send", "Navet acknowledges a durably stored event.", q1),
        ("adapterWelcome", "send", "Navet answers a hello.", q1),
        ("adapterCommands", "send", "Navet sends a command to the adapter.", q1),
        ("adapterResults", "receive", "Navet reads a command's result.", q1),
    ]:
        ops[f"{'read' if action == 'receive' else 'publish'}{name[0].upper()}{name[1:]}"] = {
            "action": action, "channel": {"$ref": f"#/channels/{name}"}, "summary": summary,
            "bindings": bindings}
    return ops


def messages() -> dict[str, Any]:
    return {
        "adapterHello": {"name": "Adapter hello", "payload": HELLO},
        "adapterHeartbeat": {"name": "Adapter heartbeat", "payload": HEARTBEAT},
        "adapterAck": {"name": "Event acknowledgement", "payload": ACK},
        "adapterWelcome": {"name": "Welcome", "payload": WELCOME},
        "adapterCommand": {"name": "Command", "payload": COMMAND},
        "adapterResult": {"name": "Command result", "payload": RESULT},
    }

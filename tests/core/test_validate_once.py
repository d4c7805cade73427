"""Validate once, hash once, serialise once (issue 15): the fast paths give exactly what the
slow ones gave."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway import (
    ContractError,
    DeviceRef,
    RawFrame,
    SourceRef,
    event_id,
    make_event,
    to_cloudevent,
)
from gateway.contracts import example_event
from gateway.core.model import CATALOGUE, EVENT_MODELS, EventAdapter, Location
from gateway.sdk.model import bodies
from gateway.sdk.model.cloudevents import stored_cloudevent
from gateway.sdk.model.events import NAVET_NAMESPACE

AT = datetime(2026, 1, 1, 7, 30, tzinfo=UTC)
SOURCE = {"adapter": "zigbee2mqtt", "protocol": "zigbee2mqtt", "ref": "m-1"}
DEVICE = {"id": "zigbee2mqtt:hall_door", "kind": "passive_sensor"}


@given(st.lists(st.one_of(st.none(), st.text()), max_size=6))
def test_event_id_is_the_uuid5_of_the_joined_parts(parts: list[str | None]) -> None:
    name = "\x1f".join(p or "" for p in parts)
    assert event_id(*parts) == str(uuid.uuid5(NAVET_NAMESPACE, name))


@pytest.mark.parametrize("event_type", list(CATALOGUE))
def test_make_event_gives_what_validating_the_whole_event_gives(event_type: str) -> None:
    """One validation against the type's own model, parts given as mappings or as models,
    is the same event the union of all types makes of its JSON."""
    example = example_event(event_type)
    as_dicts = example.model_dump(mode="json")
    kwargs: dict[str, Any] = {
        k: as_dicts[k] for k in ("tenant", "resident", "alarm", "priority", "location")
    }
    built = make_event(event_type, time=example.time, source=as_dicts["source"],
                       device=as_dicts["device"], data=as_dicts["data"], id=example.id, **kwargs)
    from_models = make_event(event_type, time=example.time, source=example.source,
                             device=example.device, data=example.data, id=example.id,
                             **{**kwargs, "location": example.location})
    assert built == from_models == EventAdapter.validate_python(as_dicts)
    assert type(built) is EVENT_MODELS[event_type]
    assert from_models.source is example.source  # a contract model is taken as it is


def test_the_id_is_the_same_whether_parts_come_as_mappings_or_models() -> None:
    from_dicts = make_event("device.heartbeat", tenant="vasteras", time=AT, source=SOURCE,
                            device=DEVICE, data={})
    from_models = make_event("device.heartbeat", tenant="vasteras", time=AT,
                             source=SourceRef(**SOURCE), device=DeviceRef(**DEVICE), data={})
    assert from_dicts.id == from_models.id == event_id(
        "zigbee2mqtt", "zigbee2mqtt:hall_door", "m-1", "device.heartbeat")


def test_data_given_as_another_types_model_is_checked_as_this_types_data() -> None:
    """A body model of another type is dumped and validated as this type's data: fields
    that fit pass, the rest are refused by name (as before the single validation)."""
    ok = make_event("device.online", tenant="vasteras", time=AT, source=SOURCE,
                    device=DEVICE, data=bodies.Empty())
    assert type(ok.data) is bodies.DeviceOnline
    with pytest.raises(ContractError, match=r"data\.level_pct: Extra inputs"):
        make_event("device.heartbeat", tenant="vasteras", time=AT, source=SOURCE,
                   device=DEVICE, data=bodies.DeviceBattery(level_pct=10, low=True))


def test_errors_in_parts_name_the_part() -> None:
    with pytest.raises(ContractError) as caught:
        make_event("device.heartbeat", tenant="vasteras", time=AT, device=DEVICE, data={},
                   source={"protocol": "zigbee2mqtt", "adapter": 7},
                   location=Location(text="hall"))
    message = str(caught.value)
    assert message.startswith("event of type 'device.heartbeat' breaks contract v1: ")
    assert "source.adapter: Input should be a valid string" in message


def test_a_frame_is_hashed_once() -> None:
    frame = RawFrame("zigbee2mqtt", "vasteras", "mqtt", "zigbee2mqtt/hall_door", b"{}", AT)
    first = frame.ref
    assert frame._ref == first  # kept on the frame
    object.__setattr__(frame, "_ref", "cached")
    assert frame.ref == "cached"  # not hashed again
    again = RawFrame("zigbee2mqtt", "vasteras", "mqtt", "zigbee2mqtt/hall_door", b"{}", AT)
    assert again.ref == first and again == frame  # the cache is no part of equality


# --------------------------------------------------------------------------- serialise once


@pytest.mark.parametrize("event_type", list(CATALOGUE))
def test_the_stored_json_gives_the_cloudevent_the_model_gives(event_type: str) -> None:
    """The live streams send the JSON the store wrote, rearranged as a CloudEvent; it is
    the CloudEvent of the event, to the byte, whatever the times' offsets and precision."""
    example = example_event(event_type)
    for update in ({}, {"received": datetime(2026, 1, 1, 7, 30, 0, 123456, tzinfo=UTC)},
                   {"time": datetime(2026, 1, 1, 7, 30, 0, 500,
                                     tzinfo=timezone(timedelta(hours=1)))},
                   {"resident": "r-7", "alarm": "a-1", "priority": "critical"}):
        event = EVENT_MODELS[event_type].model_validate(
            {**example.model_dump(), **update})
        expected = json.dumps(to_cloudevent(event), separators=(",", ":"))
        got = json.dumps(stored_cloudevent(event.model_dump_json()), separators=(",", ":"))
        assert got == expected

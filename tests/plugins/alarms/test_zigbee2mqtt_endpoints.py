"""Zigbee2MQTT endpoint suffixes (``contact_l2``) become ``location.zone`` of their own report."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from gateway import Event, PayloadError, RawFrame
from plugins.alarms.zigbee2mqtt.adapter import Zigbee2MqttAdapter

NOW = datetime(2026, 1, 1, 3, 0, tzinfo=UTC)


def decode(body: dict[str, Any]) -> list[Event]:
    frame = RawFrame("zigbee2mqtt", "vasteras", "mqtt", "zigbee2mqtt/r1001_door",
                     json.dumps(body).encode(), NOW, meta={"base_topic": "zigbee2mqtt"})
    return Zigbee2MqttAdapter({}).decode(frame)


def test_each_endpoint_is_its_own_report_with_the_endpoint_as_zone() -> None:
    events = decode({"contact_l1": False, "contact_l2": True, "temperature_l2": 21.5,
                     "battery": 80, "linkquality": 90, "last_seen": 1767236400000})
    reports = {e.location.zone if e.location else None: e for e in events
               if e.type == "sensor.reported"}
    assert set(reports) == {"l1", "l2"}
    assert reports["l1"].data.readings.contact is False
    assert reports["l2"].data.readings.contact is True
    assert reports["l2"].data.readings.temperature_c == 21.5
    assert reports["l2"].location is not None and reports["l2"].location.text == "endpoint l2"
    assert len({e.id for e in events}) == len(events)  # distinct, deterministic ids
    assert [e.id for e in events] == [e.id for e in decode({
        "contact_l1": False, "contact_l2": True, "temperature_l2": 21.5, "battery": 80,
        "linkquality": 90, "last_seen": 1767236400000})]


def test_readings_without_suffix_are_one_report_without_zone() -> None:
    (report,) = [e for e in decode({"contact": True}) if e.type == "sensor.reported"]
    assert report.location is None


def test_settings_that_look_like_readings_are_not_read_as_endpoints() -> None:
    events = decode({"occupancy": True, "occupancy_timeout": 90, "fall_sensitivity": "high"})
    (report,) = [e for e in events if e.type == "sensor.reported"]
    assert report.location is None and report.data.readings.occupancy is True


def test_an_endpoint_reading_of_the_wrong_type_is_a_payload_error_naming_it() -> None:
    with pytest.raises(PayloadError, match="contact_l2"):
        decode({"contact_l2": "open"})

"""The alarm record keeps the zone and user of its raise when a later position moves it."""

from __future__ import annotations

from datetime import UTC, datetime

from gateway import make_event
from gateway.core.rules.alarms import AlarmRecord

T0 = datetime(2026, 1, 1, 3, 0, tzinfo=UTC)


def test_a_position_update_keeps_zone_user_text_and_code() -> None:
    common = {"tenant": "vasteras", "time": T0, "alarm": "a-1",
              "device": {"id": "dc09:1234", "kind": "social_alarm"}}
    rec = AlarmRecord("vasteras", "a-1")
    rec.apply(make_event("alarm.raised", **common,
                         source={"adapter": "dc09", "protocol": "sia-dc09", "ref": "1"},
                         location={"text": "zone 011", "code": "zone 011", "zone": "011",
                                   "user": "0042"},
                         data={"kind": "personal_button"}))
    rec.apply(make_event("alarm.updated", **common,
                         source={"adapter": "dc09", "protocol": "sia-dc09", "ref": "2"},
                         data={"position": {"lat": 59.61, "lon": 16.54}}))
    assert rec.location is not None
    assert (rec.location.zone, rec.location.user) == ("011", "0042")
    assert (rec.location.text, rec.location.code) == ("zone 011", "zone 011")
    assert rec.location.point is not None and rec.location.point.lat == 59.61

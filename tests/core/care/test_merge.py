"""What a partial care document means: merge by default, replace only the lists named."""

from __future__ import annotations

import pytest

from gateway.core.care.merge import merge_tenant, removed
from gateway.errors import ConfigError

STORED = {
    "id": "vasteras", "name": "Västerås stad", "timezone": "Europe/Stockholm",
    "alarms": {"receivers": ["centre"], "ack_deadline_s": 120},
    "staff": [{"id": "s-1", "label": "Anna", "teams": ["norr"]}, {"id": "s-2"}],
    "passive": [{"resident": "r-1", "bed_exit": True}],
}


def test_fields_and_items_left_out_keep_their_values() -> None:
    out = merge_tenant(STORED, {"id": "vasteras", "alarms": {"ack_deadline_s": 60},
                                "staff": [{"id": "s-1", "label": "Anna L"}, {"id": "s-3"}],
                                "passive": [{"resident": "r-1", "bed_exit": False}]}, [])
    assert out["name"] == "Västerås stad"
    assert out["alarms"] == {"receivers": ["centre"], "ack_deadline_s": 60}
    assert out["staff"] == [{"id": "s-1", "label": "Anna L", "teams": ["norr"]},
                            {"id": "s-2"}, {"id": "s-3"}]
    assert out["passive"] == [{"resident": "r-1", "bed_exit": False}]  # keyed by resident
    assert STORED["staff"][0]["label"] == "Anna"  # the stored dict is not changed


def test_replace_makes_the_named_lists_exactly_what_is_given() -> None:
    out = merge_tenant(STORED, {"id": "vasteras", "staff": [{"id": "s-2", "label": "B"}]},
                       ["staff", "passive"])
    assert out["staff"] == [{"id": "s-2", "label": "B"}]  # not merged with the stored s-2
    assert out["passive"] == []  # named, not given: emptied
    assert removed("staff", STORED["staff"], out["staff"]) == ["s-1"]


def test_a_new_tenant_is_what_is_given() -> None:
    given = {"id": "sala", "name": "Sala kommun", "staff": [{"id": "x"}]}
    assert merge_tenant(None, given, []) == given


def test_an_item_given_twice_is_refused() -> None:
    with pytest.raises(ConfigError, match="devices 'z:bed' is given twice"):
        merge_tenant(STORED, {"id": "vasteras", "devices": [
            {"adapter": "z", "address": "bed"}, {"adapter": "z", "address": "bed"}]}, [])

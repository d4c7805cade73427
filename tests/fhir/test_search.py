"""Search parameters: dates at their precision, refusals that name the parameter."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from gateway.fhir.search import SearchError, SearchQuery, parse_date


def at(s: str) -> datetime:
    return datetime.fromisoformat(s).astimezone(UTC)


def test_dates_denote_ranges_at_their_precision() -> None:
    assert parse_date("2026") == ("eq", at("2026-01-01T00:00:00+00:00"),
                                  at("2027-01-01T00:00:00+00:00"))
    assert parse_date("ge2026-12")[1:] == (at("2026-12-01T00:00:00+00:00"),
                                          at("2027-01-01T00:00:00+00:00"))
    assert parse_date("lt2026-01-01T08:00+01:00")[1:] == (
        at("2026-01-01T07:00:00+00:00"), at("2026-01-01T07:01:00+00:00"))
    with pytest.raises(SearchError, match="not a FHIR date"):
        parse_date("2026-01-01T08:00")  # a time needs its offset


def resource(updated: str, status: str = "final") -> dict[str, object]:
    return {"resourceType": "Observation", "id": "o", "status": status,
            "meta": {"lastUpdated": updated}, "subject": {"reference": "Patient/r-1"}}


def test_matching() -> None:
    q = SearchQuery.parse("Observation", [("_lastUpdated", "gt2026-01-01"),
                                          ("_lastUpdated", "lt2026-01-03"),
                                          ("status", "final,amended"),
                                          ("patient", "r-1")], lambda fid: fid)
    assert q.resident == "r-1"
    assert q.matches(resource("2026-01-02T10:00:00Z"))
    assert not q.matches(resource("2026-01-01T23:59:59Z"))  # gt a day = after that day
    assert not q.matches(resource("2026-01-02T10:00:00Z", "preliminary"))


def test_refusals_name_the_parameter() -> None:
    with pytest.raises(SearchError, match="'code' is not supported for Task"):
        SearchQuery.parse("Task", [("code", "fall")], lambda fid: None)
    with pytest.raises(SearchError, match="'status:not'"):
        SearchQuery.parse("Task", [("status:not", "completed")], lambda fid: None)
    with pytest.raises(SearchError, match="Patient/<id>"):
        SearchQuery.parse("Task", [("patient", "Device/x")], lambda fid: None)
    with pytest.raises(SearchError, match="'status' is not supported for Patient"):
        SearchQuery.parse("Patient", [("status", "active")], lambda fid: None)
    q = SearchQuery("Task")
    with pytest.raises(SearchError):
        q.paging("-1", None)

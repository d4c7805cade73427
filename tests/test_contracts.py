"""The published contracts in contracts/ say what the code does, and an outside validator agrees.

``jsonschema`` is deliberately not pydantic: if our generated schemas were
wrong, a consumer validating with any standard tool would find out before we
did. These tests make us find out first.
"""

from __future__ import annotations

import functools
import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft202012Validator

from gateway import CONTRACT_VERSION, to_cloudevent
from gateway.contracts import DEFAULT_DIR, check, check_vector, example_event, write
from gateway.core.model import CATALOGUE

VECTORS = sorted(DEFAULT_DIR.glob("vectors/*/*.json"))


def _load(rel: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((DEFAULT_DIR / rel).read_text(encoding="utf-8"))
    return data


@functools.cache
def _validator(rel: str) -> Draft202012Validator:
    schema = _load(rel)
    Draft202012Validator.check_schema(schema)  # the schema itself is valid 2020-12
    return Draft202012Validator(schema)


# --------------------------------------------------------------------------- code == contracts/


def test_committed_contracts_match_the_code() -> None:
    problems = check(DEFAULT_DIR)
    assert not problems, (
        "contracts/ and the code disagree; if the change is intended, run "
        "`python -m gateway.contracts write`, record it in contracts/CHANGELOG.md, and commit:\n\n"
        + "\n\n".join(problems)
    )


@pytest.fixture
def contracts_copy(tmp_path: Path) -> Path:
    copy = tmp_path / "contracts"
    shutil.copytree(DEFAULT_DIR, copy)
    return copy


def test_check_lists_every_difference_with_a_diff(contracts_copy: Path) -> None:
    battery = contracts_copy / "events" / "device.battery.json"
    battery.write_text(battery.read_text().replace('"maximum": 100', '"maximum": 101'))
    (contracts_copy / "VERSION").unlink()
    (contracts_copy / "events" / "device.teleported.json").write_text("{}")

    problems = check(contracts_copy)

    assert len(problems) == 3, problems
    changed = next(p for p in problems if p.startswith("changed: events/device.battery.json"))
    diff_lines = [line.replace(" ", "") for line in changed.splitlines()]
    assert '-"maximum":101,' in diff_lines and '+"maximum":100,' in diff_lines
    assert "missing: VERSION" in problems
    assert "unexpected: events/device.teleported.json (no such event type)" in problems


def test_check_notices_a_stale_generated_block_and_write_repairs_it(contracts_copy: Path) -> None:
    text = (contracts_copy / "adapter-contract.md").read_text()
    stale = text.replace(f"Contract version: **{CONTRACT_VERSION}**", "Contract version: **0.9**")
    (contracts_copy / "adapter-contract.md").write_text(stale)

    assert [p.splitlines()[0] for p in check(contracts_copy)] == ["changed: adapter-contract.md"]
    assert write(contracts_copy) == ["adapter-contract.md"]
    assert check(contracts_copy) == []
    assert (contracts_copy / "adapter-contract.md").read_text() == text  # prose kept


def test_cli_check_exits_1_and_prints_the_differences(contracts_copy: Path) -> None:
    (contracts_copy / "events" / "lock.jammed.json").write_text("{}\n")
    run = subprocess.run(
        [sys.executable, "-m", "gateway.contracts", "check", str(contracts_copy)],
        capture_output=True, text=True, timeout=120,
    )
    assert run.returncode == 1, run.stdout + run.stderr
    assert "changed: events/lock.jammed.json" in run.stdout
    assert "1 difference(s)" in run.stdout

    ok = subprocess.run(
        [sys.executable, "-m", "gateway.contracts", "check", str(DEFAULT_DIR)],
        capture_output=True, text=True, timeout=120,
    )
    assert ok.returncode == 0, ok.stdout + ok.stderr


def test_write_creates_a_complete_contract_in_an_empty_directory(tmp_path: Path) -> None:
    write(tmp_path)
    assert (tmp_path / "VERSION").read_text() == f"{CONTRACT_VERSION}\n"
    assert sorted(p.stem for p in (tmp_path / "events").glob("*.json")) == sorted(CATALOGUE)
    assert check(tmp_path) == []


# --------------------------------------------------------------------------- golden vectors


def test_there_are_good_and_bad_zigbee2mqtt_vectors() -> None:
    z2m = [json.loads(p.read_text()) for p in VECTORS if p.parent.name == "zigbee2mqtt"]
    assert sum("events" in v for v in z2m) >= 6
    assert sum("error" in v for v in z2m) >= 4


@pytest.mark.parametrize("path", VECTORS, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_golden_vector(path: Path) -> None:
    assert check_vector(path) == []


def test_a_wrong_vector_is_reported(tmp_path: Path) -> None:
    vector = json.loads((DEFAULT_DIR / "vectors/zigbee2mqtt/battery_low.json").read_text())
    vector["events"][0]["data"]["low"] = False
    path = tmp_path / "zigbee2mqtt" / "battery_low.json"
    path.parent.mkdir()
    path.write_text(json.dumps(vector))

    problems = check_vector(path)

    assert len(problems) == 1
    diff_lines = [line.replace(" ", "") for line in problems[0].splitlines()]
    assert '-"low":false,' in diff_lines and '+"low":true,' in diff_lines


def test_an_error_vector_that_decodes_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "zigbee2mqtt" / "x.json"
    path.parent.mkdir()
    frame = {"address": "zigbee2mqtt/door", "payload": '{"contact": true}', "tenant": "t",
             "received": "2026-01-01T00:00:00+00:00"}
    path.write_text(json.dumps({"frame": frame, "error": "not JSON"}))
    assert check_vector(path) == ["expected PayloadError containing 'not JSON', got 2 events"]


# --------------------------------------------------------------------------- independent validator


@pytest.mark.parametrize("event_type", list(CATALOGUE))
def test_example_event_validates_against_its_schema_and_the_union(event_type: str) -> None:
    event = example_event(event_type).model_dump(mode="json")
    schema = _load(f"events/{event_type}.json")
    assert schema["$id"] == f"urn:navet:contract:v1:{event_type}"
    assert schema["examples"] == [event]

    assert list(_validator(f"events/{event_type}.json").iter_errors(event)) == []
    assert list(_validator("event.json").iter_errors(event)) == []
    assert list(_validator("envelope.json").iter_errors(event)) == []


@pytest.mark.parametrize("event_type", list(CATALOGUE))
def test_schema_refuses_what_the_model_refuses(event_type: str) -> None:
    good = example_event(event_type).model_dump(mode="json")
    validator = _validator(f"events/{event_type}.json")
    other = "alarm.raised" if event_type != "alarm.raised" else "alarm.closed"

    assert not validator.is_valid({**good, "colour": "red"})  # extra envelope field
    assert not validator.is_valid({**good, "data": {**good["data"], "colour": "red"}})
    assert not validator.is_valid({k: v for k, v in good.items() if k != "type"})
    assert not validator.is_valid({**good, "type": other})
    assert not validator.is_valid({**good, "tenant": "Västerås"})  # not a slug


def test_events_from_the_vectors_validate_against_the_published_union() -> None:
    union = _validator("event.json")
    checked = 0
    for path in VECTORS:
        for event in json.loads(path.read_text()).get("events", []):
            errors = [e.message for e in union.iter_errors(event)]
            assert errors == [], f"{path.name}: {errors}"
            checked += 1
    assert checked >= 10


def test_cloudevent_data_plus_attributes_validates_against_its_dataschema() -> None:
    for event_type in CATALOGUE:
        ce = to_cloudevent(example_event(event_type))
        rebuilt = {**ce["data"], "id": ce["id"], "type": ce["type"], "time": ce["time"]}
        schema_id = ce["dataschema"]
        schema = _load(f"events/{schema_id.rsplit(':', 1)[1]}.json")
        assert schema["$id"] == schema_id
        assert list(Draft202012Validator(schema).iter_errors(rebuilt)) == []


# --------------------------------------------------------------------------- the other documents


def test_asyncapi_documents_the_topics_and_the_out_of_process_adapter_channels() -> None:
    from gateway.core.remote.topics import ADAPTER_PUBLISHES, NAVET_PUBLISHES, RemoteTopics

    doc = yaml.safe_load((DEFAULT_DIR / "asyncapi.yaml").read_text())
    assert doc["asyncapi"] == "3.0.0"
    assert doc["info"]["version"] == CONTRACT_VERSION
    addresses = {name: ch["address"] for name, ch in doc["channels"].items()}
    remote = RemoteTopics("{tenant}", "{adapter}", "{prefix}")
    assert addresses == {
        "events": "navet/{tenant}/events/{type}",
        "deviceState": "navet/{tenant}/devices/{device}/state",
        "zigbee2mqttState": "zigbee2mqtt/{friendly_name}",
        "zigbee2mqttAvailability": "zigbee2mqtt/{friendly_name}/availability",
        **{f"adapter{t.capitalize()}": f"{remote.base}/{t}"
           for t in (*ADAPTER_PUBLISHES, *NAVET_PUBLISHES)},
    }
    assert doc["operations"]["publishEvents"]["bindings"]["mqtt"]["qos"] == 1
    # who publishes what: the adapter's topics Navet reads, Navet's topics it sends
    for t in ADAPTER_PUBLISHES:
        assert doc["operations"][f"readAdapter{t.capitalize()}"]["action"] == "receive"
    for t in NAVET_PUBLISHES:
        assert doc["operations"][f"publishAdapter{t.capitalize()}"]["action"] == "send"
    assert "ingest" not in doc["channels"]  # 1.2's planned channel, replaced in 1.3
    for ref in _refs(doc):  # every local $ref resolves
        node: Any = doc
        for part in ref.removeprefix("#/").split("/"):
            node = node[part]
    example = doc["components"]["schemas"]["CloudEvent"]["examples"][0]
    ce_schema = doc["components"]["schemas"]["CloudEvent"]
    assert set(ce_schema["required"]) <= set(example)


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        own = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return own + [r for v in node.values() for r in _refs(v)]
    if isinstance(node, list):
        return [r for v in node for r in _refs(v)]
    return []


def test_cloudevents_md_shows_the_worked_example_from_the_code() -> None:
    text = (DEFAULT_DIR / "cloudevents.md").read_text()
    example = json.dumps(to_cloudevent(example_event("alarm.raised")), indent=2)
    assert example in text


def test_version_and_changelog() -> None:
    assert (DEFAULT_DIR / "VERSION").read_text().strip() == CONTRACT_VERSION
    changelog = (DEFAULT_DIR / "CHANGELOG.md").read_text()
    assert f"## {CONTRACT_VERSION}" in changelog
    for event_type in CATALOGUE:
        assert f"`{event_type}`" in changelog

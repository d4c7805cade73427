"""``navet decode``, ``navet plugins list`` and ``navet version``, as a user runs them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gateway import CONTRACT_VERSION
from gateway.cli import main

GOOD = b'{"contact": false, "battery": 15, "linkquality": 90, "last_seen": "2026-01-01T21:00:00Z"}'


def test_decode_good_frame_prints_events_as_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    frame = tmp_path / "hall_door.json"
    frame.write_bytes(GOOD)
    code = main(["decode", "zigbee2mqtt", str(frame), "--address", "zigbee2mqtt/hall_door",
                 "--tenant", "vasteras"])
    out = capsys.readouterr()
    assert code == 0, out.err
    events = json.loads(out.out)
    assert [e["type"] for e in events] == ["sensor.reported", "device.battery", "device.heartbeat"]
    assert {e["tenant"] for e in events} == {"vasteras"}
    assert events[0]["device"]["id"] == "zigbee2mqtt:hall_door"
    assert events[0]["data"]["readings"]["contact"] is False
    assert events[1]["data"]["low"] is True
    assert events[0]["time"].startswith("2026-01-01T21:00:00")


def test_decode_is_deterministic(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    frame = tmp_path / "f.json"
    frame.write_bytes(GOOD)
    args = ["decode", "zigbee2mqtt", str(frame), "--address", "zigbee2mqtt/hall_door"]
    main(args)
    first = [e["id"] for e in json.loads(capsys.readouterr().out)]
    main(args)
    assert [e["id"] for e in json.loads(capsys.readouterr().out)] == first


def test_decode_reads_stdin(monkeypatch: pytest.MonkeyPatch,
                            capsys: pytest.CaptureFixture[str]) -> None:
    import io

    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(b'{"occupancy": true}')))
    code = main(["decode", "zigbee2mqtt", "--address", "zigbee2mqtt/bed"])
    assert code == 0
    assert json.loads(capsys.readouterr().out)[0]["data"]["readings"] == {"occupancy": True}


def test_decode_bad_frame_exits_2_with_the_reason(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    frame = tmp_path / "bad.json"
    frame.write_bytes(b'{"contact": "yes"}')
    code = main(["decode", "zigbee2mqtt", str(frame), "--address", "zigbee2mqtt/hall_door"])
    out = capsys.readouterr()
    assert code == 2
    assert out.out == ""
    assert "contact must be true or false" in out.err
    assert "hall_door" in out.err


def test_decode_unknown_adapter_names_the_known_ones(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    frame = tmp_path / "f.json"
    frame.write_bytes(GOOD)
    code = main(["decode", "no-such-adapter", str(frame)])
    err = capsys.readouterr().err
    assert code == 1
    assert "no-such-adapter" in err and "zigbee2mqtt" in err


def test_plugins_list_json_shows_zigbee2mqtt_with_its_contract_range(
    capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["plugins", "list", "--json"]) == 0
    plugins = {p["name"]: p for p in json.loads(capsys.readouterr().out)}
    alarms = plugins["alarms"]
    assert alarms["status"] == "loaded"
    (z2m,) = [a for a in alarms["adapters"] if a["name"] == "zigbee2mqtt"]
    assert z2m["contract"] == ">=1.0,<2"
    assert "passive_sensor" in z2m["device_kinds"]
    assert "mqtt" in plugins["northbound"]["sinks"]


def test_plugins_list_text(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plugins", "list"]) == 0
    out = capsys.readouterr().out
    assert "adapter zigbee2mqtt" in out and "loaded" in out


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["version"]) == 0
    assert capsys.readouterr().out.strip() == f"navet 0.1.0 (contract {CONTRACT_VERSION})"

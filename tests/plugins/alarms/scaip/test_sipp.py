"""SIPp, a real SIP peer, plays SCAIP units against the receiver."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

import pytest

from gateway import Actor
from gateway.core.gateway import Gateway
from tests.services import free_port, require_binary

from .conftest import server

FIXTURES = Path(__file__).parent / "fixtures"
SCENARIO = FIXTURES / "sipp_scaip_alarm.xml"


async def start_sipp(tmp_path: Path, name: str, *args: str,
                     calls: int = 1) -> asyncio.subprocess.Process:
    """SIPp on 127.0.0.1 playing ``calls`` calls of a scenario, then exiting."""
    sipp = require_binary("sipp", "apt-get install sip-tester")
    return await asyncio.create_subprocess_exec(
        sipp, *args, "-i", "127.0.0.1", "-m", str(calls), "-timeout", "20s", "-timeout_error",
        "-nostdin", "-trace_err", "-error_file", str(tmp_path / f"{name}_errors.log"),
        cwd=tmp_path, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )


async def finish_sipp(proc: asyncio.subprocess.Process, tmp_path: Path, name: str) -> None:
    """Wait for SIPp to end and fail with its output unless it passed its scenario."""
    try:
        out, _ = await asyncio.wait_for(proc.communicate(), 30)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    errors = tmp_path / f"{name}_errors.log"
    detail = errors.read_text(errors="replace")[-2000:] if errors.exists() else ""
    assert proc.returncode == 0, \
        f"sipp {name} failed ({proc.returncode}): {out.decode()[-1500:]} {detail}"


@pytest.mark.parametrize(("transport", "mode"), [("udp", "u1"), ("tcp", "t1")])
async def test_sipp_alarm_message_is_challenged_stored_and_held(
    gateway: Gateway, tmp_path: Path, transport: str, mode: str
) -> None:
    host, port = server(gateway, transport)
    kind = socket.SOCK_DGRAM if transport == "udp" else socket.SOCK_STREAM
    unit = await start_sipp(tmp_path, "unit", f"{host}:{port}", "-sf", str(SCENARIO),
                            "-t", mode, "-p", str(free_port(kind)))
    await finish_sipp(unit, tmp_path, "unit")
    raised = [s.event for s in gateway.store.query_events("vasteras")
              if s.event.type == "alarm.raised"]
    assert len(raised) == 1
    assert raised[0].device.id == "scaip:sipp1"
    assert raised[0].data.kind == "personal_button"
    assert raised[0].source.ref == "5001"


async def test_sipp_unit_gets_its_mrs_at_its_contact_not_at_its_source_port(
    gateway: Gateway, tmp_path: Path
) -> None:
    """TR 91102 §7.11 / RFC 3261: a unit that does not register is reached at the Contact
    of its MESSAGE. SIPp sends from one port and names another (a second SIPp) as Contact."""
    host, port = server(gateway, "udp")
    contact_port = free_port(socket.SOCK_DGRAM)
    contact = await start_sipp(tmp_path, "contact", "-sf",
                               str(FIXTURES / "sipp_scaip_mrs_receiver.xml"),
                               "-t", "u1", "-p", str(contact_port))
    try:
        await asyncio.sleep(0.5)  # SIPp has no ready signal; a late <mrs> is resent anyway
        unit = await start_sipp(tmp_path, "unit", f"{host}:{port}", "-sf",
                                str(FIXTURES / "sipp_scaip_unit_contact.xml"), "-t", "u1",
                                "-p", str(free_port(socket.SOCK_DGRAM)),
                                "-key", "contact_port", str(contact_port))
        await finish_sipp(unit, tmp_path, "unit")
    finally:
        await finish_sipp(contact, tmp_path, "contact")
    raised = [s.event for s in gateway.store.query_events("vasteras")
              if s.event.type == "alarm.raised"]
    assert [e.device.id for e in raised] == ["scaip:sipp2"]


@pytest.mark.parametrize(("transport", "mode"), [("udp", "u1"), ("tcp", "t1")])
async def test_sipp_unit_pressing_again_is_held_with_its_first_alarm_until_it_is_taken(
    gateway: Gateway, tmp_path: Path, transport: str, mode: str
) -> None:
    """Issue 12 item 1 with SIPp as the unit: a second ref folded into the held alarm is
    held with it (never answered snu 0 before a person has the alarm), then both are."""
    host, port = server(gateway, transport)
    kind = socket.SOCK_DGRAM if transport == "udp" else socket.SOCK_STREAM
    unit = await start_sipp(tmp_path, "fold", f"{host}:{port}", "-sf",
                            str(FIXTURES / "sipp_scaip_fold.xml"), "-t", mode,
                            "-p", str(free_port(kind)))
    await finish_sipp(unit, tmp_path, "fold")  # fails unless every poll was snu 4
    stored = [s.event for s in gateway.store.query_events("vasteras")]
    first, second = [e for e in stored if e.type == "alarm.raised"]
    assert (first.source.ref, second.source.ref) == ("5101", "5102")
    assert [e for e in stored if e.type == "alarm.cancelled"] == []
    (fold,) = [e for e in stored if e.type == "alarm.updated"]
    assert fold.alarm == first.alarm and fold.data.folded.alarm == second.alarm

    await gateway.alarms.acknowledge("vasteras", first.alarm,
                                     Actor(kind="operator", id="op-1"))
    unit = await start_sipp(tmp_path, "taken", f"{host}:{port}", "-sf",
                            str(FIXTURES / "sipp_scaip_fold_taken.xml"), "-t", mode,
                            "-p", str(free_port(kind)))
    await finish_sipp(unit, tmp_path, "taken")  # fails unless both refs got snu 0

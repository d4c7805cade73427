"""SIPp, a real SIP peer, sends a SCAIP alarm with digest authentication to the receiver."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

import pytest

from gateway.core.gateway import Gateway
from tests.services import free_port, require_binary

from .conftest import server

SCENARIO = Path(__file__).parent / "fixtures" / "sipp_scaip_alarm.xml"


@pytest.mark.parametrize(("transport", "mode"), [("udp", "u1"), ("tcp", "t1")])
async def test_sipp_alarm_message_is_challenged_stored_and_held(
    gateway: Gateway, tmp_path: Path, transport: str, mode: str
) -> None:
    sipp = require_binary("sipp", "apt-get install sip-tester")
    host, port = server(gateway, transport)
    kind = socket.SOCK_DGRAM if transport == "udp" else socket.SOCK_STREAM
    proc = await asyncio.create_subprocess_exec(
        sipp, f"{host}:{port}", "-sf", str(SCENARIO), "-m", "1", "-t", mode,
        "-i", "127.0.0.1", "-p", str(free_port(kind)), "-timeout", "20s", "-timeout_error",
        "-nostdin", "-trace_err", "-error_file", str(tmp_path / "sipp_errors.log"),
        cwd=tmp_path, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )
    try:
        out, _ = await asyncio.wait_for(proc.communicate(), 30)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    errors = (tmp_path / "sipp_errors.log")
    detail = errors.read_text(errors="replace")[-2000:] if errors.exists() else ""
    assert proc.returncode == 0, f"sipp failed ({proc.returncode}): {out.decode()[-1500:]} {detail}"
    raised = [s.event for s in gateway.store.query_events("vasteras")
              if s.event.type == "alarm.raised"]
    assert len(raised) == 1
    assert raised[0].device.id == "scaip:sipp1"
    assert raised[0].data.kind == "personal_button"
    assert raised[0].source.ref == "5001"

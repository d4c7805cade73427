"""A gateway running the SCAIP receiver on free ports, and simulated units for it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from gateway.core.gateway import Gateway
from gateway.core.settings import Settings

UNITS: dict[str, Any] = {
    "unit7": {"password": "s3cret"},
    "unit8": {"password": "s3cret", "registers": False, "mrs_in_200": True},
    "unit9": {"password": "s3cret", "hbi": 60},
    "sipp1": {"password": "s3cret", "mrs_in_200": True},
    "sipp2": {"password": "s3cret", "registers": False},
    "unit10": {"password": "s3cret", "mre": 1},  # asks for a voice call in its snu=0
}


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(
        data_dir=tmp_path,
        mqtt={"mode": "memory"},
        adapters=[{"adapter": "scaip", "tenant": "vasteras",
                   "settings": {"host": "127.0.0.1", "port": 0, "units": UNITS}}],
    )


def server(gateway: Gateway, transport: str = "udp") -> tuple[str, int]:
    adapter = gateway.adapter_instances["scaip-vasteras"]
    return "127.0.0.1", adapter.ports[transport]

"""A gateway with a DC-09 receiver on free TCP and UDP ports of 127.0.0.1."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.core.settings import Settings

KEY_HEX = "2B7E151628AED2A6ABF7158809CF4F3C2B7E151628AED2A6ABF7158809CF4F3C"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(
        data_dir=tmp_path,
        mqtt={"mode": "memory"},
        adapters=[{
            "adapter": "dc09",
            "tenant": "vasteras",
            "settings": {
                "host": "127.0.0.1",
                "tcp_port": 0,
                "udp_port": 0,
                "read_timeout_s": 10,
                "accounts": [
                    {"account": "1234"},
                    {"account": "5678", "key": KEY_HEX},
                ],
            },
        }],
        subscriptions=[],
        heartbeats={"store": True},  # the tests count stored polls as proof of each answer
    )

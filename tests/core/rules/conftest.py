"""A gateway with a care configuration: tenant, receiver chain, devices with heartbeats."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from gateway.core.settings import Settings

from .helpers import CARE, TENANT


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    care = tmp_path / "care.yaml"
    care.write_text(yaml.safe_dump(CARE, allow_unicode=True), encoding="utf-8")
    return Settings(
        data_dir=tmp_path,
        mqtt={"mode": "memory"},
        adapters=[{"adapter": "zigbee2mqtt", "tenant": TENANT}],
        care_config=[care],
        db_synchronous="OFF",  # a fake-clock test commits at every step; no crash here
    )


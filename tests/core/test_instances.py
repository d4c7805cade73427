"""Running adapter instances are keyed by instance id only; the adapter's name is a look-up."""

from __future__ import annotations

import inspect

from gateway.core.alerts import SystemAlerts
from gateway.core.commands import CommandService
from gateway.core.instances import AdapterInstances
from gateway.core.policy.cameras import SupervisionService
from gateway.core.settings import AdapterInstance


def _two_receivers() -> tuple[AdapterInstances, object, object, object]:
    found = AdapterInstances()
    first, second, lock = object(), object(), object()
    found.add(AdapterInstance(adapter="scaip", tenant="vasteras"), first)
    found.add(AdapterInstance(adapter="scaip", tenant="uppsala", id="scaip-larmcentral"), second)
    found.add(AdapterInstance(adapter="portvakt", tenant="uppsala"), lock)
    return found, first, second, lock


def test_keys_are_instance_ids_only() -> None:
    found, _first, second, _lock = _two_receivers()
    assert list(found) == ["scaip-vasteras", "scaip-larmcentral", "portvakt-uppsala"]
    assert found["scaip-larmcentral"] is second
    assert "scaip" not in found  # an adapter's name names no instance
    assert len(found) == 3
    assert found.settings("scaip-larmcentral").tenant == "uppsala"


def test_by_adapter_is_the_first_instance_started_and_find_is_per_tenant() -> None:
    found, first, second, lock = _two_receivers()
    assert found.by_adapter("scaip") is first
    assert found.by_adapter("dc09") is None
    assert found.find("uppsala", "scaip") == ("scaip-larmcentral", second)
    assert found.find("uppsala", "portvakt") == ("portvakt-uppsala", lock)
    assert found.find("vasteras", "portvakt") is None


def test_services_receive_collaborators_not_the_gateway() -> None:
    for service in (SupervisionService, CommandService, SystemAlerts):
        params = inspect.signature(service.__init__).parameters
        assert "gateway" not in params, service
        assert not any("Gateway" in str(p.annotation) for p in params.values()), service

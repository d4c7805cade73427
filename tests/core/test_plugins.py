"""The plugin host as an operator sees it: what loads, what is refused or blocked, and why."""

from __future__ import annotations

import types
from typing import Any, ClassVar

import pluggy
import pytest

from gateway import AdapterBase, AdapterRegistry, DeviceKind, Manifest, RawFrame, hookimpl
from gateway.core.model import CONTRACT_VERSION
from gateway.core.plugins import BUILTIN_PLUGINS, GatewayPlugins, build_plugin_manager
from gateway.errors import DuplicateAdapterError


def _adapter(name: str, contract: str = ">=1.0,<2") -> type[AdapterBase]:
    class FakeAdapter(AdapterBase):
        manifest: ClassVar[Manifest] = Manifest(
            name=name, vendor="Acme", description="a test adapter",
            device_kinds=(DeviceKind.DOOR_LOCK,), transports=("webhook",), contract=contract,
        )

        def decode(self, frame: RawFrame) -> list[Any]:
            return []

    return FakeAdapter


def _plugin(name: str, *adapters: type[AdapterBase]) -> types.ModuleType:
    """A plugin module as a vendor package would provide it."""
    module = types.ModuleType(name)

    @hookimpl
    def navet_register_adapters(registry: AdapterRegistry) -> None:
        for adapter in adapters:
            registry.add(adapter)

    module.navet_register_adapters = navet_register_adapters  # type: ignore[attr-defined]
    return module


def _info(plugins: GatewayPlugins, name: str) -> Any:
    return next(i for i in plugins.list() if i.name == name)


def test_builtin_plugins_load_and_register_their_adapters() -> None:
    plugins = build_plugin_manager()
    alarms = _info(plugins, "alarms")
    assert alarms.status == "loaded"
    assert alarms.contract == ">=1.0,<2"
    assert "zigbee2mqtt" in [a["name"] for a in alarms.adapters]
    assert "zigbee2mqtt" in plugins.adapters
    assert plugins.adapters.owner("zigbee2mqtt") == "alarms"


def test_adapter_for_a_future_contract_is_refused_naming_both_versions() -> None:
    future = _plugin("acme_locks", _adapter("acme-lock", contract=">=2.0,<3"))

    plugins = build_plugin_manager(extra=[("acme_locks", future)])

    info = _info(plugins, "acme_locks")
    assert info.status == "refused"
    assert info.adapters == []
    assert ">=2.0,<3" in info.reason and CONTRACT_VERSION in info.reason
    assert info.reason == (
        "adapter 'acme-lock' supports contract >=2.0,<3 but this gateway runs contract "
        f"{CONTRACT_VERSION}"
    )
    assert "acme-lock" not in plugins.adapters
    assert _info(plugins, "alarms").status == "loaded"  # the others are unaffected


def test_a_plugin_with_one_refused_adapter_keeps_its_good_ones() -> None:
    mixed = _plugin("acme", _adapter("acme-old", ">=0.1,<1"), _adapter("acme-new"))

    plugins = build_plugin_manager(extra=[("acme", mixed)])

    info = _info(plugins, "acme")
    assert info.status == "loaded"
    assert [a["name"] for a in info.adapters] == ["acme-new"]
    assert "acme-old" in (info.reason or "") and "0.1" in (info.reason or "")
    assert "acme-new" in plugins.adapters and "acme-old" not in plugins.adapters


def test_blocked_plugin_is_listed_as_blocked_and_its_adapters_are_absent() -> None:
    plugins = build_plugin_manager(disabled=["alarms"])

    alarms = _info(plugins, "alarms")
    assert alarms.status == "blocked"
    assert "block list" in (alarms.reason or "")
    assert "zigbee2mqtt" not in plugins.adapters
    assert _info(plugins, "northbound").status == "loaded"


def test_plugin_that_fails_to_import_is_failed_and_the_others_load(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(BUILTIN_PLUGINS, "broken", "tests.core.no_such_plugin_module")

    plugins = build_plugin_manager()

    broken = _info(plugins, "broken")
    assert broken.status == "failed"
    assert "ModuleNotFoundError" in (broken.reason or "")
    assert "no_such_plugin_module" in (broken.reason or "")
    assert _info(plugins, "alarms").status == "loaded"
    assert "zigbee2mqtt" in plugins.adapters


def test_misspelled_hookimpl_fails_when_the_gateway_is_built() -> None:
    typo = types.ModuleType("typo")

    @hookimpl
    def navet_register_adaptors(registry: AdapterRegistry) -> None:  # sic
        raise AssertionError("never called")

    typo.navet_register_adaptors = navet_register_adaptors  # type: ignore[attr-defined]

    with pytest.raises(pluggy.PluginValidationError, match="navet_register_adaptors"):
        build_plugin_manager(extra=[("typo", typo)])


def test_two_adapters_with_one_name_stop_the_build_naming_both_plugins() -> None:
    clash = _plugin("impostor", _adapter("zigbee2mqtt"))

    with pytest.raises(DuplicateAdapterError) as caught:
        build_plugin_manager(extra=[("impostor", clash)])

    assert str(caught.value) == (
        "adapter 'zigbee2mqtt' from plugin 'impostor' is already registered by plugin 'alarms'"
    )


def test_registering_the_same_class_twice_is_harmless() -> None:
    adapter = _adapter("acme-lock")
    plugins = build_plugin_manager(extra=[("acme", _plugin("acme", adapter, adapter))])
    assert plugins.adapters.get("acme-lock") is adapter

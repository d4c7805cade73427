"""The embedded broker and the Mosquitto runner as the gateway starts them."""

from __future__ import annotations

import shutil
from pathlib import Path

from gateway.core.settings import MqttSettings
from gateway.transports.broker import EmbeddedBroker
from gateway.transports.factory import start_mqtt
from gateway.transports.mosquitto import MosquittoProcess, port_open

from .conftest import ClientFactory, Inbox


async def test_start_mqtt_embedded_gives_a_connected_client_on_a_fresh_port(
    tmp_path: Path,
) -> None:
    handle, client = await start_mqtt(
        MqttSettings(mode="embedded", port=0, client_id="navet-factory"),
        data_dir=tmp_path / "mqtt",
    )
    try:
        assert client.connected
        assert isinstance(handle, EmbeddedBroker)
        assert handle.port != 0
        assert handle.impl == ("mosquitto" if shutil.which("mosquitto") else "amqtt")
        inbox = Inbox()
        await client.subscribe("navet/#", inbox)
        await client.publish("navet/vasteras/events/alarm.raised", b"{}", qos=1)
        await inbox.wait_for(1)
    finally:
        await client.disconnect()
        await handle.stop()
    assert not port_open("127.0.0.1", handle.port)
    if shutil.which("mosquitto"):  # the gateway's session is kept for its next start
        assert (tmp_path / "mqtt" / "mosquitto.db").exists()


async def test_embedded_broker_stop_frees_the_port(embedded: EmbeddedBroker) -> None:
    port = embedded.port
    assert port_open("127.0.0.1", port)
    await embedded.stop()
    assert not port_open("127.0.0.1", port)


async def test_queued_messages_survive_a_mosquitto_restart(
    mosquitto: MosquittoProcess, mqtt_client: ClientFactory
) -> None:
    """The gateway is down while the broker restarts: its alarms wait on disk."""
    gateway = await mqtt_client(mosquitto.port, "persist-gw")
    inbox = Inbox()
    await gateway.subscribe("alarms/#", inbox, qos=1)
    await gateway.disconnect()
    pub = await mqtt_client(mosquitto.port, "persist-pub", persistent=False)
    await pub.publish("alarms/unit7", b"fall detected", qos=1)
    await pub.disconnect()

    await mosquitto.restart()
    await gateway.connect()

    await inbox.wait_for(1)
    assert inbox.payloads == [b"fall detected"]


def test_config_names_listener_and_persistence_dir(tmp_path: Path) -> None:
    proc = MosquittoProcess("127.0.0.1", 18830, data_dir=tmp_path)
    text = proc.config_text()
    assert "listener 18830 127.0.0.1\n" in text
    assert f"persistence_location {tmp_path}/\n" in text
    assert "allow_anonymous true\n" in text

"""Resources read back from a running gateway's store: pairing, lookups, plugin mappings."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from fhir.resources.observation import Observation

from gateway import FakeClock, hookimpl
from gateway.core.gateway import Gateway, SinkServices
from gateway.core.settings import Settings
from gateway.core.store import Subscription
from gateway.fhir import FhirRepository, FhirValidationError
from gateway.fhir.ids import fhir_id, navet_id
from gateway.fhir.search import SearchQuery
from gateway.transports.memory import MemoryBroker

from . import samples


class AcmeFhir:
    """A vendor plugin that maps its own sensor readings (``navet_event_to_fhir``)."""

    def __init__(self) -> None:
        self.broken = False

    @hookimpl
    def navet_event_to_fhir(self, event: Any) -> Any:
        if event.type != "sensor.reported":
            return None
        obs = Observation.model_validate({
            "resourceType": "Observation", "id": fhir_id(event.id), "status": "final",
            "code": {"text": "acme reading"}, "device": {"reference": "Device/x"},
        })
        if self.broken:  # fhir.resources accepts this status; Navet's checks must not
            return {**obs.model_dump(mode="json"), "status": "bogus"}
        return obs


@pytest.fixture
def acme() -> AcmeFhir:
    return AcmeFhir()


@pytest.fixture
async def gw(tmp_path: Path, acme: AcmeFhir) -> AsyncIterator[Gateway]:
    settings = Settings(data_dir=tmp_path, mqtt={"mode": "memory"})
    gateway = Gateway(settings, clock=FakeClock(samples.T0), mqtt=MemoryBroker().client("n"),
                      extra_plugins=[("acme_fhir", acme)])
    await gateway.start()
    try:
        yield gateway
    finally:
        await gateway.stop()


async def read(gw: Gateway, rtype: str, fid: str) -> dict[str, Any] | None:
    repo = FhirRepository(gw, samples.TENANT)
    return await gw.store.read(lambda conn: repo.read(rtype, fid))


async def search(gw: Gateway, rtype: str, **params: str) -> list[dict[str, Any]]:
    repo = FhirRepository(gw, samples.TENANT)
    query = SearchQuery.parse(rtype, params.items(), navet_id)
    page = await gw.store.read(lambda conn: repo.search(query))
    return page.resources


async def test_camera_check_pairs_start_and_end(gw: Gateway) -> None:
    started, ended, refused = samples.camera_events()
    await gw.emit([started])
    [open_check] = await search(gw, "Encounter")
    assert open_check["status"] == "in-progress"
    await gw.emit([ended, refused])
    check = await read(gw, "Encounter", "S-1")
    assert check is not None and check["status"] == "completed"
    assert check["length"]["value"] == 35
    viewing = await read(gw, "AuditEvent", started.id)
    assert viewing is not None
    assert viewing["occurredPeriod"]["end"].startswith("2026-03-01T02:00:35")
    assert viewing["encounter"] == {"reference": "Encounter/S-1"}
    refusal = await read(gw, "AuditEvent", refused.id)
    assert refusal is not None and refusal["outcome"]["code"]["code"] == "error"
    assert await read(gw, "AuditEvent", ended.id) is None  # the end is part of the viewing
    assert await search(gw, "AuditEvent", _id=f"{started.id},nope") == [viewing]
    audits = {a["id"]: a for a in await search(gw, "AuditEvent")}
    assert set(audits) == {started.id, refused.id}
    assert audits[started.id] == viewing  # a search pairs start and end like a read


async def test_taken_dose_is_part_of_its_dispense(gw: Gateway) -> None:
    dispensed, taken, missed = samples.dose_events()
    await gw.emit([dispensed, taken, missed])
    given = await read(gw, "MedicationAdministration", taken.id)
    assert given is not None
    assert given["partOf"] == [{"reference": f"MedicationDispense/{dispensed.id}"}]
    not_given = await read(gw, "MedicationAdministration", missed.id)
    assert not_given is not None and "partOf" not in not_given
    assert not_given["status"] == "not-done"
    # an event of another kind is not readable as this type
    assert await read(gw, "MedicationDispense", taken.id) is None


async def test_a_plugin_mapping_wins_and_is_validated_too(gw: Gateway, acme: AcmeFhir) -> None:
    [reading, *_] = samples.observation_events()
    await gw.emit([reading])
    obs = await read(gw, "Observation", reading.id)
    assert obs is not None and obs["code"] == {"text": "acme reading"}
    acme.broken = True
    with pytest.raises(FhirValidationError, match=r"Observation\.status: code 'bogus'"):
        await read(gw, "Observation", reading.id)


async def test_a_notification_maps_an_event_as_a_rest_read_does(gw: Gateway) -> None:
    """A subscription sink reads through its SinkServices, plugins included: a plugin's
    mapping reaches a full-resource notification exactly as it reaches a REST read."""
    [reading, *_] = samples.observation_events()
    await gw.emit([reading])
    sub = Subscription("fhir-test", samples.TENANT, "fhir-rest-hook", ("sensor.",), {})
    services = SinkServices(gw.mqtt, gw.clock, sub, store=gw.store, plugins=gw.plugins,
                            alarm_reads=gw.alarm_reads)
    notified = FhirRepository(services, samples.TENANT).event_resources(reading)
    assert notified == [await read(gw, "Observation", reading.id)]
    assert notified[0]["code"] == {"text": "acme reading"}


async def test_alarm_task_search_by_status_and_patient(gw: Gateway) -> None:
    await gw.emit(samples.alarm_events() + samples.cancelled_alarm())
    tasks = await search(gw, "Task", patient=f"Patient/{fhir_id(samples.RESIDENT)}")
    assert sorted(t["status"] for t in tasks) == ["cancelled", "completed"]
    [closed] = await search(gw, "Task", status="completed")
    assert closed["output"][0]["valueCodeableConcept"]["coding"][0]["code"] == \
        "assistance_given"
    assert len(closed["relevantHistory"]) == len(samples.alarm_events())
    assert closed["description"] == "fall detected"  # what was raised, not a later note
    assert [n["text"] for n in closed["note"]] == ["[operator op-1] called, no answer",
                                                   "helped up"]


async def test_a_gps_alarm_points_to_where_it_happened(gw: Gateway) -> None:
    [raised] = samples.gps_alarm()
    await gw.emit([raised])
    [task] = await search(gw, "Task")
    assert task["location"] == {"reference": "Location/alarm-scaip.3aG-1"}
    where = await read(gw, "Location", "alarm-scaip.3aG-1")
    assert where is not None
    assert where["position"] == {"latitude": 59.61, "longitude": 16.54}
    assert where["description"] == "Near the bus station"
    assert where in await search(gw, "Location")


async def test_a_folded_alarm_is_part_of_the_task_of_the_alarm_it_joined(gw: Gateway) -> None:
    """Issue 12: a second press folded into the open alarm has no Task of its own; its
    events are part of the alarm's Task, and nothing says it was cancelled."""
    first = samples.ev("alarm.raised", {"kind": "personal_button"}, alarm="A-7", ref="p-1")
    again = samples.ev("alarm.raised", {"kind": "personal_button"}, seconds=20, alarm="A-8",
                       ref="p-2")
    await gw.emit([first])
    await gw.emit([again])
    assert gw.rules is not None
    await gw.rules.drain()
    assert await read(gw, "Task", "A-8") is None  # no Task of its own
    tasks = await search(gw, "Task")
    assert [t["id"] for t in tasks] == [fhir_id("A-7")]
    assert tasks[0]["status"] == "requested"  # still waiting for a person, not cancelled
    repo = FhirRepository(gw, samples.TENANT)
    task, prov = await gw.store.read(lambda conn: repo.event_resources(again))
    assert task["id"] == fhir_id("A-7")
    assert prov["target"] == [{"reference": f"Task/{fhir_id('A-7')}"}]

"""Typed ``data`` bodies, one per event type in the v1 catalogue.

Extend the catalogue with new types and new optional fields; never change
what an existing field means.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import AwareDatetime, Field

from .common import Actor, GeoPoint, Strict


class AlarmKind(StrEnum):
    PERSONAL_BUTTON = "personal_button"
    FALL = "fall"
    PASSIVE_BED_EXIT = "passive.bed_exit"
    PASSIVE_CHAIR_EXIT = "passive.chair_exit"
    PASSIVE_DOOR_AT_NIGHT = "passive.door_at_night"
    PASSIVE_NO_ACTIVITY = "passive.no_activity"
    PASSIVE_WATER_LEAK = "passive.water_leak"
    PASSIVE_OTHER = "passive.other"
    GPS_GEOFENCE_EXIT = "gps.geofence_exit"
    GPS_PANIC_OUTSIDE = "gps.panic_outside"
    SUPERVISION_NEEDS_HELP = "supervision.needs_help"  # contract 1.1: seen in a camera check
    MEDICATION_MISSED_DOSE = "medication.missed_dose"
    TECHNICAL_LOW_BATTERY = "technical.low_battery"
    TECHNICAL_MAINS_LOST = "technical.mains_lost"
    TECHNICAL_LINK_LOST = "technical.link_lost"
    TECHNICAL_UNIT_SILENT = "technical.unit_silent"
    TECHNICAL_OTHER = "technical.other"
    OTHER = "other"


class Empty(Strict):
    """A body with no fields."""


# --------------------------------------------------------------------------- alarms


class AlarmRaised(Strict):
    kind: AlarmKind
    text: str | None = Field(default=None, max_length=500)
    code: str | None = Field(default=None, max_length=64, description="Vendor/protocol code.")


class FoldedAlarm(Strict):
    """Another alarm of the same device and kind, folded into this open one (contract 1.2)."""

    alarm: str = Field(max_length=200, description="The id of the alarm that was folded: it "
                       "now belongs to this one (its state is this alarm's state).")
    ref: str | None = Field(default=None, max_length=200,
                            description="Its reference at the source (e.g. the SCAIP ref).")
    repeats: int = Field(ge=1, description="Alarms folded into this one so far, this one "
                         "included.")


class AlarmUpdated(Strict):
    text: str | None = Field(default=None, max_length=500)
    code: str | None = Field(default=None, max_length=64)
    position: GeoPoint | None = None
    folded: FoldedAlarm | None = Field(
        default=None, description="Contract 1.2: the device raised a new alarm of the same "
        "kind while this one was open, and Navet folded it into this one: a repeat, not a "
        "second alarm and not a cancel. The folded alarm's id resolves to this alarm.")


class CancelReason(StrEnum):
    RESIDENT = "resident"
    RESET = "reset"
    DEVICE = "device"


class AlarmCancelled(Strict):
    reason: CancelReason
    by: Actor | None = None


class AlarmAcknowledged(Strict):
    by: Actor


class AlarmEscalated(Strict):
    level: int = Field(ge=1, description="Step in the tenant's receiver chain, 1 = first backup.")
    to: str = Field(max_length=128, description="Receiver the alarm now goes to.")
    reason: str = Field(max_length=200)


class AlarmDispatched(Strict):
    by: Actor
    to: Actor = Field(description="Staff member or team sent to the resident.")


class AlarmAttended(Strict):
    by: Actor


class AlarmOutcome(StrEnum):
    ASSISTANCE_GIVEN = "assistance_given"
    NO_ACTION_NEEDED = "no_action_needed"
    FALSE_ALARM = "false_alarm"
    TRANSPORTED_TO_CARE = "transported_to_care"
    TECHNICAL_FIXED = "technical_fixed"
    OTHER = "other"


class AlarmClosed(Strict):
    by: Actor
    outcome: AlarmOutcome
    note: str | None = Field(default=None, max_length=1000)


# --------------------------------------------------------------------------- devices


class DeviceHeartbeat(Strict):
    interval_s: int | None = Field(default=None, ge=1, description="Announced interval.")
    link_quality: int | None = Field(default=None, ge=0, le=255)


class DeviceOnline(Strict):
    silent_s: int | None = Field(default=None, ge=0, description="How long it was silent.")


class DeviceOffline(Strict):
    reason: str = Field(max_length=200)
    last_seen: AwareDatetime | None = None


class DeviceBattery(Strict):
    level_pct: int | None = Field(default=None, ge=0, le=100)
    low: bool
    voltage_mv: int | None = Field(default=None, ge=0)


class FaultKind(StrEnum):
    MAINS_LOST = "mains_lost"
    LINK_LOST = "link_lost"
    HARDWARE = "hardware"
    OTHER = "other"


class DeviceFault(Strict):
    kind: FaultKind
    active: bool = Field(description="True when the fault starts, false when it clears.")
    code: str | None = Field(default=None, max_length=64)
    text: str | None = Field(default=None, max_length=500)


class DeviceTamper(Strict):
    active: bool


# --------------------------------------------------------------------------- sensors


class SensorReadings(Strict):
    """What a passive sensor reports. Absent means the sensor does not measure it."""

    contact: bool | None = Field(default=None, description="True = closed (door/window shut).")
    occupancy: bool | None = Field(default=None, description="Motion or presence detected.")
    water_leak: bool | None = None
    vibration: bool | None = None
    smoke: bool | None = None
    fall: bool | None = None
    temperature_c: float | None = Field(default=None, ge=-60, le=120)
    humidity_pct: float | None = Field(default=None, ge=0, le=100)
    illuminance_lux: float | None = Field(default=None, ge=0)


class SensorReported(Strict):
    readings: SensorReadings
    link_quality: int | None = Field(default=None, ge=0, le=255)


class PositionReason(StrEnum):
    PERIODIC = "periodic"
    ALARM = "alarm"
    REQUEST = "request"
    MOVEMENT = "movement"


class PositionReported(Strict):
    point: GeoPoint
    reason: PositionReason = PositionReason.PERIODIC
    speed_mps: float | None = Field(default=None, ge=0)


# --------------------------------------------------------------------------- locks


class LockMethod(StrEnum):
    APP = "app"
    CODE = "code"
    KEY = "key"
    REMOTE = "remote"
    AUTO = "auto"
    MANUAL = "manual"


class LockChanged(Strict):
    by: Actor | None = None
    method: LockMethod | None = None


class LockDenied(Strict):
    by: Actor | None = None
    reason: str = Field(max_length=500)


# --------------------------------------------------------------------------- medication


class Dose(Strict):
    dose: str = Field(max_length=128, description="Dose id at the vendor (one sachet / slot).")
    scheduled: AwareDatetime
    medication: str | None = Field(default=None, max_length=200)


class RefillNeeded(Strict):
    remaining_doses: int = Field(ge=0)


# --------------------------------------------------------------------------- supervision


class SupervisionStarted(Strict):
    session: str = Field(max_length=128)
    by: Actor
    expires: datetime | None = None


class SupervisionEnded(Strict):
    session: str = Field(max_length=128)
    duration_s: int = Field(ge=0)
    reason: str = Field(default="ended", max_length=200)


class SupervisionRefused(Strict):
    by: Actor
    reason: str = Field(max_length=500)
    code: str | None = Field(
        default=None, max_length=64,
        description="Machine-readable reason (contract 1.1), e.g. outside_window, "
        "consent_expired, consent_withdrawn, cohabitant_consent_missing, wrong_role, "
        "unknown_staff, no_camera, camera_busy, camera_unavailable.",
    )


class Finding(StrEnum):
    ASLEEP = "asleep"
    AWAKE_CALM = "awake_calm"
    NOT_IN_BED = "not_in_bed"
    NEEDS_VISIT = "needs_visit"
    NEEDS_ALARM = "needs_alarm"
    OTHER = "other"


class SupervisionObservation(Strict):
    by: Actor
    finding: Finding
    session: str | None = Field(default=None, max_length=128)
    note: str | None = Field(default=None, max_length=1000)


# --------------------------------------------------------------------------- cameras (1.1)


class PrivacyState(StrEnum):
    OFF = "off"  # powered down or in rest mode: no image can be taken
    COVERED = "covered"  # lens shutter closed or turned away
    LIVE = "live"  # streaming to a viewer in a supervision session


class CameraPrivacy(Strict):
    state: PrivacyState
    session: str | None = Field(
        default=None, max_length=128, description="The supervision session, when live."
    )


# --------------------------------------------------------------------------- visits (1.1)


class VisitRequested(Strict):
    by: Actor
    reason: str = Field(max_length=500)
    session: str | None = Field(
        default=None, max_length=128, description="The supervision session it came from."
    )
    observation: str | None = Field(
        default=None, max_length=128, description="Id of the event that asked for the visit."
    )

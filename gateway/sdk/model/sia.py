"""SIA event codes for contract alarm kinds: how Navet speaks to legacy alarm receivers.

SIA DC-03 codes are what DC-09 receivers and SOS Access understand
(reference/alarm-centre-protocols.md §2.1.4); forwarders to alarm receiving
centres share this one table so a fall is the same code whichever way it
leaves Navet.
"""

from __future__ import annotations

SIA_CODE_FOR_KIND: dict[str, str] = {
    "personal_button": "QA",  # emergency (personal) alarm
    "fall": "MA",
    "passive.bed_exit": "MA",
    "passive.chair_exit": "MA",
    "passive.door_at_night": "MA",
    "passive.no_activity": "MA",
    "passive.water_leak": "WA",
    "passive.other": "MA",
    "gps.geofence_exit": "QA",
    "gps.panic_outside": "QA",
    "medication.missed_dose": "MA",
    "technical.low_battery": "YT",
    "technical.mains_lost": "AT",
    "technical.link_lost": "YC",
    "technical.unit_silent": "YC",
    "technical.other": "YX",
    "other": "MA",
}
"""Contract alarm kind -> SIA event code sent when the alarm is raised (unknown: MA)."""

SIA_RESTORE: dict[str, str] = {"QA": "QH", "MA": "MH", "WA": "WH", "YT": "YR", "AT": "AR",
                               "YC": "YK", "YX": "YZ", "FA": "FH"}
"""SIA code -> its restoral (sent when the resident cancels before handling)."""

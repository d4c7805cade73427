"""Care configuration: tenants, residents, devices, plans, staff, consents and schedules.

Loaded from YAML/JSON files named in the settings (the demo municipality is one) and
through the admin API (``POST /api/v1/config``); both go through
:func:`apply_care_config`, so a file and an API call can never disagree about what is
valid or what a document means:

- :mod:`.models` the document (pydantic, ``extra="forbid"``) and reading it back;
- :mod:`.merge` what a partial document means: it merges, and replaces only the lists
  a tenant names in ``replace``;
- :mod:`.apply` applying one, all or nothing, only to tenants the caller may act for;
- :mod:`.rows` where it is stored.
"""

from __future__ import annotations

from .apply import Applied, apply_care_config, check_tenant
from .models import (
    EVERY_DAY,
    AlarmSettings,
    CareConfig,
    Consent,
    ConsentPurpose,
    Device,
    DeviceRole,
    Geofence,
    ListName,
    LockSettings,
    MedicationPlan,
    PassiveRules,
    Plan,
    Relative,
    Resident,
    Staff,
    StaffRole,
    SupervisionSchedule,
    Tenant,
    TimeWindow,
    Visit,
    Weekday,
    load_care_config,
    role_from_address,
    tenant_care,
)

__all__ = [
    "EVERY_DAY", "AlarmSettings", "Applied", "CareConfig", "Consent", "ConsentPurpose", "Device",
    "DeviceRole", "Geofence", "ListName", "LockSettings", "MedicationPlan", "PassiveRules",
    "Plan", "Relative", "Resident", "Staff", "StaffRole", "SupervisionSchedule", "Tenant",
    "TimeWindow", "Visit", "Weekday", "apply_care_config", "check_tenant", "load_care_config",
    "role_from_address", "tenant_care",
]

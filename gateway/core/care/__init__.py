"""Care configuration: tenants, residents, devices, plans, staff, consents and schedules.

Loaded from YAML/JSON files named in the settings (the demo municipality is one) and
through the admin API (``POST /api/v1/config``); both go through
:func:`apply_care_config`, so a file and an API call can never disagree about what is
valid or what a document means:

- :mod:`.models` the document (pydantic, ``extra="forbid"``) and reading it back;
- :mod:`.merge` what a partial document means: it merges, and replaces only the lists
  a tenant names in ``replace``;
- :mod:`.apply` applying one, all or nothing, only to tenants the caller may act for;
- :mod:`.rows` where it is stored;
- :mod:`.followup` what follow-up needs: residents' sex, birth year, housing and grants,
  and a tenant's baseline, targets and yearly denominators.
"""

from __future__ import annotations

from .apply import Applied, apply_care_config, check_tenant
from .followup import (
    AREAS,
    INDICATOR_IDS,
    INDICATORS,
    TECHNOLOGIES,
    UNITS_EN,
    FollowupSettings,
    Grant,
    Housing,
    IndicatorDef,
    Sex,
    Target,
    Technology,
    YearStatistics,
)
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
    "AREAS",
    "EVERY_DAY",
    "INDICATORS",
    "INDICATOR_IDS",
    "TECHNOLOGIES",
    "UNITS_EN",
    "AlarmSettings",
    "Applied",
    "CareConfig",
    "Consent",
    "ConsentPurpose",
    "Device",
    "DeviceRole",
    "FollowupSettings",
    "Geofence",
    "Grant",
    "Housing",
    "IndicatorDef",
    "ListName",
    "LockSettings",
    "MedicationPlan",
    "PassiveRules",
    "Plan",
    "Relative",
    "Resident",
    "Sex",
    "Staff",
    "StaffRole",
    "SupervisionSchedule",
    "Target",
    "Technology",
    "Tenant",
    "TimeWindow",
    "Visit",
    "Weekday",
    "YearStatistics",
    "apply_care_config",
    "check_tenant",
    "load_care_config",
    "role_from_address",
    "tenant_care",
]

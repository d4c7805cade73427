"""The Contact ID (ADM-CID, DC-05) event list: what each standard code means in Navet.

Written from the public SIA/Ademco Contact ID event list (1xx alarms, 2xx
supervisory, 3xx troubles, 4xx opening/closing and access, 5xx bypasses and
disables, 6xx tests and miscellaneous). Each code belongs to one group, and
the group says which contract event it becomes (:func:`.mapping.cid_meaning`):

==============  =========================================  ==========================
group           qualifier 1 or 6 (new, still present)      qualifier 3 (restore)
==============  =========================================  ==========================
``alarm``       ``alarm.raised`` with its kind              ``alarm.cancelled`` of it
``trouble``     ``device.fault`` active, with a fault kind  ``device.fault`` cleared
``battery``     ``device.battery`` low                      ``device.battery`` not low
``tamper``      ``device.tamper`` active                    ``device.tamper`` cleared
``bypass``      ``device.fault`` (other) active             ``device.fault`` cleared
``open_close``  ``device.heartbeat`` (the contract has no   the same
                arming event; the unit is alive), user kept
``test``        ``device.heartbeat``                        the same
==============  =========================================  ==========================

A code not in the table is never refused: in the alarm range (1xx) it
raises an alarm of kind ``other``, elsewhere it becomes a ``device.fault``
(kind ``other``) carrying the code, so an operator sees what came.

Codes whose three digits are a *user* rather than a zone (opening/closing,
access, a few tests) are listed in :data:`USER_CODES`; their events carry
``location.user``, every other code ``location.zone`` (contract 1.2), both as
the three digits came.
"""

from __future__ import annotations

from typing import Final, NamedTuple

ALARM: Final = "alarm"
TROUBLE: Final = "trouble"
BATTERY: Final = "battery"
TAMPER: Final = "tamper"
BYPASS: Final = "bypass"
OPEN_CLOSE: Final = "open_close"
TEST: Final = "test"


class CidCode(NamedTuple):
    group: str
    text: str
    kind: str = "other"
    """AlarmKind value for ``alarm``, FaultKind value for ``trouble``."""
    sia: tuple[str, str] | None = None
    """SIA codes (new, restore) that Navet already reads, so both protocols name one alarm."""


def _a(text: str, kind: str = "other", sia: tuple[str, str] | None = None) -> CidCode:
    return CidCode(ALARM, text, kind, sia)


def _t(text: str, kind: str = "hardware", sia: tuple[str, str] | None = None) -> CidCode:
    return CidCode(TROUBLE, text, kind, sia)


def _b(text: str, sia: tuple[str, str] | None = None) -> CidCode:
    return CidCode(BATTERY, text, sia=sia)


def _oc(text: str) -> CidCode:
    return CidCode(OPEN_CLOSE, text)


def _test(text: str, sia: tuple[str, str] | None = None) -> CidCode:
    return CidCode(TEST, text, sia=sia)


def _by(text: str) -> CidCode:
    return CidCode(BYPASS, text)


PERSONAL = "personal_button"
NO_ACTIVITY = "passive.no_activity"
LINK = "link_lost"
MAINS = "mains_lost"

CONTACT_ID: Final[dict[str, CidCode]] = {
    # 1xx: alarms
    "100": _a("medical alarm", PERSONAL, ("MA", "MH")),
    "101": _a("personal emergency alarm", PERSONAL, ("QA", "QH")),
    "102": _a("fail to report in", NO_ACTIVITY),
    "110": _a("fire alarm", sia=("FA", "FH")),
    "111": _a("smoke alarm"),
    "112": _a("combustion alarm"),
    "113": _a("water flow alarm"),
    "114": _a("heat alarm", sia=("KA", "KH")),
    "115": _a("fire pull station alarm"),
    "116": _a("duct alarm"),
    "117": _a("flame alarm"),
    "118": _a("near alarm"),
    "120": _a("panic alarm", PERSONAL, ("PA", "PH")),
    "121": _a("duress alarm", PERSONAL),
    "122": _a("silent panic alarm", PERSONAL),
    "123": _a("audible panic alarm", PERSONAL),
    "124": _a("duress, access granted", PERSONAL),
    "125": _a("duress, egress granted", PERSONAL),
    "130": _a("burglary alarm", sia=("BA", "BH")),
    "131": _a("perimeter alarm"),
    "132": _a("interior alarm"),
    "133": _a("24 hour (safe) alarm"),
    "134": _a("entry/exit alarm"),
    "135": _a("day/night alarm"),
    "136": _a("outdoor alarm"),
    "137": _a("tamper alarm"),
    "138": _a("near alarm"),
    "139": _a("intrusion verifier"),
    "140": _a("general alarm"),
    "141": _a("polling loop open alarm", "technical.other"),
    "142": _a("polling loop short alarm", "technical.other"),
    "143": _a("expansion module failure alarm", "technical.other"),
    "144": _a("sensor tamper alarm"),
    "145": _a("expansion module tamper alarm"),
    "146": _a("silent burglary alarm"),
    "147": _a("sensor supervision failure", "technical.link_lost"),
    "150": _a("24 hour non-burglary alarm"),
    "151": _a("gas detected", sia=("GA", "GH")),
    "152": _a("refrigeration alarm"),
    "153": _a("loss of heat"),
    "154": _a("water leakage", "passive.water_leak", ("WA", "WH")),
    "155": _a("foil break"),
    "156": _a("day trouble"),
    "157": _a("low bottled gas level"),
    "158": _a("high temperature"),
    "159": _a("low temperature"),
    "161": _a("loss of air flow"),
    "162": _a("carbon monoxide detected"),
    "163": _a("tank level"),
    # 2xx: supervisory (fire systems)
    "200": _t("fire supervisory"),
    "201": _t("low water pressure"),
    "202": _t("low CO2"),
    "203": _t("gate valve sensor"),
    "204": _t("low water level"),
    "205": _t("pump activated"),
    "206": _t("pump failure"),
    # 3xx: troubles
    "300": _t("system trouble"),
    "301": _t("AC (mains) loss", MAINS, ("AT", "AR")),
    "302": _b("low system battery", ("YT", "YR")),
    "303": _t("RAM checksum bad"),
    "304": _t("ROM checksum bad"),
    "305": _test("system reset"),
    "306": _test("panel programming changed"),
    "307": _t("self-test failure"),
    "308": _t("system shutdown"),
    "309": _b("battery test failure", ("YT", "YR")),
    "310": _t("ground fault"),
    "311": _b("battery missing or dead", ("YM", "YR")),
    "312": _t("power supply overcurrent", MAINS),
    "313": _test("engineer reset"),
    "320": _t("sounder/relay trouble"),
    "321": _t("bell 1 trouble"),
    "322": _t("bell 2 trouble"),
    "323": _t("alarm relay trouble"),
    "324": _t("trouble relay trouble"),
    "325": _t("reversing relay trouble"),
    "326": _t("notification appliance circuit 3 trouble"),
    "327": _t("notification appliance circuit 4 trouble"),
    "330": _t("system peripheral trouble"),
    "331": _t("polling loop open"),
    "332": _t("polling loop short"),
    "333": _t("expansion module failure"),
    "334": _t("repeater failure"),
    "335": _t("local printer out of paper"),
    "336": _t("local printer failure"),
    "337": _t("expansion module DC loss", MAINS),
    "338": _b("expansion module low battery"),
    "339": _test("expansion module reset"),
    "341": CidCode(TAMPER, "expansion module tamper"),
    "342": _t("expansion module AC loss", MAINS),
    "343": _t("expansion module self-test failure"),
    "344": _t("RF receiver jam detected", LINK),
    "350": _t("communication trouble", LINK, ("YC", "YK")),
    "351": _t("telco 1 fault", LINK),
    "352": _t("telco 2 fault", LINK),
    "353": _t("long range radio transmitter fault", LINK),
    "354": _t("failure to communicate event", LINK, ("YC", "YK")),
    "355": _t("loss of radio supervision", LINK),
    "356": _t("loss of central polling", LINK),
    "357": _t("long range radio VSWR problem", LINK),
    "370": _t("protection loop trouble"),
    "371": _t("protection loop open"),
    "372": _t("protection loop short"),
    "373": _t("fire trouble"),
    "374": _t("exit error alarm"),
    "375": _t("panic zone trouble"),
    "376": _t("hold-up zone trouble"),
    "377": _t("swinger trouble"),
    "378": _t("cross-zone trouble"),
    "380": _t("sensor trouble", sia=("YX", "YZ")),
    "381": _t("loss of supervision, RF", LINK, ("YC", "YK")),
    "382": _t("loss of supervision, RPM", LINK, ("YC", "YK")),
    "383": CidCode(TAMPER, "sensor tamper", sia=("TA", "TR")),
    "384": _b("RF transmitter low battery"),
    "385": _t("smoke detector high sensitivity"),
    "386": _t("smoke detector low sensitivity"),
    "387": _t("intrusion detector high sensitivity"),
    "388": _t("intrusion detector low sensitivity"),
    "389": _t("sensor self-test failure"),
    "391": _t("sensor watch trouble"),
    "392": _t("drift compensation error"),
    "393": _t("maintenance alert"),
    # 4xx: opening/closing, remote access, access control
    "400": _oc("open/close"),
    "401": _oc("open/close by user"),
    "402": _oc("group open/close"),
    "403": _oc("automatic open/close"),
    "404": _oc("late to open/close"),
    "405": _oc("deferred open/close"),
    "406": _oc("cancel by user"),
    "407": _oc("remote arm/disarm"),
    "408": _oc("quick arm"),
    "409": _oc("keyswitch open/close"),
    "411": _oc("callback request made"),
    "412": _oc("successful download/access"),
    "413": _oc("unsuccessful access"),
    "414": _oc("system shutdown command received"),
    "415": _oc("dialer shutdown command received"),
    "416": _oc("successful upload"),
    "421": _oc("access denied"),
    "422": _oc("access report by user"),
    "423": CidCode(TAMPER, "forced access"),
    "424": _oc("egress denied"),
    "425": _oc("egress granted"),
    "426": _t("access door propped open", "other"),
    "427": _t("access point door status monitor trouble"),
    "428": _t("access point request to exit trouble"),
    "429": _oc("access program mode entry"),
    "430": _oc("access program mode exit"),
    "431": _oc("access threat level change"),
    "432": _t("access relay/trigger failure"),
    "433": _oc("access request-to-exit shunt"),
    "434": _oc("access door status monitor shunt"),
    "441": _oc("armed stay"),
    "442": _oc("keyswitch armed stay"),
    "450": _oc("exception open/close"),
    "451": _oc("early open/close"),
    "452": _oc("late open/close"),
    "453": _oc("failed to open"),
    "454": _oc("failed to close"),
    "455": _oc("auto-arm failed"),
    "456": _oc("partial arm"),
    "457": _oc("exit error by user"),
    "458": _oc("user on premises"),
    "459": _oc("recent close"),
    "461": _oc("wrong code entry"),
    "462": _oc("legal code entry"),
    "463": _oc("re-arm after alarm"),
    "464": _oc("auto-arm time extended"),
    "465": _oc("panic alarm reset"),
    "466": _oc("service on/off premises"),
    # 5xx: bypasses and disables
    "520": _by("sounder/relay disabled"),
    "521": _by("bell 1 disabled"),
    "522": _by("bell 2 disabled"),
    "523": _by("alarm relay disabled"),
    "524": _by("trouble relay disabled"),
    "525": _by("reversing relay disabled"),
    "526": _by("notification appliance circuit 3 disabled"),
    "527": _by("notification appliance circuit 4 disabled"),
    "531": _by("module added"),
    "532": _by("module removed"),
    "551": _by("dialer disabled"),
    "552": _by("radio transmitter disabled"),
    "553": _by("remote upload/download disabled"),
    "570": _by("zone/sensor bypass"),
    "571": _by("fire bypass"),
    "572": _by("24 hour zone bypass"),
    "573": _by("burglary bypass"),
    "574": _by("group bypass"),
    "575": _by("swinger bypass"),
    "576": _by("access zone shunt"),
    "577": _by("access point bypass"),
    # 6xx: tests and miscellaneous
    "601": _test("manual trigger test", ("RX", "RX")),
    "602": _test("periodic test", ("RP", "RP")),
    "603": _test("periodic RF transmission"),
    "604": _test("fire test"),
    "605": _test("status report to follow"),
    "606": _test("listen-in to follow"),
    "607": _test("walk test mode"),
    "608": _test("periodic test, system trouble present"),
    "609": _test("video transmitter active"),
    "611": _test("point tested OK"),
    "612": _t("point not tested", "other"),
    "613": _test("intrusion zone walk tested"),
    "614": _test("fire zone walk tested"),
    "615": _test("panic zone walk tested"),
    "616": _t("service request"),
    "621": _test("event log reset"),
    "622": _test("event log 50% full"),
    "623": _test("event log 90% full"),
    "624": _t("event log overflow", "other"),
    "625": _test("time/date reset"),
    "626": _t("time/date inaccurate", "other"),
    "627": _test("program mode entry"),
    "628": _test("program mode exit"),
    "629": _test("32 hour event log marker"),
    "630": _test("schedule change"),
    "631": _test("exception schedule change"),
    "632": _test("access schedule change"),
    "641": _a("senior watch trouble (no activity)", NO_ACTIVITY),
    "642": _test("latch-key supervision"),
    "654": _a("system inactivity", NO_ACTIVITY),
}
"""Contact ID event code -> group, text and kind. Extend with care: every entry is a promise."""

USER_CODES: Final = frozenset({
    "121", "313", "400", "401", "402", "403", "404", "405", "406", "407", "408", "409",
    "411", "412", "413", "414", "415", "421", "422", "424", "425", "429", "430", "431",
    "441", "442", "450", "451", "452", "453", "454", "455", "456", "457", "458", "459",
    "462", "463", "464", "466", "574", "604", "607", "625", "642",
})
"""Codes whose three digits name a user (who opened, closed, tested), not a zone."""


def lookup(event: str) -> CidCode:
    """The table entry for ``event``, or the generic entry for a code not in it.

    An unknown code in the alarm range (1xx) is an alarm of kind ``other``; any
    other unknown code is a fault of kind ``other``. Neither is refused.
    """
    found = CONTACT_ID.get(event)
    if found is not None:
        return found
    text = f"Contact ID event {event} (not in Navet's table)"
    return _a(text) if event.startswith("1") else _t(text, "other")

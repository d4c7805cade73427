"""The console's words come from one message catalogue per language, and both are complete.

Every key a template or a page script asks for exists in Swedish and in English,
and the two catalogues have the same keys, so switching language never shows a
key instead of a word.
"""

from __future__ import annotations

import json
import re

from gateway.api.console.i18n import LANGUAGES, MESSAGES_DIR, Translator
from gateway.api.console.render import TEMPLATES
from gateway.api.routes.live_view import WEB_DIR


def _catalogues() -> dict[str, dict[str, str]]:
    return {lang: json.loads((MESSAGES_DIR / f"{lang}.json").read_text(encoding="utf-8"))
            for lang in LANGUAGES}


def test_every_language_has_the_same_keys_and_no_empty_message() -> None:
    found = _catalogues()
    assert set(found["sv"]) == set(found["en"])
    for lang, messages in found.items():
        assert all(isinstance(v, str) and v.strip() for v in messages.values()), lang
        # the same placeholders in every language, so a filled-in message is complete
        for key, text in messages.items():
            assert set(re.findall(r"\{(\w+)\}", text)) == set(
                re.findall(r"\{(\w+)\}", found["sv"][key])), (lang, key)


def test_every_key_the_templates_and_scripts_use_exists() -> None:
    used: set[str] = set()
    # a complete key in quotes (a key built as "outcome." + value is covered below)
    for template in TEMPLATES.glob("*.html"):
        used |= set(re.findall(r"""\bt\(\s*["']([\w.]*\w)["']""", template.read_text()))
    for script in WEB_DIR.glob("*.js"):
        used |= set(re.findall(r"""\bt\(\s*["']([\w.]*\w)["']""", script.read_text()))
    # keys built from data: the script's `state.${…}` etc. must cover the model's values
    from gateway.core.model import AlarmOutcome, Finding, Priority
    from gateway.core.rules.alarms import AlarmState

    used |= {f"state.{s}" for s in AlarmState} | {f"priority.{p}" for p in Priority}
    used |= {f"outcome.{o}" for o in AlarmOutcome} | {f"finding.{f}" for f in Finding}
    used |= {f"hc.door_sent.{v}" for v in ("unlock", "lock")}
    used |= {f"hc.door_{v}" for v in ("unlocked", "locked", "jammed")}
    used |= {f"hc.check_row_{s}" for s in ("open", "ended")}
    used |= {f"event.alarm.{x}" for x in ("raised", "updated", "cancelled", "acknowledged",
                                         "escalated", "dispatched", "attended", "closed")}
    assert used, "no keys found: the pattern is wrong"
    for lang, messages in _catalogues().items():
        assert sorted(used - set(messages)) == [], lang


def test_translator_fills_fields_and_shows_unknown_keys_as_themselves() -> None:
    t = Translator("sv")
    assert t("home.welcome", name="Anna") == "Välkommen, Anna."
    assert Translator("en")("home.welcome", name="Anna") == "Welcome, Anna."
    assert t("no.such.key") == "no.such.key"

"""One message catalogue per language: ``gateway/web/messages/<lang>.json``.

Swedish whatever the browser asks for (``Accept-Language`` is not read: a
municipality's console speaks Swedish), English when the person picks it; the
choice is kept in a cookie for a year. Templates and the pages' scripts take
every word from here; a key missing in one language is a test failure
(tests/api/test_console_catalogue.py), and a key missing at run time shows as
the key itself rather than failing the page.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Final

from starlette.requests import HTTPConnection

MESSAGES_DIR: Final = Path(__file__).resolve().parent.parent.parent / "web" / "messages"
LANGUAGES: Final = ("sv", "en")
DEFAULT: Final = "sv"
COOKIE: Final = "navet_lang"
COOKIE_MAX_AGE: Final = 365 * 24 * 3600


@cache
def catalogue(lang: str) -> dict[str, str]:
    return dict(json.loads((MESSAGES_DIR / f"{lang}.json").read_text(encoding="utf-8")))


def language_of(conn: HTTPConnection) -> str:
    chosen = conn.cookies.get(COOKIE, DEFAULT)
    return chosen if chosen in LANGUAGES else DEFAULT


class Translator:
    """``t("key", name=…)``: the message in this language with its fields filled in."""

    def __init__(self, lang: str) -> None:
        self.lang = lang
        self.messages = catalogue(lang)

    def __call__(self, key: str, **fields: object) -> str:
        text = self.messages.get(key, key)
        for name, value in fields.items():
            text = text.replace("{" + name + "}", str(value))
        return text

"""Logging for operators: JSON lines for machines, readable text for people.

``setup_logging`` is called once by the CLI. With ``fmt="auto"`` it writes JSON
lines when stderr is not a terminal (a service manager, a container, a test
harness) and short text lines when a person is watching.

Records may carry context as ``extra`` (``event``, ``device``, ``tenant``,
``subscription`` ...) so a log line can be joined to a stored event by id.
Logs must never hold personal data or secrets: :class:`RedactFilter` replaces
the value of any extra whose key looks sensitive, wherever it is nested, before
any handler formats it.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Literal, TextIO

LogFormat = Literal["auto", "json", "text"]

REDACTED = "[redacted]"

_SENSITIVE = re.compile(
    r"(password|passwd|secret|token|api[_-]?key|private[_-]?key|^key$|_key$|authorization"
    r"|cookie|personal[_-]?number|personnummer|ssn)",
    re.IGNORECASE,
)
"""Keys whose values are never logged (matched anywhere in the key, case-insensitively)."""

# Attributes every LogRecord has; anything else on a record came from ``extra``.
_STANDARD = frozenset(
    vars(logging.LogRecord("x", logging.INFO, "x", 0, "x", None, None)).keys()
) | {"message", "asctime", "color_message", "taskName"}


def is_sensitive(key: str) -> bool:
    return bool(_SENSITIVE.search(key))


def redact(value: Any) -> Any:
    """A copy of ``value`` with every sensitive key's value replaced, at any depth."""
    if isinstance(value, Mapping):
        return {k: REDACTED if is_sensitive(str(k)) else redact(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact(v) for v in value]
    return value


def extras(record: logging.LogRecord) -> dict[str, Any]:
    """The ``extra`` fields a record was logged with."""
    return {k: v for k, v in vars(record).items() if k not in _STANDARD and not k.startswith("_")}


class RedactFilter(logging.Filter):
    """Replace sensitive extras on a record before it is formatted anywhere."""

    def filter(self, record: logging.LogRecord) -> bool:
        for key, value in extras(record).items():
            setattr(record, key, REDACTED if is_sensitive(key) else redact(value))
        if isinstance(record.args, Mapping):
            record.args = redact(record.args)
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, extras."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in extras(record).items():
            out.setdefault(key, value)
        if record.exc_info:
            out["exception"] = self.formatException(record.exc_info)
        return json.dumps(out, default=str, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    """``22:04:05 INFO  gateway.core.gateway: message  key=value``"""

    def format(self, record: logging.LogRecord) -> str:
        when = datetime.fromtimestamp(record.created).strftime("%H:%M:%S")
        line = f"{when} {record.levelname:<7} {record.name}: {record.getMessage()}"
        ctx = extras(record)
        if ctx:
            line += "  " + " ".join(f"{k}={v}" for k, v in ctx.items())
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


def setup_logging(
    level: str | int = "INFO", fmt: LogFormat = "auto", stream: TextIO | None = None
) -> logging.Handler:
    """Send every log record to ``stream`` (stderr) in ``fmt``; returns the handler.

    Replaces handlers installed by an earlier call, so calling it twice is harmless.
    Third-party loggers that chatter at INFO (amqtt, uvicorn access) are kept at WARNING.
    """
    stream = stream or sys.stderr
    if fmt == "auto":
        fmt = "text" if _isatty(stream) else "json"
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    handler.addFilter(RedactFilter())
    handler.set_name("navet")
    root = logging.getLogger()
    for old in list(root.handlers):
        if old.get_name() == "navet":
            root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level if isinstance(level, int) else level.upper())
    for noisy in ("amqtt", "transitions", "uvicorn.access", "uvicorn.error"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    return handler


def _isatty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False

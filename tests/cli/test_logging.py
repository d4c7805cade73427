"""Logs: JSON lines for machines, text for people, and never a secret or a personal number."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from gateway.core.logs import REDACTED, setup_logging


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for h in list(root.handlers):
        if h not in handlers:
            root.removeHandler(h)
    root.setLevel(level)


def _log(fmt: str, *args: object, **extra: object) -> str:
    stream = io.StringIO()
    setup_logging("INFO", fmt, stream=stream)  # type: ignore[arg-type]
    logging.getLogger("navet.test").info(*args, extra=extra)  # type: ignore[arg-type]
    return stream.getvalue()


def test_json_lines_carry_the_event_id(restore_logging: None) -> None:
    line = _log("json", "stored %d event(s)", 3, event="ev-1", tenant="vasteras")
    record = json.loads(line)
    assert record["message"] == "stored 3 event(s)"
    assert record["level"] == "info" and record["logger"] == "navet.test"
    assert record["event"] == "ev-1" and record["tenant"] == "vasteras"
    assert record["time"].endswith("Z")


def test_secrets_and_personal_numbers_are_redacted(restore_logging: None) -> None:
    line = _log("json", "connecting", password="hunter2", api_token="t0k3n",
                personal_number="19121212-1212",
                settings={"host": "broker", "aes_key": "00ff", "nested": [{"secret": "s"}]})
    assert "hunter2" not in line and "t0k3n" not in line and "1212" not in line
    assert "00ff" not in line and '"s"' not in line
    record = json.loads(line)
    assert record["password"] == REDACTED and record["personal_number"] == REDACTED
    assert record["settings"]["host"] == "broker"
    assert record["settings"]["aes_key"] == REDACTED
    assert record["settings"]["nested"] == [{"secret": REDACTED}]


def test_text_format_is_one_readable_line(restore_logging: None) -> None:
    line = _log("text", "gateway started", device="zigbee2mqtt:bed", token="x")
    assert "INFO" in line and "navet.test: gateway started" in line
    assert "device=zigbee2mqtt:bed" in line and f"token={REDACTED}" in line
    assert line.count("\n") == 1


def test_auto_is_json_when_not_a_terminal(restore_logging: None) -> None:
    json.loads(_log("auto", "hello"))  # StringIO is not a TTY


def test_calling_setup_twice_does_not_double_lines(restore_logging: None) -> None:
    stream = io.StringIO()
    setup_logging("INFO", "json", stream=stream)  # type: ignore[arg-type]
    setup_logging("INFO", "json", stream=stream)  # type: ignore[arg-type]
    logging.getLogger("navet.test").info("once")
    assert stream.getvalue().count("once") == 1

"""The framework-neutral webhook types adapters get instead of Starlette's."""

from __future__ import annotations

from gateway import WebhookRequest, WebhookResponse


def test_headers_are_found_whatever_their_case() -> None:
    request = WebhookRequest(b"{}", {"X-Api-Key": "k1", "content-type": "application/json"})
    assert request.headers["x-api-key"] == "k1"
    assert request.headers.get("X-API-KEY") == "k1"
    assert request.headers.get("Content-Type") == "application/json"
    assert request.headers.get("authorization") is None
    assert request.body == b"{}"


def test_a_response_says_its_status_and_body() -> None:
    answer = WebhookResponse({"error": "unauthorized"}, status=401,
                             headers={"WWW-Authenticate": "Bearer"})
    assert (answer.status, answer.body["error"]) == (401, "unauthorized")
    assert WebhookResponse().status == 200

"""Navet's HTTP API (FastAPI): queries, live stream, webhook ingress, live view."""

from .app import create_app

__all__ = ["create_app"]

"""Durable storage: inbox, raw frames, dead letters, outbox, care configuration."""

from .sqlite import AppendResult, OutboxItem, SQLiteStore, StoredEvent, Subscription

__all__ = ["AppendResult", "OutboxItem", "SQLiteStore", "StoredEvent", "Subscription"]

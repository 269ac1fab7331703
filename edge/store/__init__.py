"""SQLite store (DESIGN.md sections 2 and 7). `Database` owns the connection; modules own tables."""

from edge.store.db import Database, StoreError

__all__ = ["Database", "StoreError"]

"""Transports to the police platform behind a durable outbox (DESIGN.md sections 5 and 7)."""

"""The rule engine: what an event means (relay, flag, escalate, suppress), device states, alarm lifecycle.

Kept free of imports at package level: `edge.config` imports `edge.rules.model`, so this package must
not pull in anything that imports `edge.config` back while it initialises.
"""

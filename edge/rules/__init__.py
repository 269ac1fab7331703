"""The rule engine, pure: what an event means (relay, flag, escalate, suppress), device states, alarm
lifecycle, as functions of (state, input, clock) -> (new state, actions). No I/O here: the rule
config models are in edge/config (rules, rule_types, alarms), carrying the actions out is edge/core's.
"""

"""Patrol records (巡查记录, DESIGN.md section 11): check-ins, rounds and the daily verdict."""

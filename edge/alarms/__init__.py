"""How the duty room ranks and words an alarm: pure functions shared by the API and the dashboard."""

"""The local status API and the operator dashboard (DESIGN.md section 6)."""

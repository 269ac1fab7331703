"""Simulators of every device family, for `edge demo` and the tests."""

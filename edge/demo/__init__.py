"""`edge demo`: a whole simulated school on loopback plus the daemon on it."""

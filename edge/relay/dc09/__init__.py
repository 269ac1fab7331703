"""SIA DC-09 codec: pure functions, bytes in and a value or a typed rejection out (DESIGN.md section 8)."""

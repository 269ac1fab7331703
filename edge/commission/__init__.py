"""`edge commission`: the technician's tools for installing and accepting a site (DESIGN.md section 3)."""

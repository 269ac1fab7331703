"""The school's uplink to the county platform (DESIGN.md section 10): store-and-forward over MQTT 5."""

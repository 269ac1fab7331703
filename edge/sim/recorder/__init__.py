"""A simulated NVR (Profile G recorder): records a camera's live H.264 stream into a bounded ring of
segments and replays any stretch of it over RTSP per the ONVIF Streaming Specification."""

"""The camera worker: every camera check runs in a child process the alarm core supervises (DESIGN.md §8).

`protocol` is the typed, versioned message set both sides speak (stdlib only, so the core can import it);
`child` is the worker process (`python -m edge.camworker`); `host` is the core's side that starts,
watches and replaces it. Only `child` imports the ONVIF and video stacks.
"""

"""GB/T 28181 device side: the gateway registers with the police video platform (DESIGN.md section 9).

sip: the message codec; digest: RFC 2617 digest auth; manscdp: the XML bodies; endpoint: SIP over
UDP/TCP with client transactions; device: registration, keepalive and query answers; transport:
the relay transport (alarm NOTIFYs through the outbox); service: the supervised unit in the daemon.
"""

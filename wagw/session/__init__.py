"""The session: the primary linked device, inbound only (`wagw session`, `wagw events tail`)."""

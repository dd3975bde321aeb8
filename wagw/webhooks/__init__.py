"""The producer side of webhooks and their contract: enqueueing deliveries (in the session),
signing, endpoint redaction, and `wagw webhooks replay`. The deliveries themselves run in
workers/webhooks/."""

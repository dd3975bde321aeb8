"""Redis key names. Public ones (SPEC) are marked; the rest are internal but stable."""

EVENTS_STREAM = "wagw:events"  # public: the capped event log
FAKE_INBOUND = "wagw:fake:inbound"  # public: fake backend control surface
FAKE_SENT = "wagw:fake:sent"  # public: outbound calls recorded by the fake backend

WA_QUEUE = "wa"  # public
WEBHOOKS_QUEUE = "webhooks"  # public

SUPERVISOR_STATUS = "wagw:status:supervisor"  # JSON snapshot of the process table, with TTL
# A daemon started with `--accounts a,b` publishes under its own key: several share one Redis.
SUPERVISOR_STATUS_OF = "wagw:status:supervisor:{accounts}"
DEVICE_STATUS = "wagw:status:device:{role}"  # hash per device role, with TTL heartbeat
DEVICE_JIDS = "wagw:devices"  # hash role -> paired JID (written by `wagw pair`)
DEVICE_PAIRED_AT = "wagw:devices:paired-at"  # hash role -> unix time of its last pairing (written by `wagw pair`)
CRASHES = "wagw:crashes"  # capped list of recent process/host crashes (JSON)
CRASH_LOG = "wagw:crash-log"  # sorted set by time: every crash record (JSON) within WAGW_CRASH_DAYS (wagw.crashes)
QUARANTINE = "wagw:quarantine:{operation}"  # present while an operation is quarantined
NATIVE_CRASHES = "wagw:native-crashes:{operation}"  # sorted set: "<time>:<nonce>:<target id or ->" per crash
POISON = "wagw:poison:{operation}"  # hash: target id -> poison record (JSON, with "until"); TTL
POISON_CRASHES = "wagw:poison-crashes:{operation}:{target}"  # sorted set of crash times per target id
SEND_HANDED = (
    "wagw:send-handed:{job_id}"  # a send is being handed to its host: if its worker dies, the outcome is unknown; TTL
)
# hash: job id -> name of the worker that took it into the queue's intermediate list: the
# stranded-job rescue leaves a live taker's ids alone (docs/reliability.md)
TAKERS = "wagw:takers:{queue}"
# list, newest first, capped: ids on a queue that could not be read as jobs, set aside with the
# reason and time instead of run or requeued (wagw.deadletter, docs/operations.md)
DEAD_LETTER = "wagw:deadletter:{queue}"
EVENT_SEEN = "wagw:event-seen:{event_id}"  # dedup marker, expires after the dedup window
FAKE_PENDING = "wagw:fake:pending"  # fake backend: handed to the session, not yet acknowledged
FAKE_REJECTED = "wagw:fake:rejected"  # fake backend: malformed inbound control messages, with the reason
FAKE_DEVICE_STATE = "wagw:fake:device-state"  # fake backend: hash role -> simulated trouble (absent: paired, online)
# fake backend: an account's LID store, hash "lid:<LID user>" -> number, "pn:<number>" -> LID user (fake_lids)
FAKE_LIDS = "wagw:fake:lids:{account}"
METRIC_COUNTER = "wagw:metrics:counter:{name}"  # hash: label set (JSON) -> count
METRIC_HISTOGRAM = "wagw:metrics:histogram:{name}"  # hash: "<labels>\t<bucket|sum|count>" -> value
# set of event ids `wagw events replay` has queued for the endpoint: each once unless --force
REPLAYED = "wagw:replayed:{endpoint}"
# a 2xx was received; kept until the delivery's seal expires (at least the dedup window)
WEBHOOK_DELIVERED = "wagw:webhook:delivered:{endpoint}:{event_id}"
# attempts without a 2xx so far, whichever job made them (copies, replays); kept until the seal expires
WEBHOOK_ATTEMPTS = "wagw:webhook:attempts:{endpoint}:{event_id}"
# hash {creator, alt} of a recent call offer, as WhatsApp addressed its creator; TTL (wagw.calls)
CALL_OFFER = "wagw:call-offer:{account}:{call_id}"
# hash: chat JID -> "<seconds>:<unix ms>", each chat's disappearing timer as last learned (wagw.disappearing)
DISAPPEARING = "wagw:disappearing:{account}"
# SHA-256 (hex) of the account's current API bearer token (`wagw accounts token NAME`; wagw.api.tokens)
API_TOKEN = "wagw:api-token:{account}"
# hash {until, reason, since}: the account's first-contact sends are held until `until` (WhatsApp's
# reach-out limit, error 463; wagw.reachout); expires at `until`
REACHOUT_HOLD = "wagw:reachout-hold:{account}"
# "<fingerprint>:<job id>": the job an idempotency key of the account stands for; the key is
# its SHA-256 (hex); expires after WAGW_IDEMPOTENCY_TTL (wagw.idempotency)
IDEMPOTENCY = "wagw:idempotency:{account}:{key}"
# Sending order and pacing (wagw.sendorder, docs/jobs.md "Sending order and pacing"):
# counter; hash job id -> ticket; sorted set of ids taken and not yet registered by their taker
# (by ticket): every job an account's wa-worker takes gets a ticket in the step that takes it
ORDER_TICKET = "wagw:order:ticket:{account}"
ORDER_TAKEN = "wagw:order:taken:{account}"
ORDER_PENDING = "wagw:order:pending:{account}"
# sorted set: job id -> ticket, the chat's registered sends that have not ended; the lowest is the one whose turn it is
ORDER_CHAT = "wagw:order:chat:{account}:{chat}"
ORDER_JOBS = "wagw:order:jobs"  # hash: job id -> "<account>\t<chat>" of each registered send
# hash {slot, first_slot, typed}: a send's reserved pacing slots and typing done; TTL
SEND_GATE = "wagw:send-gate:{job_id}"
# sorted set: job id -> when it is next looked at; hash: job id -> "<reason>|<queue>|<until>":
# the account's sends waiting for their turn, their pace, a reach-out hold or their typing, off every queue
WAITING = "wagw:waiting:{account}"
WAITING_INFO = "wagw:waiting-info:{account}"
PACE = "wagw:pace:{account}:{kind}"  # the earliest time (unix s) the next send (kind all) / first contact may go; TTL
# sorted set: chat -> unix time a message was last exchanged with it (inbound or sent); capped
KNOWN_CHATS = "wagw:known-chats:{account}"
# stream, capped: each send's outcome as its wa-worker recorded it, for the history writer (wagw.history.outcomes)
HISTORY_SENDS = "wagw:history:sends"
# JSON snapshot of the history writer (position, lag, gap, store errors), with TTL (wagw.history.writer)
HISTORY_STATUS = "wagw:status:history"
# list per account of JSON requests to pair, log out or reconnect its devices, from the HTTP API
# to the `wagw run` that runs the account (wagw.devicecontrol); short TTL
DEVICE_REQUESTS = "wagw:device-requests:{account}"
# hash {id, state, qr, code, expires, jid, error, updated}: a pairing the API asked for, as its
# `wagw pair` publishes it (wagw.devicecontrol); TTL
PAIRING = "wagw:pairing:{role}"
FAKE_SCANS = "wagw:fake:scans"  # fake backend: QR codes and pairing codes the simulated phone took (a list)

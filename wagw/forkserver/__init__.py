"""The fork server: the children of `wagw run` that hold no neonize yet, forked from one
warmed parent.

Every Python child of `wagw run` imports the same ~32 MB of modules (Settings, loguru,
redis-py, rq). The fork server imports them once, with the scheduler's, the webhook
worker's, the wa-worker's, the history writer's and the session's own modules, runs
`gc.collect(); gc.freeze()`, and then forks those children on the supervisor's request: their
pages stay shared until written to (docs/architecture.md, bench/README.md "Footprint").

The session loads neonize, whose Go runtime does not survive a fork: a process that runs it
can never be forked. The server never loads it (its preload checks, and it refuses to fork
if neonize is loaded), so a session forked from it is a single-threaded Python process that
loads the Go library afterwards, in the child, as a cold session does after its imports; a Go
panic there aborts the session alone. The native hosts are the wa-workers' own children,
forked by each wa-worker's host forker (workers.wa.host_forker).

It holds no secret. The supervisor starts it cold with every secret withheld from its
environment (wagw.supervisor.grants.without_secrets); it builds Settings once, from that
environment, only to warm validation for its children, and drops them. A child's
environment, secrets included, travels in a pipe whose read end the supervisor passes with
SCM_RIGHTS; the server hands that fd to the child unread, so no secret is ever in its memory,
nor copied from it into a child that must not hold it. The api, the dashboard and the metrics
exporter are always started cold.

Reaping: a double fork, with the supervisor as PR_SET_CHILD_SUBREAPER. The server forks an
intermediate, which forks the child and exits; the server reaps the intermediate before it
answers, so by then the child is the supervisor's own (its parent chain is the same as a cold
child's). The supervisor then waits for it with waitpid and gets its real exit status; its pid
cannot be reused before the supervisor has reaped it, so no signal can reach another process;
and if the server dies, the children it forked keep running under the supervisor, which goes
on watching them. (The other shape, pidfds with statuses over the socket, needs the server
alive to report an exit and loses every status, and every forked child, with it.) The price:
the supervisor also inherits every orphan of its tree (a dead wa-worker's native host, for
one), which it reaps without touching a pid it started itself (wagw.supervisor.orphans).

The child waits for its environment before it runs anything: the supervisor writes it only
once it has registered the child's pid, and closes the pipe empty if it gave up on the fork
(no answer in time, the server gone): such a child exits at once, unseen, and is reaped as an
orphan. The protocol (one SOCK_SEQPACKET message each way per child) is in `protocol`.
"""

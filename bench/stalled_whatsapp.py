"""A WhatsApp that never answers, for bench/footprint.py --neonize: run inside a private user,
mount and network namespace (`unshare -rmn`), it points WhatsApp's host names at 127.0.0.1,
accepts every connection on port 443 there and never answers, then execs the given command
(`wagw run`). Each session and native host then holds its connect attempt for whatsmeow's
10 s TLS handshake timeout, with neonize loaded, instead of failing at DNS in ~0.1 s.

    unshare -rmn python bench/stalled_whatsapp.py HOSTS_FILE -- COMMAND...

Only the namespace sees the bind-mounted hosts file and the listener; the listener dies with
the command (PR_SET_PDEATHSIG).
"""

from __future__ import annotations

import ctypes
import os
import selectors
import signal
import socket
import subprocess
import sys

WHATSAPP_HOSTS = ("web.whatsapp.com", "g.whatsapp.net", "mmg.whatsapp.net", "media.whatsapp.net")
PR_SET_PDEATHSIG = 1
MS_BIND = 4096


def _listen_forever(parent: int) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:
        os._exit(0)
    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("127.0.0.1", 443))
    server.listen(128)
    # Every connection accepted and never answered: the client waits for its own timeout.
    # One its client closed is closed here too, so a long run never runs out of fds.
    events = selectors.DefaultSelector()
    events.register(server, selectors.EVENT_READ)
    while True:
        for key, _mask in events.select():
            if key.fileobj is server:
                connection, _address = server.accept()
                events.register(connection, selectors.EVENT_READ)
                continue
            connection = key.fileobj
            assert isinstance(connection, socket.socket)
            try:
                gone = not connection.recv(65536)  # the handshake it sent is dropped
            except OSError:
                gone = True
            if gone:
                events.unregister(connection)
                connection.close()


def main(argv: list[str]) -> None:
    hosts_file, separator, *command = argv
    if separator != "--" or not command:
        raise SystemExit(__doc__)
    with open(hosts_file, "w") as hosts:
        hosts.write("127.0.0.1 localhost\n::1 localhost\n127.0.0.1 " + " ".join(WHATSAPP_HOSTS) + "\n")
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.mount(hosts_file.encode(), b"/etc/hosts", None, MS_BIND, None) != 0:
        raise OSError(ctypes.get_errno(), "bind-mounting the hosts file over /etc/hosts")
    parent = os.getpid()
    if os.fork() == 0:
        _listen_forever(parent)
    # The listener binds in milliseconds, long before the daemon's first connect attempt.
    os.execvp(command[0], command)


if __name__ == "__main__":
    main(sys.argv[1:])

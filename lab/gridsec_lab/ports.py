"""A TCP port on 127.0.0.1 that refuses connections, for tests of an unreachable server.

The usual trick (bind port 0, read the port, close the socket) hands back a port that is free again at once:
another process on the machine (a second pytest-xdist worker, a CI run beside it) may get the same port from
its own bind(0) and listen there, and the "dead" server answers. Here the socket stays bound, without
listen(), for the life of the process: connecting to it is refused (ECONNREFUSED) and no other bind(0) can be
given that port.
"""
import socket

_HELD = []  # the bound sockets; kept open until the process exits


def closed_port():
    """A port on 127.0.0.1 that nothing listens on and that stays reserved for this process."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    _HELD.append(sock)
    return sock.getsockname()[1]

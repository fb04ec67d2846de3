"""What the interop scripts share: a free port and waiting for a started broker to listen."""

import socket
import sys
import time


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_listening(port, broker):
    """Returns once 127.0.0.1:port accepts; exits if `broker` (a Popen) dies or 20 s pass."""
    deadline = time.time() + 20
    while time.time() < deadline:
        if broker.poll() is not None:
            sys.exit(f"broker exited early with {broker.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    sys.exit("broker did not start listening")

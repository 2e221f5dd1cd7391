"""The simulated internet's services: DNS and a web server on 8.8.8.8 (stdlib only).

A tiny DNS responder listens on 8.8.8.8:53 inside the ``internet`` namespace so
that programs in the world that resolve names (``python3 -m http.server`` calls
``getfqdn()`` when it binds) get a fast answer instead of hanging. It knows a
handful of names and answers NXDOMAIN for everything else; it never forwards
anything.

A tiny web server listens on 8.8.8.8:80. Its page says which address and port
the connection came from: what "the internet" sees of a client. Behind a NAT
(the host's MASQUERADE, or slirp4netns for a rootless namespace) that is the
host's address 10.0.2.15, never the container's own.

Run as ``python3 -I -S dnsd.py --fd N [--http-fd M] WORLD`` with sockets already
bound (see lab.world.build), or ``dnsd.py ADDRESS``; it serves until killed.
"""

from __future__ import annotations

import socket
import struct
import sys
import threading

ZONE_A = {
    "dns.google": "8.8.8.8",
    "internet.cnlab": "8.8.8.8",
    "router.cnlab": "10.0.2.2",
    "vm.cnlab": "10.0.2.15",
}
ZONE_PTR = {
    "8.8.8.8.in-addr.arpa": "dns.google",
    "2.2.0.10.in-addr.arpa": "router.cnlab",
    "15.2.0.10.in-addr.arpa": "vm.cnlab",
}
TYPE_A, TYPE_PTR, CLASS_IN = 1, 12, 1


def parse_question(packet: bytes) -> tuple[str, int, int]:
    """Return (name, qtype, offset after the question) of the first question."""
    labels: list[str] = []
    offset = 12
    while True:
        length = packet[offset]
        offset += 1
        if length == 0:
            break
        labels.append(packet[offset : offset + length].decode("ascii", "replace"))
        offset += length
    qtype, _qclass = struct.unpack("!HH", packet[offset : offset + 4])
    return ".".join(labels).lower().rstrip("."), qtype, offset + 4


def encode_name(name: str) -> bytes:
    out = b""
    for label in name.split("."):
        out += bytes([len(label)]) + label.encode()
    return out + b"\x00"


def answer(packet: bytes) -> bytes:
    ident, flags = struct.unpack("!HH", packet[:4])
    name, qtype, end = parse_question(packet)
    rd = flags & 0x0100
    records = b""
    count = 0
    if qtype == TYPE_A and name in ZONE_A:
        rdata = socket.inet_aton(ZONE_A[name])
        records = b"\xc0\x0c" + struct.pack("!HHIH", TYPE_A, CLASS_IN, 60, len(rdata)) + rdata
        count = 1
    elif qtype == TYPE_PTR and name in ZONE_PTR:
        rdata = encode_name(ZONE_PTR[name])
        records = b"\xc0\x0c" + struct.pack("!HHIH", TYPE_PTR, CLASS_IN, 60, len(rdata)) + rdata
        count = 1
    known = name in ZONE_A or name in ZONE_PTR
    rcode = 0 if known else 3
    header = struct.pack("!HHHHHH", ident, 0x8400 | 0x0080 | rd | rcode, 1, count, 0, 0)
    return header + packet[12:end] + records


def page(peer: tuple[str, int]) -> bytes:
    """The web server's whole answer to one request from ``peer``."""
    body = (f"Hello from the internet (8.8.8.8).\nYou came from {peer[0]}:{peer[1]}\n").encode()
    head = (
        "HTTP/1.0 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    ).encode()
    return head + body


def _answer_http(conn: socket.socket, peer: tuple[str, int]) -> None:
    """Read one request (its head, at most 8 KiB, 5 s) and answer it with :func:`page`."""
    with conn:
        conn.settimeout(5.0)
        data = b""
        try:
            while b"\r\n\r\n" not in data and b"\n\n" not in data and len(data) < 8192:
                chunk = conn.recv(4096)
                if not chunk:
                    break
                data += chunk
            if data:
                conn.sendall(page(peer))
        except OSError:
            pass


def serve_http(sock: socket.socket) -> None:
    """Accept connections for ever; each is answered in a thread of its own."""
    while True:
        try:
            conn, peer = sock.accept()
        except OSError:
            continue
        threading.Thread(target=_answer_http, args=(conn, peer), daemon=True).start()


def serve(sock: socket.socket) -> None:
    while True:
        packet, peer = sock.recvfrom(512)
        try:
            sock.sendto(answer(packet), peer)
        except (IndexError, struct.error, UnicodeError):
            continue


def main(argv: list[str]) -> None:
    """``dnsd.py --fd N [--http-fd M] [WORLD]`` serves inherited bound sockets (M listening);
    ``dnsd.py ADDR`` binds DNS only."""
    if len(argv) >= 2 and argv[0] == "--fd":
        sock = socket.socket(fileno=int(argv[1]))
        if len(argv) >= 4 and argv[2] == "--http-fd":
            web = socket.socket(fileno=int(argv[3]))
            threading.Thread(target=serve_http, args=(web,), daemon=True).start()
    else:
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.bind((argv[0] if argv else "8.8.8.8", 53))
    serve(sock)


if __name__ == "__main__":
    main(sys.argv[1:])

"""A tiny DNS responder for the world's simulated internet (stdlib only).

It listens on 8.8.8.8:53 inside the ``internet`` namespace so that programs in
the world that resolve names (``python3 -m http.server`` calls ``getfqdn()``
when it binds) get a fast answer instead of hanging. It knows a handful of
names and answers NXDOMAIN for everything else; it never forwards anything.

Run as ``python3 -I -S dnsd.py --fd N WORLD`` with a socket already bound on
8.8.8.8:53 (see lab.world.build), or ``dnsd.py ADDRESS``; it serves until killed.
"""

from __future__ import annotations

import socket
import struct
import sys

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


def serve(sock: socket.socket) -> None:
    while True:
        packet, peer = sock.recvfrom(512)
        try:
            sock.sendto(answer(packet), peer)
        except (IndexError, struct.error, UnicodeError):
            continue


def main(argv: list[str]) -> None:
    """``dnsd.py --fd N [WORLD]`` serves an inherited bound socket; ``dnsd.py ADDR`` binds."""
    if len(argv) >= 2 and argv[0] == "--fd":
        sock = socket.socket(fileno=int(argv[1]))
    else:
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.bind((argv[0] if argv else "8.8.8.8", 53))
    serve(sock)


if __name__ == "__main__":
    main(sys.argv[1:])

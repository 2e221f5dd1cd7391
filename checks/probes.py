"""Real packets, sent with scapy from inside a namespace.

Each function here runs in a child process that :mod:`lab.inns` has already
moved into the namespace to probe. scapy is used as a small explicit tool:
the few layers we need, our own sockets, ``timeout=`` always.

scapy caches the interfaces and routes of the namespace it was imported in,
and re-reading them costs ~30 ms per probe, so the probes never rely on those
caches: the kernel picks the route and the source address (a connected UDP
socket tells which, or answers "Network is unreachable" at once), ICMP goes
out on a layer-3 raw socket (``L3RawSocket``: the kernel routes and resolves
ARP, and a failing probe honours its timeout instead of scapy's own 2 s ARP
wait), ARP on a packet socket bound to the interface of the kernel's route.
"""

from __future__ import annotations

import errno
import logging
import os
import random
import socket
from typing import Any

from scapy.config import conf
from scapy.layers.inet import ICMP, IP
from scapy.layers.l2 import ARP, Ether
from scapy.sendrecv import sniff
from scapy.supersocket import L3RawSocket, SimpleSocket

logging.getLogger("scapy").setLevel(logging.CRITICAL)
conf.verb = 0

PAYLOAD = b"cnlab-probe"
ETH_P_IP = 0x0800
ETH_P_ARP = 0x0806
ICMP_ECHO_REPLY = 0
ICMP_ECHO_REQUEST = 8


def _kernel_source(dst: str) -> tuple[str | None, str | None]:
    """(source address the kernel would use for ``dst``, or its refusal)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        sock.connect((dst, 9))
        return sock.getsockname()[0], None
    except OSError as exc:
        return None, os.strerror(exc.errno or errno.EIO)
    finally:
        sock.close()


def ping(dst: str, timeout: float = 0.4, ident: int | None = None) -> dict[str, Any]:
    """One ICMP echo request; did an echo reply come back?"""
    src, refused = _kernel_source(dst)
    if refused or src is None:
        return {"ok": False, "error": refused or "no source address"}
    ident = ident if ident is not None else random.randint(1, 0xFFFF)
    request = IP(src=src, dst=dst) / ICMP(id=ident, seq=1) / PAYLOAD
    try:
        sock = L3RawSocket()
    except OSError as exc:
        return {"ok": False, "error": os.strerror(exc.errno or errno.EIO)}
    try:
        answer = sock.sr1(request, timeout=timeout, verbose=0)
    except OSError as exc:
        return {"ok": False, "error": os.strerror(exc.errno or errno.EIO)}
    finally:
        sock.close()
    if answer is None or not answer.haslayer(ICMP):
        return {"ok": False, "error": f"no reply within {timeout:.1f} s"}
    icmp = answer[ICMP]
    if icmp.type == ICMP_ECHO_REPLY:
        sent = float(request.sent_time or answer.time)
        ms = (float(answer.time) - sent) * 1000
        return {"ok": True, "from": answer[IP].src, "ms": round(ms, 2)}
    return {"ok": False, "error": f"ICMP type {icmp.type} code {icmp.code} from {answer[IP].src}"}


def _route_to(target: str) -> tuple[str | None, str | None]:
    """(interface, source address) of the kernel's route to ``target``."""
    from lab.state import route_get_here

    answer = route_get_here(target)
    if answer.get("error") or answer.get("type") == "local":
        return None, None
    return answer.get("dev"), answer.get("prefsrc")


def _packet_socket(iface: str | None, proto: int) -> SimpleSocket:
    """A layer-2 socket as scapy sees it, on ``iface`` (or every interface).

    Made with the kernel's own name lookup, so scapy's interface cache (which
    describes the namespace scapy was imported in) is never consulted.
    """
    raw = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(proto))
    if iface is not None:
        raw.bind((iface, proto))
    return SimpleSocket(raw, basecls=Ether)


def arp(target: str, timeout: float = 0.4) -> dict[str, Any]:
    """An ARP who-has for ``target`` on the interface the route to it uses."""
    iface, src = _route_to(target)
    if not iface or iface == "lo":
        return {"ok": False, "error": f"no interface leads to {target}"}
    try:
        sock = _packet_socket(iface, ETH_P_ARP)
    except OSError as exc:
        return {"ok": False, "error": os.strerror(exc.errno or errno.EIO)}
    try:
        mac = ":".join(f"{b:02x}" for b in sock.ins.getsockname()[4][:6])
        who_has = Ether(src=mac, dst="ff:ff:ff:ff:ff:ff") / ARP(
            op=1, hwsrc=mac, psrc=src or "0.0.0.0", pdst=target
        )
        answer = sock.sr1(who_has, timeout=timeout, verbose=0)
    except OSError as exc:
        return {"ok": False, "error": os.strerror(exc.errno or errno.EIO)}
    finally:
        sock.close()
    if answer is None or not answer.haslayer(ARP) or answer[ARP].op != 2:
        return {"ok": False, "error": f"nobody answered who-has {target} on {iface}"}
    return {"ok": True, "mac": answer[ARP].hwsrc, "iface": iface}


def sniff_echo(ready_fd: int, dst: str, ident: int, timeout: float) -> dict[str, Any]:
    """Watch every interface for our echo request to ``dst``; report its source."""

    def ours(pkt: Any) -> bool:
        return bool(
            pkt.haslayer(ICMP)
            and pkt[ICMP].type == ICMP_ECHO_REQUEST
            and pkt[ICMP].id == ident
            and pkt[IP].dst == dst
        )

    sock = _packet_socket(None, ETH_P_IP)
    try:
        packets = sniff(
            opened_socket=sock,
            lfilter=ours,
            count=1,
            timeout=timeout,
            started_callback=lambda: os.write(ready_fd, b"1"),
            store=True,
        )
    finally:
        sock.close()
    return {"seen": [pkt[IP].src for pkt in packets]}


def http_get(dst: str, port: int, timeout: float = 1.0) -> dict[str, Any]:
    """TCP connect and ``GET /``: the status line, or how it failed."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    try:
        sock.connect((dst, port))
        sock.sendall(f"GET / HTTP/1.0\r\nHost: {dst}\r\n\r\n".encode())
        data = sock.recv(256)
    except ConnectionRefusedError:
        return {"ok": False, "outcome": "refused", "error": "Connection refused"}
    except TimeoutError:
        return {"ok": False, "outcome": "no-answer", "error": f"no answer within {timeout:.1f} s"}
    except OSError as exc:
        return {"ok": False, "outcome": "no-answer", "error": os.strerror(exc.errno or errno.EIO)}
    finally:
        sock.close()
    line = data.split(b"\r\n", 1)[0].decode(errors="replace")
    return {"ok": line.startswith("HTTP/"), "outcome": "ok", "status": line}

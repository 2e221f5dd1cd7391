"""Real packets, sent with scapy from inside a namespace.

Each function here runs in a child process that :mod:`lab.inns` has already
moved into the namespace to probe. scapy caches interfaces and routes when it
is imported, so every probe first reloads them for the namespace it now stands
in. Probes use the kernel's layer-3 raw socket (``L3RawSocket``): the kernel
routes and resolves ARP, a failing probe honours its timeout, and "Network is
unreachable" comes back as the kernel says it.
"""

from __future__ import annotations

import errno
import logging
import os
import random
import socket
import time
from typing import Any

from scapy.config import conf
from scapy.layers.inet import ICMP, IP
from scapy.layers.l2 import ARP, Ether
from scapy.sendrecv import sniff, sr1, srp1
from scapy.supersocket import L3RawSocket

logging.getLogger("scapy").setLevel(logging.CRITICAL)
conf.verb = 0
conf.L3socket = L3RawSocket

PAYLOAD = b"cnlab-probe"


def _refresh() -> None:
    conf.ifaces.reload()
    conf.route.resync()


def _unroutable(dst: str) -> str | None:
    """The kernel's own verdict before sending: 'Network is unreachable' and the like."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        sock.connect((dst, 9))
    except OSError as exc:
        return os.strerror(exc.errno or errno.EIO)
    finally:
        sock.close()
    return None


def ping(dst: str, timeout: float = 0.4, ident: int | None = None) -> dict[str, Any]:
    """One ICMP echo request; did an echo reply come back?"""
    unroutable = _unroutable(dst)
    if unroutable:
        return {"ok": False, "error": unroutable}
    _refresh()
    ident = ident if ident is not None else random.randint(1, 0xFFFF)
    started = time.monotonic()
    try:
        answer = sr1(IP(dst=dst) / ICMP(id=ident, seq=1) / PAYLOAD, timeout=timeout)
    except OSError as exc:
        return {"ok": False, "error": os.strerror(exc.errno or errno.EIO)}
    ms = (time.monotonic() - started) * 1000
    if answer is None:
        return {"ok": False, "error": f"no reply within {timeout:.1f} s"}
    if answer.haslayer(ICMP) and answer[ICMP].type == 0:
        return {"ok": True, "from": answer.src, "ms": round(ms, 2)}
    return {
        "ok": False,
        "error": f"ICMP type {answer[ICMP].type} code {answer[ICMP].code} from {answer.src}"
        if answer.haslayer(ICMP)
        else "unexpected answer",
    }


def arp(target: str, timeout: float = 0.4) -> dict[str, Any]:
    """An ARP who-has for ``target`` on the interface the route to it uses."""
    _refresh()
    iface, _src, _gw = conf.route.route(target)
    if not iface or iface == conf.loopback_name:
        return {"ok": False, "error": f"no interface leads to {target}"}
    try:
        answer = srp1(
            Ether(dst="ff:ff:ff:ff:ff:ff") / ARP(pdst=target), iface=iface, timeout=timeout
        )
    except OSError as exc:
        return {"ok": False, "error": os.strerror(exc.errno or errno.EIO)}
    if answer is None or not answer.haslayer(ARP):
        return {"ok": False, "error": f"nobody answered who-has {target} on {iface}"}
    return {"ok": True, "mac": answer[ARP].hwsrc, "iface": iface}


def sniff_echo(ready_fd: int, dst: str, ident: int, timeout: float) -> dict[str, Any]:
    """Watch for our echo request to ``dst``; report the source it arrived with."""
    seen: list[str] = []

    def ours(pkt: Any) -> bool:
        return bool(pkt.haslayer(ICMP) and pkt[ICMP].type == 8 and pkt[ICMP].id == ident)

    def started() -> None:
        os.write(ready_fd, b"1")

    _refresh()
    ifaces = [name for _, name in socket.if_nameindex() if name != "lo"]
    packets = sniff(
        iface=ifaces,
        lfilter=ours,
        count=1,
        timeout=timeout,
        started_callback=started,
        store=True,
    )
    for pkt in packets:
        seen.append(pkt[IP].src)
    return {"seen": seen}


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

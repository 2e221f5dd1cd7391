"""The ARP probe's frames, byte for byte: built with struct, checked against scapy.

scapy (a test dependency only) builds and parses the same frames independently,
so a field in the wrong place fails here rather than as a silent "nobody answered".
"""

from __future__ import annotations

from scapy.layers.l2 import ARP, Ether

from checks.probes import is_at, who_has

MAC = bytes.fromhex("020000000a0b")
PEER = "02:00:00:00:00:14"


def test_who_has_is_the_frame_scapy_builds() -> None:
    frame = who_has(MAC, "172.18.0.10", "172.18.0.20")
    expected = Ether(src="02:00:00:00:0a:0b", dst="ff:ff:ff:ff:ff:ff") / ARP(
        op=1, hwsrc="02:00:00:00:0a:0b", psrc="172.18.0.10", pdst="172.18.0.20"
    )
    assert frame == bytes(expected)
    parsed = Ether(frame)
    assert parsed[ARP].op == 1 and parsed[ARP].pdst == "172.18.0.20"


def _reply(psrc: str, op: int = 2, pad: int = 18) -> bytes:
    frame = Ether(src=PEER, dst="02:00:00:00:0a:0b") / ARP(
        op=op, hwsrc=PEER, psrc=psrc, hwdst="02:00:00:00:0a:0b", pdst="172.18.0.10"
    )
    return bytes(frame) + bytes(pad)  # a frame from the wire may carry padding


def test_is_at_reads_the_answer_from_the_address_asked_about() -> None:
    assert is_at(_reply("172.18.0.20"), "172.18.0.20") == PEER
    assert is_at(_reply("172.18.0.20", pad=0), "172.18.0.20") == PEER


def test_is_at_ignores_everything_else() -> None:
    assert is_at(_reply("172.18.0.21"), "172.18.0.20") is None  # someone else's answer
    assert is_at(_reply("172.18.0.20", op=1), "172.18.0.20") is None  # a question
    assert is_at(who_has(MAC, "172.18.0.10", "172.18.0.20"), "172.18.0.20") is None
    assert is_at(_reply("172.18.0.20")[:41], "172.18.0.20") is None  # cut short
    ip_frame = bytes(Ether(src=PEER, type=0x0800)) + bytes(28)
    assert is_at(ip_frame, "172.18.0.20") is None

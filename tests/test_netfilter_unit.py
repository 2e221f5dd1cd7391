"""The netfilter model on hand-written rule sets: chains, jumps, gotos, returns, NAT, conntrack."""

from __future__ import annotations

from checks.netfilter import Flow, Packet, run_hook, translate
from lab.rules import IPTABLES_LEGACY, merge, parse_iptables_save
from lab.state import Link, Namespace

HOST_LINKS = (
    Link(1, "lo", None, True, True, "", addresses=("127.0.0.1/8",)),
    Link(2, "eth0", "veth", True, True, "", addresses=("10.0.2.15/24",)),
    Link(3, "br0", "bridge", True, True, "", addresses=("172.18.0.1/16",)),
)


def host(save: str, legacy: str = "") -> Namespace:
    parts = [parse_iptables_save(save)]
    if legacy:
        parts.append(parse_iptables_save(legacy, IPTABLES_LEGACY))
    return Namespace("host", HOST_LINKS, (), 1, merge(parts))


OUT = Flow("netns0", "8.8.8.8", src="172.18.0.10")
FORWARD_OUT = Packet(OUT, "br0", "eth0")


def test_a_jump_returns_and_a_goto_does_not() -> None:
    jump = host(
        "*filter\n:FORWARD DROP [0:0]\n:CHECK - [0:0]\n"
        "-A FORWARD -j CHECK\n-A FORWARD -i br0 -j ACCEPT\n"
        "-A CHECK -d 8.8.8.8/32 -j RETURN\n-A CHECK -j DROP\nCOMMIT\n"
    )
    assert run_hook(jump, "forward", FORWARD_OUT).accepted  # RETURN, then ACCEPT
    goto = host(
        "*filter\n:FORWARD DROP [0:0]\n:CHECK - [0:0]\n"
        "-A FORWARD -g CHECK\n-A FORWARD -i br0 -j ACCEPT\n"
        "-A CHECK -d 8.8.8.8/32 -j RETURN\nCOMMIT\n"
    )
    verdict = run_hook(goto, "forward", FORWARD_OUT)  # RETURN from a goto ends FORWARD: policy
    assert not verdict.accepted and verdict.rule is None and verdict.chain is not None
    assert verdict.evidence("host") == "host: -P FORWARD DROP (iptables-nft)"


def test_replies_are_established_and_skip_nat() -> None:
    ns = host(
        "*filter\n:FORWARD DROP [0:0]\n"
        "-A FORWARD -i br0 -o eth0 -j ACCEPT\n"
        "-A FORWARD -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\nCOMMIT\n"
        "*nat\n:PREROUTING ACCEPT [0:0]\n"
        "-A PREROUTING -j DNAT --to-destination 1.2.3.4\nCOMMIT\n"
    )
    reply = OUT.answer("internet")
    assert reply.reply and reply.ctstate == "ESTABLISHED" and reply.dst == "172.18.0.10"
    assert run_hook(ns, "forward", Packet(reply, "eth0", "br0")).accepted
    assert run_hook(ns, "prerouting", Packet(reply, "eth0", None)).nat is None
    new = run_hook(ns, "prerouting", Packet(OUT, "br0", None))
    assert new.nat is not None and translate(OUT, new.nat, ns, None).dst == "1.2.3.4"


def test_the_first_translation_at_a_hook_wins_and_masquerade_takes_the_out_address() -> None:
    ns = host(
        "*nat\n:POSTROUTING ACCEPT [0:0]\n"
        "-A POSTROUTING -s 172.18.0.0/16 ! -o br0 -j MASQUERADE\n"
        "-A POSTROUTING -s 172.18.0.0/16 -j SNAT --to-source 9.9.9.9\nCOMMIT\n"
    )
    verdict = run_hook(ns, "postrouting", Packet(OUT, "br0", "eth0"))
    assert verdict.nat is not None and verdict.nat.target == "MASQUERADE"
    assert translate(OUT, verdict.nat, ns, "eth0").src == "10.0.2.15"
    inside = run_hook(ns, "postrouting", Packet(OUT, "br0", "br0"))
    assert inside.nat is not None and translate(OUT, inside.nat, ns, "br0").src == "9.9.9.9"


def test_both_backends_must_accept() -> None:
    ns = host(
        "*filter\n:FORWARD ACCEPT [0:0]\nCOMMIT\n",
        legacy="*filter\n:FORWARD ACCEPT [0:0]\n-A FORWARD -o eth0 -p icmp -j DROP\nCOMMIT\n",
    )
    verdict = run_hook(ns, "forward", FORWARD_OUT)
    assert not verdict.accepted and verdict.rule is not None
    assert verdict.evidence("host") == "host: -A FORWARD -o eth0 -p icmp -j DROP (iptables-legacy)"
    tcp = Packet(
        Flow("netns0", "8.8.8.8", "tcp", 53, src="172.18.0.10", sport=40000), "br0", "eth0"
    )
    assert run_hook(ns, "forward", tcp).accepted


def test_addrtype_ports_and_interfaces() -> None:
    ns = host(
        "*nat\n:PREROUTING ACCEPT [0:0]\n:DOCKER - [0:0]\n"
        "-A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER\n"
        "-A DOCKER -i br0 -j RETURN\n"
        "-A DOCKER ! -i br0 -p tcp -m multiport --dports 80,5000:5010 -j DNAT --to-destination 172.18.0.10\n"
        "COMMIT\n"
    )

    def dnat(dst: str, port: int, in_if: str) -> str | None:
        flow = Flow("internet", dst, "tcp", port, src="10.0.2.2", sport=40000)
        verdict = run_hook(ns, "prerouting", Packet(flow, in_if, None))
        return translate(flow, verdict.nat, ns, None).dst if verdict.nat else None

    assert dnat("10.0.2.15", 5005, "eth0") == "172.18.0.10"
    assert dnat("10.0.2.15", 5011, "eth0") is None  # port outside the range
    assert dnat("8.8.8.8", 5005, "eth0") is None  # not a local address
    assert dnat("172.18.0.1", 80, "br0") is None  # from the bridge: RETURN


def test_an_unmodelled_match_is_uncertain_not_a_guess() -> None:
    ns = host(
        "*filter\n:FORWARD ACCEPT [0:0]\n-A FORWARD -m physdev --physdev-is-bridged -j DROP\nCOMMIT\n"
    )
    verdict = run_hook(ns, "forward", FORWARD_OUT)
    assert verdict.accepted and [r.text for r in verdict.uncertain] == [
        "-m physdev --physdev-is-bridged -j DROP"
    ]

"""statediff on hand-made snapshots: same network, different numbers; what is missing or extra."""

from __future__ import annotations

import copy

from lab.tui.statediff import differences, goal_differences, network_facts

from .test_netmap import article_state, link, route, snap


def test_the_same_network_with_other_numbers_and_macs_has_no_difference() -> None:
    live = article_state()
    renumbered = copy.deepcopy(live)
    for space in renumbered["namespaces"].values():
        for item in space["links"]:
            item["mac"] = "02:00:00:00:00:99"
            item["index"] += 100
            if item["peer_index"] is not None:
                item["peer_index"] += 100
    renumbered["taken_at"] = 123.0
    assert differences(snap(live), snap(renumbered)) == []
    assert differences(snap(live), snap(live)) == []


def test_missing_and_extra_things_are_named() -> None:
    target = article_state()
    live = copy.deepcopy(target)
    host = live["namespaces"]["host"]
    host["ip_forward"] = 0
    host["firewall"]["rules"] = []
    host["links"].append(link(99, "br9", "bridge"))
    del live["namespaces"]["netns1"]
    found = differences(snap(live), snap(target))
    assert "missing: the namespace netns1" in found
    assert "missing in host: ip_forward 1" in found
    assert "extra in host: ip_forward 0" in found
    assert "extra in host: interface br9 bridge UP" in found
    assert (
        "missing in host: iptables -t nat -A POSTROUTING -s 172.18.0.0/16 ! -o br0 -j MASQUERADE"
        in found
    )
    # veth1's other end lived in netns1: the host's veth1 now leads nowhere known
    assert any(f.startswith("missing in host: interface veth1") for f in found)


def test_facts_name_the_veth_peer_and_skip_the_internet() -> None:
    facts = network_facts(snap(article_state()))
    assert "internet" not in facts
    assert "interface veth0 veth UP in bridge br0 ↔ netns0:ceth0" in facts["host"]


def test_a_peer_is_found_by_both_ends_not_by_a_number_another_namespace_reuses() -> None:
    state = article_state()
    # the internet's eth0 has the same interface number as the host's veth0's peer
    inet_links = state["namespaces"]["internet"]["links"]
    inet_links.append(link(4, "decoy", "veth", peer_index=99, peer_elsewhere=True))
    facts = network_facts(snap(state))
    assert "interface veth0 veth UP in bridge br0 ↔ netns0:ceth0" in facts["host"]
    assert not any("internet:decoy" in f for f in facts["host"])


def test_the_goal_view_names_a_wrong_address_a_down_link_and_a_route_clash() -> None:
    target = article_state()
    live = copy.deepcopy(target)
    ns0 = live["namespaces"]["netns0"]
    ns0["links"][1]["addresses"] = ["172.18.0.99/16"]
    live["namespaces"]["host"]["links"][4]["up"] = False
    live["namespaces"]["host"]["routes"].append(route("172.18.0.0/16", "veth0"))
    found = goal_differences(snap(live), snap(target))
    assert "wrong in netns0: ceth0 has 172.18.0.99/16 where the goal has 172.18.0.10/16" in found
    assert "wrong in host: br0 has DOWN where the goal has UP" in found
    assert (
        "clash in host: 2 routes to 172.18.0.0/16 (dev br0, veth0): the kernel uses only the first"
        in found
    )
    assert "extra in host: route 172.18.0.0/16 dev veth0" in found
    kinds = [line.split()[0].rstrip(":") for line in found]
    assert kinds == sorted(kinds, key=["missing", "wrong", "clash", "extra"].index)
    # a clash the goal has too (lesson 3 ends on one) is no difference
    assert goal_differences(snap(live), snap(copy.deepcopy(live))) == []
    # an interface the goal lacks altogether is extra, one it has only there is missing
    del live["namespaces"]["netns1"]["links"][1]
    assert any(
        f.startswith("missing in netns1: interface ceth1")
        for f in goal_differences(snap(live), snap(target))
    )

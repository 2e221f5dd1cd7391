#!/usr/bin/env bash
# End of lesson 1: the host's firewall has the ROOT_NS chain and {{ ns0 }} exists (empty).
iptables -N ROOT_NS
ip netns add {{ ns0 }}

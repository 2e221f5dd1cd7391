#!/usr/bin/env bash
# Lesson 1 starts from a fresh world: the host has lo and {{ host_if }} ({{ host_cidr }}),
# a default route via {{ router_ip }}, no namespaces and no iptables rules.
true

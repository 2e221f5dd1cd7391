#!/usr/bin/env bash
# Lesson 11 starts from a fresh world: the host has lo and {{ host_if }} ({{ host_cidr }}),
# no namespaces, and one unprivileged user, {{ learner }}. The internet serves a web page
# on {{ internet_ip }}:{{ web_port }} that names the address it sees you come from.
true

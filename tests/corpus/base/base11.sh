# Lesson 11's namespace: learner's `sleep infinity` in a user and network namespace of its
# own ($pid, as the world numbers it), connected by learner's slirp4netns (tap0 configured).
pid=$(su learner -c 'unshare --user --map-root-user --net sleep infinity >/dev/null 2>&1 & echo $!')
for i in $(seq 50); do [ -e /proc/$pid/ns/net ] && [ "$(readlink /proc/$pid/ns/user)" != "$(readlink /proc/1/ns/user)" ] && break; sleep 0.1; done

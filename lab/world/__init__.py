"""The sealed world: a private copy of "the article's VM" that nothing can leave.

::

      world "default"  (one private mount namespace: own /run/netns, /sys,
      |                 /etc/resolv.conf, /etc/profile, helpers in /usr/local/sbin)
      |
      |  host netns (the learner's "VM")            internet netns (hidden)
      |  +---------------------------+              +------------------------+
      |  | lo                        |   veth pair  | eth0 10.0.2.2/24       |
      |  | eth0 10.0.2.15/24   ------+--------------+ lo   8.8.8.8/32        |
      |  | default via 10.0.2.2      |              | DNS on 8.8.8.8:53      |
      |  | ip_forward 0, no iptables |              | web on 8.8.8.8:80      |
      |  | user learner (uid 1000+)  |              | no route to 172.18/16  |
      |  +---------------------------+              +------------------------+
      |     the learner adds netns0, netns1, veths, br0... in here
      +---------------------------------------------------------------------

Every namespace of a world is kept alive by a bind mount of its ``nsfs`` file
under ``/run/cnlab/<world>/`` (``mnt``, ``host``, ``inet``), so separate
processes (the TUI, ``cnlab shell``, ``cnlab check``, a grader) attach to the
same world with ``nsenter``/``setns`` and no daemon runs. Namespaces the
learner creates with ``ip netns add`` live in the world's own ``/run/netns``
(a tmpfs inside the world's mount namespace), so the real host never sees them.

A mount namespace is also what lets the world look like a VM without touching
the machine: inside it only, the lab's helpers (``sudo``, ``su``, ``iptables``,
``modprobe``) sit on an exec tmpfs covering ``/usr/local/sbin`` and the real
``sudo``/``su``, and ``/etc/profile`` and ``/etc/bash.bashrc`` are the world's
own, so every shell the learner starts finds them. The learner's home is the
one thing kept outside: ``/var/lib/cnlab/<world>/home`` outlives every reset.

The package splits the world along its duties (as Mininet splits its ``Node``)::

    paths      where a world lives: folder, pinned namespace files, meta.json
    lock       one command changes a world at a time (flock)
    teardown   which processes are the world's; state; destroy
    shell      entering it: the nsenter line, the environment, running a script
    build      making it: namespaces, mounts, init, internet, DNS

:class:`World` is the facade every other module uses (``from lab.world import World``).
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable

from lab.errors import LabError, WorldMissing
from lab.i18n import _
from lab.names import NAME_RE as NAME_RE  # re-exported: callers name them lab.world
from lab.names import validate_name as validate_name
from lab.world import build, shell, teardown
from lab.world.build import MountsRefused as MountsRefused
from lab.world.build import free_id as free_id
from lab.world.lock import lock_path as lock_path
from lab.world.lock import locked as locked
from lab.world.paths import ASSETS as ASSETS
from lab.world.paths import HOST_ADDR as HOST_ADDR
from lab.world.paths import HOST_NS as HOST_NS
from lab.world.paths import INTERNET_ADDR as INTERNET_ADDR
from lab.world.paths import INTERNET_NS as INTERNET_NS
from lab.world.paths import LEARNER as LEARNER
from lab.world.paths import ROUTER_ADDR as ROUTER_ADDR
from lab.world.paths import RUN_ROOT as RUN_ROOT
from lab.world.paths import SYSTEM_PATH as SYSTEM_PATH
from lab.world.paths import WEB_PORT as WEB_PORT
from lab.world.paths import WorldPaths
from lab.world.paths import list_worlds as list_worlds
from lab.world.teardown import inside_world as inside_world


class World(WorldPaths):
    """A handle on one world; cheap to make, it changes nothing until asked.

    Its paths and metadata come from :class:`lab.world.paths.WorldPaths`; each
    method below is one duty of a submodule, named here so callers need one import.
    """

    # ------------------------------------------------------------------ state

    def state(self) -> str:
        """``absent``, ``ready``, ``broken`` or ``elsewhere``: see :func:`teardown.state`."""
        return teardown.state(self)

    def init_pid(self) -> int | None:
        """PID of the world's init if it is alive (see :func:`teardown.init_pid`)."""
        return teardown.init_pid(self)

    def require(self) -> World:
        """Return self if the world is ready; clean up a broken one and raise."""
        state = self.state()
        if state == "ready":
            return self
        if state == "elsewhere":
            raise LabError(teardown.elsewhere(self.name))
        if state == "broken":
            self.destroy()
            raise WorldMissing(
                _(
                    "world {self_name!r} was left broken (a crash?) and has been cleaned up; run "
                    "`cnlab reset 1 --world {self_name}` to build it again"
                ).format(self_name=self.name)
            )
        hint = "" if self.name == "default" else f" --world {self.name}"
        raise WorldMissing(
            _("no world {self_name!r} yet: run `cnlab reset 1{hint}` first").format(
                self_name=self.name, hint=hint
            )
        )

    # -------------------------------------------------------------- lifecycle

    def create(self, status: str = "ready", graded: bool = False) -> None:
        """Build a fresh world (see :func:`build.create`)."""
        build.create(self, status, graded)

    def destroy(self) -> None:
        """End every process inside the world and remove all of it. Idempotent."""
        teardown.destroy(self)

    def namespace_ids(self) -> tuple[set[tuple[int, int]], set[tuple[int, int]]]:
        """(net namespace ids, mount namespace ids) of this world, as (dev, inode)."""
        return teardown.namespace_ids(self)

    def in_mount_ns(self, fn: Callable[[int], object], timeout: float = 5.0) -> object:
        """``fn(proc_fd)`` run in a child inside the world's mount namespace."""
        return teardown.in_mount_ns(self, fn, timeout)

    def processes(self) -> list[int]:
        """PIDs inside this world (see :func:`teardown.processes`)."""
        return teardown.processes(self)

    def kill_processes(self) -> list[int]:
        """SIGKILL every process inside this world (its init first); return their PIDs."""
        return teardown.kill_processes(self)

    # ---------------------------------------------------------------- entering

    def env(self, term: str | None = None) -> dict[str, str]:
        """The environment of a learner's shell inside this world."""
        return shell.env(self, term)

    def learner_namespaces(self) -> list[str]:
        """Names in the world's /run/netns (what `ip netns list` shows inside)."""
        return shell.learner_namespaces(self)

    def enter_argv(self, ns: str | None = None) -> list[str]:
        """argv prefix that runs a command inside this world, in namespace ``ns``."""
        return shell.enter_argv(self, ns)

    def own_netns_ids(self) -> set[tuple[int, int]]:
        """The network namespaces the world made itself (see :func:`shell.own_netns_ids`)."""
        return shell.own_netns_ids(self)

    def run(
        self,
        script: str,
        ns: str | None = None,
        timeout: float = 30.0,
        check: bool = False,
        shims: bool = True,
        record: bool = False,
    ) -> subprocess.CompletedProcess[str]:
        """Run a bash script inside the world (non-interactively) and capture it."""
        return shell.run(self, script, ns, timeout, check, shims, record)

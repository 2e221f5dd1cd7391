"""The init of one submission's sandbox: build a sealed root, drop power, run bash.

This file runs as PID 1 of a fresh PID namespace (``unshare --pid --fork``),
in a fresh mount, UTS and IPC namespace copied from the world's mount
namespace, inside the world's host network namespace. It is standard library
only and is started with ``python -I -S``; its one argument is a JSON config.

Why each step (the submission is root, and root can undo most fences):

* **A new root built on a tmpfs**, entered with ``pivot_root``: an allow-list
  of the machine's top-level folders (``/usr``, ``/bin``, ``/sbin``, ``/lib*``:
  programs and libraries) is bound in read-only (``nodev``, ``nosuid``), and
  every special file system under them is *detached*, not covered, so an
  ``umount`` reveals nothing. Nothing else of the machine is there: no
  ``/root``, ``/home``, ``/srv``, ``/opt``, ``/var`` (only ``/var/run`` -> ``/run``
  and an empty read-only ``/var/tmp``), no class folder. ``/etc`` is a small
  read-only copy (:data:`ETC_FILES`; users root and nobody; no shadow).
  ``/run`` is a small writable tmpfs (lock files) holding the world's
  ``/run/netns`` (shared with the world, so ``ip netns add`` inside is seen by
  the checks), the world's ``bin`` (sudo) and its home, read-only.
  ``/run/cnlab`` and every other world are not there.
* **Scratch space** is a size-limited tmpfs on ``/tmp`` and ``/dev/shm``.
* **/proc** is this PID namespace's own, read-only as a whole, except
  ``/proc/sys/net`` (per network namespace: ``ip_forward`` must stay writable);
  lessons that need a writable ``uid_map`` (lesson 11) are not graded. ``/sys`` is the
  world's sysfs, read-only, bound folder by folder so that ``/sys`` itself is
  not a mount point: ``ip netns exec`` then mounts its own sysfs read-only.
* **Capabilities**: only what networking needs (``NET_ADMIN``, ``NET_RAW``,
  ``SYS_ADMIN`` for ``ip netns``/``nsenter``, file ownership, kill, setuid).
* **seccomp**: ``mount(2)`` may bind, change propagation, or mount a new file
  system *read-only*; never remount (which would make a read-only view
  writable) or move. The new mount API, bpf, perf, kexec, modules, swap, the
  clock, keyrings, fanotify, open_by_handle_at and io_uring are refused.
* The runner outside puts this process in cgroups first: ``pids.max`` (fork
  bombs), a memory limit (tmpfs pages count too) and a device allow-list (block
  devices cannot be opened even from a device file system mounted read-only).

After bash exits, its status is written to the status descriptor and this init
stays on to reap, so servers the submission left running survive until the
checks have run; the runner then kills the whole namespace.
"""

from __future__ import annotations

import ctypes
import json
import os
import platform
import shutil
import signal
import struct
import sys

MS_RDONLY = 0x1
MS_NOSUID = 0x2
MS_NODEV = 0x4
MS_NOEXEC = 0x8
MS_REMOUNT = 0x20
MS_BIND = 0x1000
MS_MOVE = 0x2000
MS_REC = 0x4000
MS_UNBINDABLE = 1 << 17
MS_PRIVATE = 1 << 18
MS_SLAVE = 1 << 19
MS_SHARED = 1 << 20
MNT_DETACH = 2

PR_SET_PDEATHSIG = 1
PR_SET_DUMPABLE = 4
PR_SET_SECCOMP = 22
PR_CAPBSET_DROP = 24
PR_SET_NO_NEW_PRIVS = 38
PR_CAP_AMBIENT = 47
PR_CAP_AMBIENT_CLEAR_ALL = 4
SECCOMP_MODE_FILTER = 2
SECCOMP_RET_ALLOW = 0x7FFF0000
SECCOMP_RET_ERRNO = 0x00050000
SECCOMP_RET_KILL_PROCESS = 0x80000000
EPERM = 1
ENOSYS = 38

# Capabilities a learner's networking commands need; every other one is dropped.
KEEP_CAPS = {
    0: "chown",
    1: "dac_override",
    3: "fowner",
    4: "fsetid",
    5: "kill",
    6: "setgid",
    7: "setuid",
    10: "net_bind_service",
    11: "net_broadcast",
    12: "net_admin",
    13: "net_raw",
    18: "sys_chroot",
    21: "sys_admin",
    29: "audit_write",
}

# Special file systems: detached from the new root rather than kept read-only.
SPECIAL_FS = {
    "autofs", "binfmt_misc", "bpf", "cgroup", "cgroup2", "configfs", "debugfs",
    "devpts", "devtmpfs", "efivarfs", "fusectl", "hugetlbfs", "mqueue", "nsfs",
    "proc", "pstore", "ramfs", "rpc_pipefs", "securityfs", "selinuxfs", "sysfs",
    "tmpfs", "tracefs",
}  # fmt: skip
# The machine's top-level folders the sandbox sees (read-only): programs and
# libraries only. Never /root, /home, /srv, /opt, /var, /mnt, the class folder...
ALLOW_TOP = ("usr", "bin", "sbin", "lib", "lib32", "lib64", "libx32")
# Empty mount points and stand-ins made in the new root.
EMPTY_TOP = ("proc", "sys", "dev", "run", "tmp", "etc", "var", "home")
# What the sandbox's /etc holds, copied from the world's: names, addresses, the
# dynamic linker's cache, the tools' tables. No shadow, no keys, no host config.
ETC_FILES = (
    "alternatives", "bash.bashrc", "debian_version", "ethertypes", "gai.conf",
    "host.conf", "hostname", "inputrc", "iproute2", "ld.so.cache", "ld.so.conf",
    "ld.so.conf.d", "localtime", "mime.types", "netconfig", "nftables.conf",
    "nsswitch.conf", "os-release", "profile", "protocols", "resolv.conf", "rpc",
    "services", "shells", "xtables.conf",
)  # fmt: skip
ETC_PASSWD = (
    "root:x:0:0:root:/root:/bin/bash\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n"
)
ETC_GROUP = "root:x:0:\nnogroup:x:65534:\n"
ETC_HOSTS = "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n"
DEVICES = ("null", "zero", "full", "random", "urandom", "tty", "net/tun")

# Syscalls refused (EPERM unless noted), by architecture. "mount" is filtered
# on its flags instead; clone3 gets ENOSYS so that libc falls back to clone.
SYSCALLS = {
    "x86_64": {
        "audit_arch": 0xC000003E,
        "mount": 165,
        "enosys": {435: "clone3", 428: "open_tree", 429: "move_mount", 430: "fsopen",
                   431: "fsconfig", 432: "fsmount", 433: "fspick", 442: "mount_setattr",
                   425: "io_uring_setup", 426: "io_uring_enter", 427: "io_uring_register"},
        "eperm": {155: "pivot_root", 167: "swapon", 168: "swapoff", 169: "reboot",
                  172: "iopl", 173: "ioperm", 175: "init_module", 176: "delete_module",
                  313: "finit_module", 179: "quotactl", 443: "quotactl_fd", 103: "syslog",
                  163: "acct", 164: "settimeofday", 159: "adjtimex", 227: "clock_settime",
                  305: "clock_adjtime", 246: "kexec_load", 320: "kexec_file_load",
                  248: "add_key", 249: "request_key", 250: "keyctl", 298: "perf_event_open",
                  300: "fanotify_init", 303: "name_to_handle_at", 304: "open_by_handle_at",
                  321: "bpf", 323: "userfaultfd", 212: "lookup_dcookie", 153: "vhangup",
                  134: "uselib"},
    },
    "aarch64": {
        "audit_arch": 0xC00000B7,
        "mount": 40,
        "enosys": {435: "clone3", 428: "open_tree", 429: "move_mount", 430: "fsopen",
                   431: "fsconfig", 432: "fsmount", 433: "fspick", 442: "mount_setattr",
                   425: "io_uring_setup", 426: "io_uring_enter", 427: "io_uring_register"},
        "eperm": {41: "pivot_root", 224: "swapon", 225: "swapoff", 142: "reboot",
                  105: "init_module", 106: "delete_module", 273: "finit_module",
                  60: "quotactl", 443: "quotactl_fd", 116: "syslog", 89: "acct",
                  170: "settimeofday", 171: "adjtimex", 112: "clock_settime",
                  266: "clock_adjtime", 104: "kexec_load", 294: "kexec_file_load",
                  217: "add_key", 218: "request_key", 219: "keyctl", 241: "perf_event_open",
                  262: "fanotify_init", 264: "name_to_handle_at", 265: "open_by_handle_at",
                  280: "bpf", 282: "userfaultfd", 18: "lookup_dcookie", 58: "vhangup"},
    },
}  # fmt: skip

_libc = ctypes.CDLL(None, use_errno=True)
_libc.mount.argtypes = [ctypes.c_char_p] * 3 + [ctypes.c_ulong, ctypes.c_char_p]
_libc.umount2.argtypes = [ctypes.c_char_p, ctypes.c_int]
_libc.prctl.argtypes = [
    ctypes.c_int,
    ctypes.c_ulong,
    ctypes.c_ulong,
    ctypes.c_ulong,
    ctypes.c_ulong,
]
_libc.syscall.restype = ctypes.c_long


class JailError(Exception):
    pass


def _fail(what: str) -> None:
    err = ctypes.get_errno()
    raise JailError(f"{what}: {os.strerror(err)}")


def mount(src: str | None, target: str, fstype: str | None, flags: int, data: str = "") -> None:
    rc = _libc.mount(
        src.encode() if src else None,
        target.encode(),
        fstype.encode() if fstype else None,
        flags,
        data.encode() if data else None,
    )
    if rc != 0:
        _fail(f"mount {target}")


def umount(target: str) -> None:
    if _libc.umount2(target.encode(), MNT_DETACH) != 0:
        _fail(f"umount {target}")


def prctl(option: int, arg2: int = 0, arg3: int = 0) -> None:
    if _libc.prctl(option, arg2, arg3, 0, 0) != 0:
        _fail(f"prctl {option}")


def _unescape(path: str) -> str:
    out, i = [], 0
    while i < len(path):
        if path[i] == "\\" and path[i + 1 : i + 4].isdigit():
            out.append(chr(int(path[i + 1 : i + 4], 8)))
            i += 4
        else:
            out.append(path[i])
            i += 1
    return "".join(out)


def mounts_under(root: str) -> list[tuple[str, str]]:
    """(mount point, fs type) of the mounts inside the tree mounted last at ``root``,
    deepest first.

    By mount ids, not by path: mounts of the machine that were under ``root``
    before our tmpfs covered it (another program's, under /tmp) are still listed
    with paths below ``root``, but they are not ours and cannot be reached.
    """
    entries = []
    with open("/proc/self/mountinfo", encoding="utf-8") as fh:
        for line in fh:
            left, _, right = line.partition(" - ")
            fields = left.split()
            entries.append((fields[0], fields[1], _unescape(fields[4]), right.split()[0]))
    tops = [mount_id for mount_id, _parent, point, _fs in entries if point == root]
    if not tops:
        return []
    inside = {tops[-1]}
    found: list[tuple[str, str]] = []
    grew = True
    while grew:
        grew = False
        for mount_id, parent, point, fstype in entries:
            if parent in inside and mount_id not in inside and point.startswith(root + "/"):
                inside.add(mount_id)
                found.append((point, fstype))
                grew = True
    found.sort(key=lambda item: item[0].count("/"), reverse=True)
    return found


def build_proc(proc: str) -> None:
    """This PID namespace's /proc, read-only as a whole, apart from ``/proc/sys/net``
    (per network namespace: ``ip_forward`` must stay writable).

    Read-only as one mount, not entry by entry: a writable /proc with read-only
    mounts over its machine-wide entries is undone by root in the sandbox with a
    plain bind of /proc, or ``umount -l /proc/sys`` (both allowed: ``ip netns`` needs
    binds and detaching unmounts), which bares /proc/sys of the machine. So a
    process's own ``uid_map`` is read-only too, and a rootless namespace (lesson 11)
    cannot be made in the sandbox: ``cnlab grade`` refuses such lessons
    (:data:`NEEDS_WRITABLE_PROC`)."""
    mount("proc", proc, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
    net_tmp = f"{os.path.dirname(proc)}/.procnet"
    os.mkdir(net_tmp)
    mount(f"{proc}/sys/net", net_tmp, None, MS_BIND)
    mount(None, proc, None, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC)
    mount(net_tmp, f"{proc}/sys/net", None, MS_BIND)
    umount(net_tmp)
    os.rmdir(net_tmp)
    lwtunnel = f"{proc}/sys/net/netfilter/nf_hooks_lwtunnel"  # one machine-wide knob under net/
    if os.path.exists(lwtunnel):
        mount(lwtunnel, lwtunnel, None, MS_BIND)
        mount(None, lwtunnel, None, _RO_BIND | MS_NOEXEC)


#: Check kinds that need what the sandbox cannot give a submission safely: a writable
#: ``/proc/PID/uid_map`` for an unprivileged user namespace (see :func:`build_proc`).
NEEDS_WRITABLE_PROC = frozenset({"rootless_netns", "rootless_tcp", "rootless_ping"})


def build_home(new: str, cfg: dict[str, object]) -> None:
    """/home/learner: the world's unprivileged user's home, a small tmpfs it owns."""
    uid = cfg.get("learner_uid")
    if not isinstance(uid, int):
        return
    home = f"{new}/home/learner"
    os.makedirs(home, mode=0o755)
    opts = f"mode=0755,size=4m,uid={uid},gid={uid}"
    mount("cnlab-learner-home", home, "tmpfs", MS_NOSUID | MS_NODEV, opts)


def build_root(new: str, cfg: dict[str, object]) -> None:
    """Make the sandbox's file tree at ``new`` (see the module docstring)."""
    mount("cnlab-jail", new, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755,size=1m")
    _top_level(new)
    build_proc(f"{new}/proc")
    _sys(new)
    _dev(new, int(cfg["shm_mb"]))  # type: ignore[call-overload]
    build_etc(f"{new}/etc", cfg.get("learner_uid"))
    build_home(new, cfg)

    # /tmp: the scratch space.
    scratch = int(cfg["scratch_mb"])  # type: ignore[call-overload]
    mount(
        "cnlab-scratch", f"{new}/tmp", "tmpfs", MS_NOSUID | MS_NODEV, f"mode=1777,size={scratch}m"
    )
    _run(new, cfg)
    os.mkdir(f"{new}/.old")


def _top_level(new: str) -> None:
    """The allowed top-level folders, bound read-only, nodev, nosuid; the empty ones."""
    for name in ALLOW_TOP:
        source, target = f"/{name}", f"{new}/{name}"
        if os.path.islink(source):  # merged /usr: /bin -> usr/bin
            os.symlink(os.readlink(source), target)
        elif os.path.isdir(source):
            os.mkdir(target, 0o755)
            mount(source, target, None, MS_BIND | MS_REC)
    for name in EMPTY_TOP:
        os.mkdir(f"{new}/{name}", 0o755)
    # /var/run/netns is where the article's `nsenter --net=/var/run/netns/X` looks;
    # /var/tmp exists (read-only) so that writing there says so.
    os.symlink("/run", f"{new}/var/run")
    os.mkdir(f"{new}/var/tmp", 0o1777)
    # Detach special file systems that came along with the recursive binds,
    # then make every remaining (disk) mount read-only, nodev, nosuid.
    for point, fstype in mounts_under(new):
        if fstype in SPECIAL_FS:
            umount(point)
    for point, _ in mounts_under(new):
        mount(None, point, None, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV)


def _sys(new: str) -> None:
    """/sys: the world's sysfs, read-only, one folder at a time."""
    for name in sorted(os.listdir("/sys")):
        if os.path.isdir(f"/sys/{name}") and not os.path.islink(f"/sys/{name}"):
            os.mkdir(f"{new}/sys/{name}")
            mount(f"/sys/{name}", f"{new}/sys/{name}", None, MS_BIND)
            mount(None, f"{new}/sys/{name}", None, _RO_BIND | MS_NOEXEC)


def _dev(new: str, shm_mb: int) -> None:
    """/dev: a few harmless devices on a small tmpfs, and a limited /dev/shm."""
    dev = f"{new}/dev"
    mount("cnlab-dev", dev, "tmpfs", MS_NOSUID | MS_NOEXEC, "mode=0755,size=64k")
    for name in DEVICES:
        if os.path.exists(f"/dev/{name}"):
            os.makedirs(os.path.dirname(f"{dev}/{name}"), exist_ok=True)
            open(f"{dev}/{name}", "w").close()
            mount(f"/dev/{name}", f"{dev}/{name}", None, MS_BIND)
    for fd, name in enumerate(("stdin", "stdout", "stderr")):
        os.symlink(f"/proc/self/fd/{fd}", f"{dev}/{name}")
    os.symlink("/proc/self/fd", f"{dev}/fd")
    os.mkdir(f"{dev}/shm")
    mount("cnlab-shm", f"{dev}/shm", "tmpfs", MS_NOSUID | MS_NODEV, f"mode=1777,size={shm_mb}m")
    mount(None, dev, None, _RO_BIND | MS_NOEXEC)


def _run(new: str, cfg: dict[str, object]) -> None:
    """/run: a small tmpfs of its own (iptables-legacy takes /run/xtables.lock), the
    world's /run/netns (shared with the world), the world's bin and home."""
    mount("cnlab-run", f"{new}/run", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=0755,size=1m")
    os.mkdir(f"{new}/run/netns")
    mount("/run/netns", f"{new}/run/netns", None, MS_BIND | MS_REC)
    world_rc(new, cfg)
    for keep in cfg["world_dirs"]:  # type: ignore[attr-defined]
        if os.path.isdir(keep):
            os.makedirs(new + keep, mode=0o755, exist_ok=True)
            mount(keep, new + keep, None, MS_BIND)
            mount(None, new + keep, None, _RO_BIND)
    if cfg.get("world_rc"):
        mount(None, new + str(cfg["world_dir"]), None, _RO_BIND | MS_NOEXEC)


# A typed replay's shells read the world's rc files, as the learner's did: copies
# of these (from the world's folder), on a small read-only tmpfs at the same path.
# The shells' record of commands (events) and their history go to /dev/null.
WORLD_RC = (
    "bashrc", "prompt.sh", "ps0.sh", "hostnet", "etc/profile", "etc/bash.bashrc", "etc/shrc",
)  # fmt: skip
WORLD_SINKS = ("events", "history")


def world_rc(new: str, cfg: dict[str, object]) -> None:
    """Copy the world's rc files in, when the replay is typed (cfg ``world_rc``)."""
    if not cfg.get("world_rc"):
        return
    where = new + str(cfg["world_dir"])
    os.makedirs(where, mode=0o755)
    mount("cnlab-world", where, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=0755,size=1m")
    os.mkdir(f"{where}/etc", 0o755)
    for name in WORLD_RC:
        source = f"{cfg['world_dir']}/{name}"
        if os.path.isfile(source):
            shutil.copyfile(source, f"{where}/{name}")
    for name in WORLD_SINKS:
        os.symlink("/dev/null", f"{where}/{name}")


_RO_BIND = MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV


def build_etc(etc: str, learner_uid: object = None) -> None:
    """A minimal, read-only /etc: :data:`ETC_FILES` copied from the world's, and
    users, groups and hosts written here (root, nobody and the world's learner; localhost)."""
    mount("cnlab-etc", etc, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=0755,size=8m")
    for name in ETC_FILES:
        source, target = f"/etc/{name}", f"{etc}/{name}"
        try:
            if os.path.islink(source):
                os.symlink(os.readlink(source), target)
            elif os.path.isdir(source):
                shutil.copytree(source, target, symlinks=True)
            elif os.path.isfile(source):
                shutil.copy2(source, target)
        except OSError:
            continue  # an odd file is left out, never a reason to fail
    passwd, group = ETC_PASSWD, ETC_GROUP
    if isinstance(learner_uid, int):
        passwd += f"learner:x:{learner_uid}:{learner_uid}:cnlab learner:/home/learner:/bin/bash\n"
        group += f"learner:x:{learner_uid}:\n"
    for name, text in (("passwd", passwd), ("group", group), ("hosts", ETC_HOSTS)):
        with open(f"{etc}/{name}", "w", encoding="ascii") as fh:
            fh.write(text)
    os.symlink("../proc/self/mounts", f"{etc}/mtab")
    mount(None, etc, None, _RO_BIND | MS_NOEXEC)


def enter_root(new: str) -> None:
    os.chdir(new)
    if _libc.syscall(155 if platform.machine() == "x86_64" else 41, b".", b".old") != 0:
        _fail("pivot_root")
    os.chdir("/")
    # The old tree holds a copy of the world's /run/netns, which is shared: make
    # it private first, or detaching it would unmount the world's namespaces.
    mount(None, "/.old/run/netns", None, MS_REC | MS_PRIVATE)
    umount("/.old")
    os.rmdir("/.old")
    mount(None, "/", None, _RO_BIND)


def drop_capabilities() -> None:
    with open("/proc/sys/kernel/cap_last_cap", encoding="ascii") as fh:
        last = int(fh.read())
    for cap in range(last + 1):
        if cap not in KEEP_CAPS:
            prctl(PR_CAPBSET_DROP, cap)
    prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL)
    keep = sum(1 << cap for cap in KEEP_CAPS)
    header = struct.pack("Ii", 0x20080522, 0)  # _LINUX_CAPABILITY_VERSION_3, this process
    data = struct.pack("6I", keep & 0xFFFFFFFF, keep & 0xFFFFFFFF, 0, keep >> 32, keep >> 32, 0)
    hbuf = ctypes.create_string_buffer(header)
    dbuf = ctypes.create_string_buffer(data)
    if _libc.syscall(126 if platform.machine() == "x86_64" else 91, hbuf, dbuf) != 0:
        _fail("capset")


def seccomp_program(machine: str) -> bytes:
    """A classic-BPF seccomp filter, assembled by hand (see the module docstring)."""
    table = SYSCALLS[machine]
    ld_abs = 0x20  # BPF_LD | BPF_W | BPF_ABS
    jeq, jset, jge = 0x15, 0x45, 0x35  # BPF_JMP | BPF_K | (JEQ, JSET, JGE)
    ret = 0x06  # BPF_RET | BPF_K
    prog: list[tuple[int, int, int, int]] = []

    def op(code: int, k: int, jt: int = 0, jf: int = 0) -> None:
        prog.append((code, jt, jf, k))

    op(ld_abs, 4)  # arch
    op(jeq, table["audit_arch"], 1, 0)  # type: ignore[arg-type]
    op(ret, SECCOMP_RET_KILL_PROCESS)
    op(ld_abs, 0)  # syscall number
    op(jge, 0x40000000, 0, 1)  # x32 ABI: refuse
    op(ret, SECCOMP_RET_ERRNO | EPERM)
    for errno, numbers in ((ENOSYS, table["enosys"]), (EPERM, table["eperm"])):
        for nr in numbers:  # type: ignore[attr-defined]
            op(jeq, nr, 0, 1)
            op(ret, SECCOMP_RET_ERRNO | errno)
    op(jeq, table["mount"], 1, 0)  # type: ignore[arg-type]
    op(ret, SECCOMP_RET_ALLOW)
    op(ld_abs, 16 + 3 * 8)  # mount's flags (low 32 bits of the 4th argument)
    op(jset, MS_REMOUNT | MS_MOVE, 0, 1)
    op(ret, SECCOMP_RET_ERRNO | EPERM)
    op(jset, MS_BIND | MS_SHARED | MS_SLAVE | MS_PRIVATE | MS_UNBINDABLE | MS_RDONLY, 0, 1)
    op(ret, SECCOMP_RET_ALLOW)
    op(ret, SECCOMP_RET_ERRNO | EPERM)
    return b"".join(struct.pack("HBBI", *ins) for ins in prog)


def install_seccomp() -> None:
    machine = platform.machine()
    if machine not in SYSCALLS:
        raise JailError(f"no seccomp table for {machine}: refusing to run untrusted code")
    code = seccomp_program(machine)
    buf = ctypes.create_string_buffer(code)
    fprog = struct.pack("HxxxxxxQ", len(code) // 8, ctypes.addressof(buf))
    fbuf = ctypes.create_string_buffer(fprog)
    prctl(PR_SET_NO_NEW_PRIVS, 1)
    if _libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.addressof(fbuf), 0, 0) != 0:
        _fail("seccomp")


def main() -> int:
    # Not dumpable: /proc/1/fd (the status pipe) and /proc/1/mem are closed to the
    # submission, which runs as root but without CAP_SYS_PTRACE.
    prctl(PR_SET_DUMPABLE, 0)
    cfg = json.loads(sys.argv[1])
    status_fd = int(cfg["status_fd"])
    os.set_inheritable(status_fd, False)
    try:
        if os.getpid() != 1:
            raise JailError("the jail must be PID 1 of a new PID namespace")
        new = "/tmp"  # this mount namespace's private copy: nothing leaks out
        build_root(new, cfg)
        enter_root(new)
        drop_capabilities()
        install_seccomp()
    except (JailError, OSError) as exc:
        os.write(status_fd, f"setup {exc}\n".encode())
        return 1
    os.write(status_fd, b"ready\n")
    env = cfg["env"]
    os.chdir(str(cfg.get("cwd", "/")))
    child = os.fork()
    if child == 0:
        os.close(status_fd)
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)
        if cfg.get("world_rc"):  # typed: the learner's interactive shell, on the pty
            rcfile = f"{cfg['world_dir']}/bashrc"
            os.execve("/bin/bash", ["bash", "--rcfile", rcfile, "-i"], env)
        os.execve("/bin/bash", ["bash", "-s"], env)
    # Init: let go of the submission's input and output, report bash's status,
    # then reap orphans until nothing is left (the runner kills us after checks).
    devnull = os.open("/dev/null", os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    os.close(devnull)
    reported = False
    while True:
        try:
            pid, status = os.wait()
        except ChildProcessError:
            break
        except InterruptedError:
            continue
        if pid == child and not reported:
            code = os.waitstatus_to_exitcode(status)
            os.write(status_fd, f"exit {code}\n".encode())
            os.close(status_fd)
            reported = True
    return 0


if __name__ == "__main__":
    sys.exit(main())

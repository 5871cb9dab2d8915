#!/usr/bin/python3
"""The security suite: each guarantee of the sandbox tried the way hostile
code would, in Python and in Bash, through a real isol8d (started here on a
private socket, with a canary variable and an API key in its environment),
asserting what the program and the caller observe. Each probe reports what
it saw and the test checks it; a probe that could not look fails.

Never touches an outside address: network checks read interfaces and routes,
and a name lookup is tried only after the probe has seen that no route
exists. Numbers of syscalls are x86_64's.
"""
import json
import os
import platform
import re
import secrets
import socket
import sys
import tempfile
import threading
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
import isol8d  # noqa: E402
from isol8d import docker  # noqa: E402

SOURCE = os.environ["ISOL8_SOURCE_DIR"]
ISOL8D = os.environ["ISOL8D"]
TMP = tempfile.mkdtemp(prefix="isol8-sec.")
PB, ADMIN, HEALTH = isol8d.messages(TMP, SOURCE)
CANARY = "isol8-canary-" + secrets.token_hex(12)
API_KEY = "isol8-key-" + secrets.token_hex(12)
SECRET = "s3cr3t-" + secrets.token_hex(8)

TIMEOUT_MARKER = b"--- EXECUTION TIMED OUT ---"
OOM_MARKER = b"--- OUT OF MEMORY"
TRUNCATED_RE = re.compile(rb"--- OUTPUT TRUNCATED \((\d+) bytes, limit: [^)]+\) ---$")

D = None


def setUpModule():
    global D
    if platform.machine() != "x86_64":
        raise AssertionError("the seccomp probes use x86_64 syscall numbers; this machine is " + platform.machine())
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    D = isol8d.Daemon(ISOL8D, os.path.join(TMP, "d"), PB, ADMIN, HEALTH,
                      flags=["--listen", "127.0.0.1:%d" % port],
                      env={"ISOL8_CANARY": CANARY, "ISOL8_API_KEY": API_KEY})


def tearDownModule():
    if D is not None:
        status = D.stop()
        left = D.containers()
        assert status == 0, "isol8d exited %d; log in %s" % (status, D.log_path)
        assert left == [], "containers left: %s" % left


def probe(tc, runtime, code, **kw):
    """Runs code that must exit 0 and returns its stdout as text."""
    r = D.run(runtime, code, **kw)
    tc.assertEqual(r.exit_code, 0, "probe failed: stdout=%r stderr=%r" % (r.stdout[-2000:], r.stderr[-2000:]))
    return r.stdout.decode()


def status_fields(text):
    return dict(line.split(":\t", 1) for line in text.splitlines() if ":\t" in line)


class Identity(unittest.TestCase):
    def test_python_uid_1000_cannot_become_root(self):
        out = probe(self, "python",
                    "import os, json\n"
                    "ids = [os.getuid(), os.geteuid(), os.getgid(), os.getegid(), sorted(os.getgroups())]\n"
                    "tries = {}\n"
                    "for name, f in [('setuid', lambda: os.setuid(0)), ('setresuid', lambda: os.setresuid(0, 0, 0)),\n"
                    "                ('setgid', lambda: os.setgid(0)), ('setgroups', lambda: os.setgroups([0]))]:\n"
                    "    try:\n"
                    "        f(); tries[name] = 'succeeded'\n"
                    "    except OSError as e:\n"
                    "        tries[name] = e.errno\n"
                    "print(json.dumps([ids, tries, os.getuid()]))\n")
        ids, tries, after = json.loads(out)
        self.assertEqual(ids[:4], [1000, 1000, 1000, 1000])
        self.assertNotIn(0, ids[4])
        self.assertEqual(tries, {"setuid": 1, "setresuid": 1, "setgid": 1, "setgroups": 1})
        self.assertEqual(after, 1000)

    def test_bash_uid_1000(self):
        out = probe(self, "bash", "id -u; id -g; id -G; grep -E '^(Uid|Gid):' /proc/self/status")
        lines = out.splitlines()
        self.assertEqual(lines[:3], ["1000", "1000", "1000"])
        self.assertEqual(re.split(r"\s+", lines[3].strip()), ["Uid:", "1000", "1000", "1000", "1000"])
        self.assertEqual(re.split(r"\s+", lines[4].strip()), ["Gid:", "1000", "1000", "1000", "1000"])


class Privileges(unittest.TestCase):
    def check(self, text):
        f = status_fields(text)
        for cap in ("CapEff", "CapPrm", "CapInh", "CapAmb"):
            self.assertEqual(int(f[cap], 16), 0, "%s is %s" % (cap, f[cap]))
        self.assertEqual(f["NoNewPrivs"].strip(), "1")
        self.assertEqual(f["Seccomp"].strip(), "2", "no seccomp filter on the program")

    def test_python_capabilities_and_no_new_privs(self):
        self.check(probe(self, "python", "print(open('/proc/self/status').read())"))

    def test_bash_capabilities_and_no_new_privs(self):
        self.check(probe(self, "bash", "cat /proc/self/status"))

    def test_no_new_privs_in_children(self):
        self.check(probe(self, "bash", "bash -c 'cat /proc/self/status' | cat"))


class Pid1(unittest.TestCase):
    def test_python_cannot_kill_or_trace_pid1(self):
        r = D.run("python",
                  "import os, signal, ctypes, json\n"
                  "libc = ctypes.CDLL(None, use_errno=True)\n"
                  "seen = {}\n"
                  "for sig in (signal.SIGKILL, signal.SIGTERM, signal.SIGSTOP, 0):\n"
                  "    try:\n"
                  "        os.kill(1, sig); seen['kill%d' % sig] = 0\n"
                  "    except OSError as e:\n"
                  "        seen['kill%d' % sig] = e.errno\n"
                  "for name, req in (('attach', 16), ('seize', 0x4206)):\n"
                  "    r = libc.ptrace(req, 1, None, None)\n"
                  "    seen[name] = 0 if r == 0 else ctypes.get_errno()\n"
                  "for path in ('/proc/1/mem', '/proc/1/root', '/proc/1/fd', '/proc/1/cwd'):\n"
                  "    try:\n"
                  "        open(path, 'rb').read(1) if path.endswith('mem') else os.listdir(path); seen[path] = 0\n"
                  "    except OSError as e:\n"
                  "        seen[path] = e.errno\n"
                  "print(json.dumps(seen))\n")
        self.assertEqual(r.exit_code, 0, r.stderr)
        seen = json.loads(r.stdout)
        for k in ("kill9", "kill15", "kill19", "kill0", "attach", "seize"):
            self.assertEqual(seen[k], 1, "%s: %s" % (k, seen))
        for k in ("/proc/1/mem", "/proc/1/root", "/proc/1/fd", "/proc/1/cwd"):
            self.assertIn(seen[k], (1, 13), "%s: %s" % (k, seen))
        self.agent_still_serves(r.container_id)

    def test_bash_cannot_kill_pid1(self):
        r = D.run("bash", "kill -9 1; echo \"kill=$?\"; kill -STOP 1; echo \"stop=$?\"")
        self.assertEqual(r.exit_code, 0, r.stderr)
        self.assertEqual(r.stdout, b"kill=1\nstop=1")
        self.assertIn(b"Operation not permitted", r.stderr)
        self.agent_still_serves(r.container_id)

    def agent_still_serves(self, container):
        D.wait_clean(1)
        top = docker("top", container, "-eo", "pid,comm")
        self.assertIn("agent", top, "the sandbox's agent is gone:\n" + top)


class Sockets(unittest.TestCase):
    def test_python_cannot_reach_agent_or_docker_sockets(self):
        out = probe(self, "python",
                    "import socket, os, json, errno\n"
                    "seen = {}\n"
                    "def connect(path):\n"
                    "    s = socket.socket(socket.AF_UNIX)\n"
                    "    try:\n"
                    "        s.connect(path); return 'connected'\n"
                    "    except OSError as e:\n"
                    "        return errno.errorcode[e.errno]\n"
                    "    finally:\n"
                    "        s.close()\n"
                    "for p in ('/.isol8/run/agent.sock', '/var/run/docker.sock', '/run/docker.sock',\n"
                    "          '/run/containerd/containerd.sock', '/var/run/docker/containerd/containerd.sock'):\n"
                    "    seen[p] = connect(p)\n"
                    "try:\n"
                    "    seen['listdir'] = os.listdir('/.isol8/run')\n"
                    "except OSError as e:\n"
                    "    seen['listdir'] = errno.errorcode[e.errno]\n"
                    "listed = [l.split()[-1] for l in open('/proc/net/unix').read().splitlines()[1:] if len(l.split()) > 7]\n"
                    "seen['listed'] = {p: connect(p.replace('@', '\\0', 1) if p.startswith('@') else p) for p in listed}\n"
                    "for port in (2375, 2376):\n"
                    "    s = socket.socket()\n"
                    "    try:\n"
                    "        s.connect(('127.0.0.1', port)); seen[port] = 'connected'\n"
                    "    except OSError as e:\n"
                    "        seen[port] = errno.errorcode[e.errno]\n"
                    "seen['DOCKER_HOST'] = os.environ.get('DOCKER_HOST')\n"
                    "print(json.dumps(seen))\n")
        seen = json.loads(out)
        self.assertEqual(seen["/.isol8/run/agent.sock"], "EACCES", seen)
        self.assertEqual(seen["listdir"], "EACCES", seen)
        for p in ("/var/run/docker.sock", "/run/docker.sock", "/run/containerd/containerd.sock",
                  "/var/run/docker/containerd/containerd.sock"):
            self.assertEqual(seen[p], "ENOENT", seen)
        for p, what in seen["listed"].items():
            self.assertNotEqual(what, "connected", "a listening socket the sandbox can reach: %s" % p)
        self.assertEqual(seen["2375"], "ECONNREFUSED")
        self.assertEqual(seen["2376"], "ECONNREFUSED")
        self.assertIsNone(seen["DOCKER_HOST"])

    def test_bash_cannot_reach_agent_or_docker_sockets(self):
        r = D.run("bash", "ls /.isol8/run; echo \"ls=$?\"\n"
                          "for s in /var/run/docker.sock /run/docker.sock; do test -e $s; echo \"$s=$?\"; done\n"
                          "(echo > /dev/tcp/127.0.0.1/2375) 2>/dev/null; echo \"tcp=$?\"")
        self.assertEqual(r.exit_code, 0, r.stderr)
        self.assertEqual(r.stdout, b"ls=2\n/var/run/docker.sock=1\n/run/docker.sock=1\ntcp=1")
        self.assertIn(b"Permission denied", r.stderr)


class HostFiles(unittest.TestCase):
    def test_python_sees_no_host_files(self):
        out = probe(self, "python",
                    "import os, json\n"
                    "seen = {}\n"
                    "for p in ('/work', '/var/run/docker.sock', %r, %r, '/var/lib/docker', '/root/.docker'):\n"
                    "    seen[p] = os.path.exists(p)\n"
                    "try:\n"
                    "    seen['/root'] = os.listdir('/root')\n"
                    "except OSError as e:\n"
                    "    seen['/root'] = e.errno\n"
                    "binds = []\n"
                    "for line in open('/proc/self/mountinfo'):\n"
                    "    f = line.split()\n"
                    "    fstype = f[f.index('-') + 1]\n"
                    "    if f[3] != '/' and fstype not in ('proc', 'sysfs', 'tmpfs', 'devpts', 'mqueue', 'cgroup', 'cgroup2'):\n"
                    "        binds.append(f[4])\n"
                    "seen['binds'] = sorted(set(binds))\n"
                    "print(json.dumps(seen))\n" % (TMP, os.path.dirname(D.socket)))
        seen = json.loads(out)
        for p in ("/work", "/var/run/docker.sock", TMP, os.path.dirname(D.socket), "/var/lib/docker", "/root/.docker"):
            self.assertFalse(seen[p], "%s is visible in the sandbox" % p)
        self.assertIn(seen["/root"], (13, []), "the sandbox can list /root: %s" % seen["/root"])
        self.assertLessEqual(set(seen["binds"]),
                             {"/.isol8/agent", "/.isol8/run", "/etc/resolv.conf", "/etc/hostname", "/etc/hosts"},
                             "host paths mounted into the sandbox: %s" % seen["binds"])

    def test_bash_sees_no_host_files(self):
        r = D.run("bash", "for p in /work /var/run/docker.sock %s; do test -e $p; echo $?; done; "
                          "ls -A /root 2>/dev/null | wc -l" % TMP)
        self.assertEqual(r.exit_code, 0, r.stderr)
        self.assertEqual(r.stdout, b"1\n1\n1\n0")

    def test_proc1_environ_unreadable(self):
        r = D.run("python", "import errno\ntry:\n    print(open('/proc/1/environ', 'rb').read())\n"
                            "except OSError as e:\n    print(errno.errorcode[e.errno])\n")
        self.assertEqual((r.exit_code, r.stdout), (0, b"EACCES"), r.stderr)
        r = D.run("bash", "cat /proc/1/environ; echo \"rc=$?\"")
        self.assertEqual((r.exit_code, r.stdout), (0, b"rc=1"), r.stderr)
        self.assertIn(b"Permission denied", r.stderr)


class Filesystem(unittest.TestCase):
    def test_python_root_is_read_only(self):
        out = probe(self, "python",
                    "import os, errno, json\n"
                    "seen = {}\n"
                    "for p in ('/etc/x', '/usr/bin/x', '/x', '/.isol8/x', '/home/x', '/var/x'):\n"
                    "    try:\n"
                    "        open(p, 'w').close(); seen[p] = 'written'\n"
                    "    except OSError as e:\n"
                    "        seen[p] = errno.errorcode[e.errno]\n"
                    "try:\n"
                    "    os.chmod('/usr/bin/env', 0o777); seen['chmod'] = 'done'\n"
                    "except OSError as e:\n"
                    "    seen['chmod'] = errno.errorcode[e.errno]\n"
                    "print(json.dumps(seen))\n")
        seen = json.loads(out)
        for p in ("/etc/x", "/usr/bin/x", "/x", "/home/x", "/var/x"):
            self.assertEqual(seen[p], "EROFS", seen)
        self.assertIn(seen["/.isol8/x"], ("EROFS", "EACCES"), seen)
        self.assertIn(seen["chmod"], ("EROFS", "EPERM"), seen)

    def test_bash_root_is_read_only(self):
        r = D.run("bash", "touch /etc/x; echo $?; echo x > /usr/x; echo $?")
        self.assertEqual((r.exit_code, r.stdout), (0, b"1\n1"), r.stderr)
        self.assertEqual(r.stderr.count(b"Read-only file system"), 2, r.stderr)

    def test_bash_tmp_noexec_sandbox_exec(self):
        r = D.run("bash", "for d in /tmp /sandbox /dev/shm; do printf '#!/bin/bash\\necho ran\\n' > $d/x.sh; "
                          "chmod +x $d/x.sh; $d/x.sh; echo \"$d=$?\"; done; "
                          "cp /bin/true /tmp/t; /tmp/t; echo \"bin=$?\"")
        self.assertEqual(r.exit_code, 0, r.stderr)
        self.assertEqual(r.stdout, b"/tmp=126\nran\n/sandbox=0\n/dev/shm=126\nbin=126")

    def test_python_tmp_noexec(self):
        out = probe(self, "python",
                    "import os, subprocess, errno, json\n"
                    "seen = {}\n"
                    "for d in ('/tmp', '/sandbox'):\n"
                    "    open(d + '/x.sh', 'w').write('#!/bin/sh\\necho ran\\n'); os.chmod(d + '/x.sh', 0o755)\n"
                    "    try:\n"
                    "        seen[d] = subprocess.run([d + '/x.sh'], capture_output=True).stdout.decode()\n"
                    "    except OSError as e:\n"
                    "        seen[d] = errno.errorcode[e.errno]\n"
                    "print(json.dumps(seen))\n")
        self.assertEqual(json.loads(out), {"/tmp": "EACCES", "/sandbox": "ran\n"})

    def sizes(self, runtime, **options):
        if runtime == "python":
            out = probe(self, "python", "import os\nfor d in ('/sandbox', '/tmp'):\n"
                                        "    s = os.statvfs(d); print(s.f_blocks * s.f_frsize)\n", **options)
        else:
            out = probe(self, "bash", "df -B1 --output=size /sandbox /tmp | tail -n 2", **options)
        return [int(x) for x in out.split()]

    def test_tmpfs_sizes_as_set(self):
        self.assertEqual(self.sizes("python"), [512 << 20, 256 << 20])
        self.assertEqual(self.sizes("bash"), [512 << 20, 256 << 20])
        self.assertEqual(self.sizes("python", sandbox_size="48m", tmp_size="24m"), [48 << 20, 24 << 20])
        self.assertEqual(self.sizes("bash", sandbox_size="48m", tmp_size="24m"), [48 << 20, 24 << 20])


class Network(unittest.TestCase):
    # the lookup runs only once no interface but lo and no route were seen
    PY = ("import os, socket, errno, json\n"
          "seen = {'ifaces': sorted(os.listdir('/sys/class/net'))}\n"
          "seen['routes'] = open('/proc/net/route').read().splitlines()[1:]\n"
          "seen['routes6'] = [l for l in open('/proc/net/ipv6_route').read().splitlines() if not l.endswith(' lo')]\n"
          "seen['addrs'] = sorted({l.split()[-1] for l in open('/proc/net/if_inet6').read().splitlines()})\n"
          "if seen['ifaces'] == ['lo'] and not seen['routes'] and not seen['routes6']:\n"
          "    try:\n"
          "        seen['dns'] = socket.getaddrinfo('example.com', 80)\n"
          "    except OSError as e:\n"
          "        seen['dns'] = 'failed: %s' % e\n"
          "for name, args in (('raw', (socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)),\n"
          "                   ('raw6', (socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)),\n"
          "                   ('packet', (socket.AF_PACKET, socket.SOCK_RAW, 0))):\n"
          "    try:\n"
          "        socket.socket(*args).close(); seen[name] = 'opened'\n"
          "    except OSError as e:\n"
          "        seen[name] = errno.errorcode[e.errno]\n"
          "print(json.dumps(seen))\n")

    def test_python_no_network(self):
        seen = json.loads(probe(self, "python", self.PY))
        self.assertEqual(seen["ifaces"], ["lo"])
        self.assertEqual(seen["routes"], [])
        self.assertEqual(seen["routes6"], [])
        self.assertLessEqual(set(seen["addrs"]), {"lo"})
        self.assertTrue(str(seen.get("dns", "")).startswith("failed"), "name resolution: %s" % seen.get("dns"))
        self.assertEqual(seen["raw"], "EPERM")
        self.assertEqual(seen["raw6"], "EPERM")
        self.assertIn(seen["packet"], ("EPERM", "EAFNOSUPPORT"))

    def test_bash_no_network(self):
        out = probe(self, "bash", "ls /sys/class/net; echo ---; tail -n +2 /proc/net/route; echo ---\n"
                                  "if [ \"$(ls /sys/class/net)\" = lo ] && [ -z \"$(tail -n +2 /proc/net/route)\" ]; then\n"
                                  "  getent hosts example.com; echo \"dns=$?\"; fi")
        self.assertEqual(out, "lo\n---\n---\ndns=2")


SECCOMP_PROBE = r"""
import ctypes, os, json
libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
class iovec(ctypes.Structure):
    _fields_ = [("base", ctypes.c_void_p), ("len", ctypes.c_size_t)]
a, b = ctypes.create_string_buffer(8), ctypes.create_string_buffer(8)
loc = iovec(ctypes.cast(a, ctypes.c_void_p), 8)
rem = iovec(ctypes.cast(b, ctypes.c_void_p), 8)
params = ctypes.create_string_buffer(120)
nsfd = os.open('/proc/self/ns/uts', os.O_RDONLY)
P = ctypes.c_char_p
# args chosen to succeed (or fail past seccomp with another errno) when no
# filter stands in the way
calls = {
    "mount": lambda: (165, P(b"none"), P(b"/tmp"), P(b"tmpfs"), 0, 0),
    "umount2": lambda: (166, P(b"/tmp"), 0),
    "ptrace": lambda: (101, 0, 0, 0, 0),                      # PTRACE_TRACEME
    "kexec_load": lambda: (246, 0, 0, 0, 0),
    "kexec_file_load": lambda: (320, -1, -1, 0, 0, 0),
    "keyctl": lambda: (250, 0, -3, 1),                        # KEYCTL_GET_KEYRING_ID session
    "add_key": lambda: (248, P(b"user"), P(b"isol8"), P(b"x"), 1, -2),
    "request_key": lambda: (249, P(b"user"), P(b"isol8-none"), 0, 0),
    "bpf": lambda: (321, 0, 0, 0),
    "perf_event_open": lambda: (298, 0, 0, -1, -1, 0),
    "userfaultfd": lambda: (323, 1),                          # UFFD_USER_MODE_ONLY
    "unshare": lambda: (272, 0x10000000),                     # CLONE_NEWUSER
    "setns": lambda: (308, nsfd, 0),
    "reboot": lambda: (169, 0xfee1dead, 672274793, 0),
    "swapon": lambda: (167, P(b"/sandbox/none"), 0),
    "swapoff": lambda: (168, P(b"/sandbox/none")),
    "init_module": lambda: (175, 0, 0, P(b"")),
    "finit_module": lambda: (313, -1, P(b""), 0),
    "delete_module": lambda: (176, P(b"isol8"), 0),
    "open_by_handle_at": lambda: (304, -1, 0, 0),
    "process_vm_readv": lambda: (310, os.getpid(), ctypes.byref(loc), 1, ctypes.byref(rem), 1, 0),
    "process_vm_writev": lambda: (311, os.getpid(), ctypes.byref(loc), 1, ctypes.byref(rem), 1, 0),
    "io_uring_setup": lambda: (425, 1, params),
    "kcmp": lambda: (312, os.getpid(), os.getpid(), 0, 0, 0),  # KCMP_FILE
    "pidfd_getfd": lambda: (438, libc.syscall(ctypes.c_long(434), ctypes.c_long(os.getpid()), ctypes.c_long(0)), 0, 0),
}
seen = {}
for name, args in calls.items():
    pid = os.fork()
    if pid == 0:  # each call in a child of its own: none changes the next
        # ints as longs: syscall() is variadic, and a bare int leaves the
        # upper half of its register (or stack slot) undefined
        r = libc.syscall(*[ctypes.c_long(a) if isinstance(a, int) else a for a in args()])
        os._exit(0 if r >= 0 else min(ctypes.get_errno(), 255))
    seen[name] = os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])
print(json.dumps(seen))
"""

SOCKET_PROBE = r"""
import socket, json, errno
seen = {}
for name in ("AF_VSOCK", "AF_PACKET", "AF_NETLINK", "AF_UNIX", "AF_INET", "AF_INET6", "AF_ALG", "AF_BLUETOOTH", "AF_CAN", "AF_KEY", "AF_APPLETALK"):
    kind = socket.SOCK_DGRAM if name in ("AF_NETLINK", "AF_UNIX", "AF_INET", "AF_INET6", "AF_PACKET") else socket.SOCK_STREAM
    if name == "AF_ALG": kind = socket.SOCK_SEQPACKET
    if name == "AF_KEY": kind = socket.SOCK_RAW
    try:
        socket.socket(getattr(socket, name), kind).close(); seen[name] = "opened"
    except OSError as e:
        seen[name] = errno.errorcode.get(e.errno, e.errno)
for name in ("AF_NETLINK", "AF_UNIX"):
    try:
        [s.close() for s in socket.socketpair(getattr(socket, name), socket.SOCK_DGRAM)]; seen["pair_" + name] = "opened"
    except OSError as e:
        seen["pair_" + name] = errno.errorcode.get(e.errno, e.errno)
print(json.dumps(seen))
"""


class Seccomp(unittest.TestCase):
    def test_python_blocked_calls_get_eperm(self):
        seen = json.loads(probe(self, "python", SECCOMP_PROBE))
        not_eperm = {k: v for k, v in seen.items() if v != 1}
        self.assertEqual(not_eperm, {}, "calls not refused with EPERM (errno shown)")

    def test_probe_sees_the_filter(self):
        """The same probe without the filter: calls that need no privilege succeed, so
        the EPERM above is the profile's."""
        seen = json.loads(probe(self, "python", SECCOMP_PROBE, seccomp="unconfined"))
        for name in ("keyctl", "add_key", "kcmp", "process_vm_readv", "process_vm_writev", "pidfd_getfd"):
            self.assertEqual(seen[name], 0, "%s without the filter: errno %s" % (name, seen[name]))
        socks = json.loads(probe(self, "python", SOCKET_PROBE, seccomp="unconfined"))
        self.assertEqual(socks["AF_NETLINK"], "opened")

    def test_bash_unshare_refused(self):
        r = D.run("bash", "unshare -U true; echo \"unshare=$?\"; unshare -r -n true; echo \"root=$?\"")
        self.assertEqual((r.exit_code, r.stdout), (0, b"unshare=1\nroot=1"), r.stderr)
        self.assertIn(b"Operation not permitted", r.stderr)

    def test_socket_families(self):
        seen = json.loads(probe(self, "python", SOCKET_PROBE))
        for name in ("AF_VSOCK", "AF_PACKET", "AF_NETLINK", "AF_ALG", "AF_BLUETOOTH", "AF_CAN", "AF_KEY",
                     "AF_APPLETALK", "pair_AF_NETLINK"):
            self.assertIn(seen[name], ("EPERM", "EAFNOSUPPORT"), "%s: %s" % (name, seen[name]))
        for name in ("AF_UNIX", "AF_INET", "AF_INET6", "pair_AF_UNIX"):
            self.assertEqual(seen[name], "opened", name)


class Runtimes(unittest.TestCase):
    """Every runtime starts under the strict profile and runs threads."""
    PROGRAMS = {
        "python": ("import asyncio, multiprocessing as mp, threading\n"
                   "def sq(x):\n    return x * x\n"
                   "async def main():\n    await asyncio.sleep(0.01)\n    return 'async'\n"
                   "if __name__ == '__main__':\n"
                   "    with mp.Pool(2) as p:\n        print(p.map(sq, [1, 2, 3]))\n"
                   "    print(asyncio.run(main()))\n"
                   "    t = threading.Thread(target=print, args=('thread',)); t.start(); t.join()\n",
                   "[1, 4, 9]\nasync\nthread"),
        "node": ("import { Worker } from 'node:worker_threads';\n"
                 "const w = new Worker('require(\"node:worker_threads\").parentPort.postMessage(6 * 7)', {eval: true});\n"
                 "w.on('message', (m) => { console.log('worker', m); });\n"
                 "console.log((await import('node:fs/promises')).constants ? 'hello' : '');\n",
                 "hello\nworker 42"),
        "bun": ("const w = new Worker(URL.createObjectURL(new Blob(['postMessage(42)'])));\n"
                "w.onmessage = (e) => { console.log('worker', e.data); w.terminate(); };\n"
                "console.log(await Bun.file('/etc/hostname').exists() ? 'hello' : '');\n",
                "hello\nworker 42"),
        "deno": ("const w = new Worker(URL.createObjectURL(new Blob(['postMessage(42)'], {type: 'text/javascript'})),"
                 " {type: 'module'});\n"
                 "w.onmessage = (e) => { console.log('worker', e.data); w.terminate(); };\n"
                 "console.log((await Deno.stat('/etc/hostname')).isFile ? 'hello' : '');\n",
                 "hello\nworker 42"),
        "bash": ("echo hello; (echo sub) | cat; sleep 0.1 & wait; echo done", "hello\nsub\ndone"),
    }

    def test_runtimes_work_under_strict(self):
        for runtime, (code, want) in self.PROGRAMS.items():
            with self.subTest(runtime=runtime):
                r = D.run(runtime, code, timeout_ms=20000)
                self.assertEqual(r.exit_code, 0, r.stderr.decode()[-2000:])
                self.assertEqual(sorted(r.stdout.decode().splitlines()), sorted(want.splitlines()))


def uid1000_processes(container):
    """The container's processes run by uid 1000 (host view): (pid, ppid, args)."""
    out = docker("top", container, "-eo", "uid,pid,ppid,args")
    rows = [l.split(None, 3) for l in out.splitlines()[1:]]
    return [(int(r[1]), int(r[2]), r[3] if len(r) > 3 else "") for r in rows if r and r[0] == "1000"]


LAUNCHERS = ("python3 -c def _isol8_launch", "node -e")


def survivors(container):
    """uid-1000 processes of a pooled container other than the one pre-started
    interpreter a clean sandbox holds (a launcher whose parent is not uid 1000;
    anything forked from it would be)."""
    procs = uid1000_processes(container)
    pids = {p[0] for p in procs}
    launchers = [p for p in procs if p[1] not in pids and p[2].startswith(LAUNCHERS)]
    return [p for p in procs if p not in launchers[:1]]


# What the next run sees of uid 1000 besides itself and its own children.
Reuse_LEFT = {
    "python": isol8d.OTHER_UID1000_PY,
    "bash": "ps -eo uid=,ppid=,pid=,comm= | awk -v me=$$ '$1 == 1000 && $3 != me && $2 != me {print} END {print \"[]\"}'",
}


class ForkBomb(unittest.TestCase):
    def test_pids_limit_stops_fork(self):
        out = probe(self, "python",
                    "import os, signal, time\n"
                    "kids, err = [], None\n"
                    "while len(kids) < 1000:\n"
                    "    try:\n"
                    "        pid = os.fork()\n"
                    "    except OSError as e:\n"
                    "        err = e.errno; break\n"
                    "    if pid == 0:\n"
                    "        time.sleep(60); os._exit(0)\n"
                    "    kids.append(pid)\n"
                    "for k in kids:\n"
                    "    os.kill(k, signal.SIGKILL); os.waitpid(k, 0)\n"
                    "print(len(kids), err)\n", pids_limit=32)
        n, err = out.split()
        self.assertEqual(err, "11", "fork did not fail with EAGAIN")
        self.assertLess(int(n), 32)
        self.assertGreater(int(n), 16)

    def bomb(self, runtime, code):
        side = {}

        def alongside():  # the daemon serves others during the bomb
            time.sleep(1)
            t = time.time()
            r = D.run("python", "print('alongside')")
            side["r"], side["t"] = r, time.time() - t

        t = threading.Thread(target=alongside)
        t.start()
        start = time.time()
        r = D.run(runtime, code, timeout_ms=4000, deadline=40)
        took = time.time() - start
        t.join()
        self.assertLess(took, 15, "the bomb's call took %.1fs" % took)
        self.assertNotEqual(r.exit_code, 0)
        self.assertEqual((side["r"].exit_code, side["r"].stdout), (0, b"alongside"))
        self.assertLess(side["t"], 5, "a run beside the bomb took %.1fs" % side["t"])
        self.assertEqual(D.health(HEALTH.HealthCheckRequest(), timeout=5).status, 1)
        # no bomb process survives: the sandbox is reset (or replaced) with nothing left
        deadline, left = time.time() + 15, None
        while time.time() < deadline:
            if r.container_id not in D.containers():
                left = []
                break
            left = survivors(r.container_id)
            if not left:
                break
            time.sleep(0.2)
        self.assertEqual(left, [], "bomb processes left in %s" % r.container_id[:12])
        D.wait_clean(1)
        after = D.run(runtime, Reuse_LEFT[runtime])
        self.assertEqual(after.exit_code, 0, after.stderr)
        self.assertEqual(after.stdout, b"[]", "uid-1000 processes the next run sees (in %s, the bomb's: %s)"
                         % (after.container_id[:12], after.container_id == r.container_id))
        return r

    def test_bash_fork_bomb(self):
        r = self.bomb("bash", ":(){ :|:& };:")
        self.assertIn(b"Resource temporarily unavailable", r.stderr)

    def test_python_fork_bomb(self):
        self.bomb("python", "import os, time\n"
                            "while True:\n"
                            "    try:\n"
                            "        os.fork()\n"
                            "    except OSError:\n"
                            "        time.sleep(0.01)\n")


class Memory(unittest.TestCase):
    def check_oom(self, runtime, code):
        start = time.time()
        r = D.run(runtime, code, memory_limit="128m", timeout_ms=30000)
        took = time.time() - start
        self.assertTrue(r.oom_killed, "oom_killed is false: exit %d stderr %r" % (r.exit_code, r.stderr[-500:]))
        self.assertEqual(r.exit_code, 137)
        self.assertFalse(r.timed_out)
        self.assertNotIn(TIMEOUT_MARKER, r.stderr)
        self.assertIn(OOM_MARKER, r.stderr)
        self.assertLess(took, 8, "the OOM kill took %.1fs" % took)

    def test_python_memory_bomb(self):
        self.check_oom("python", "x = []\nwhile True:\n    x.append(b'x' * (8 << 20))\n")

    def test_bash_memory_bomb(self):
        self.check_oom("bash", "a=xxxxxxxx; while :; do a=$a$a; done")


class Disk(unittest.TestCase):
    FILL = ("import os, errno\n"
            "for d in ('/sandbox', '/tmp'):\n"
            "    n, err = 0, None\n"
            "    with open(d + '/fill', 'wb', buffering=0) as f:\n"
            "        try:\n"
            "            while n < (1 << 30):\n"
            "                n += f.write(b'x' * (1 << 20))\n"
            "        except OSError as e:\n"
            "            err = errno.errorcode[e.errno]\n"
            "    print(d, err, os.stat(d + '/fill').st_size)\n")

    def test_python_disk_fill_enospc(self):
        r = D.run("python", self.FILL, sandbox_size="32m", tmp_size="16m", persist=True)
        try:
            self.assertEqual(r.exit_code, 0, r.stderr)
            lines = [l.split() for l in r.stdout.decode().splitlines()]
            self.assertEqual([l[:2] for l in lines], [["/sandbox", "ENOSPC"], ["/tmp", "ENOSPC"]])
            self.assertGreater(int(lines[0][2]), 30 << 20)
            self.assertLessEqual(int(lines[0][2]), 32 << 20)
            self.assertGreater(int(lines[1][2]), 14 << 20)
            self.assertLessEqual(int(lines[1][2]), 16 << 20)
            # nothing outside the sandbox: the container's own layer got nothing
            size = json.loads(docker("inspect", "--size", r.container_id))[0].get("SizeRw", 0)
            self.assertLess(size, 1 << 20, "the container's writable layer grew to %d bytes" % size)
        finally:
            docker("rm", "-f", r.container_id)

    def test_bash_disk_fill_enospc(self):
        r = D.run("bash", "dd if=/dev/zero of=/sandbox/f bs=1M count=64 2>/dev/null; echo \"dd=$?\"; "
                          "head -c 64M /dev/zero > /sandbox/g; echo \"head=$?\"; "
                          "du -sb /sandbox | cut -f1", sandbox_size="32m")
        self.assertEqual(r.exit_code, 0, r.stderr)
        lines = r.stdout.decode().split()
        self.assertEqual(lines[:2], ["dd=1", "head=1"])
        self.assertIn(b"No space left on device", r.stderr)
        self.assertLessEqual(int(lines[2]), 32 << 20)

    def test_fill_with_defaults_is_oom_killed(self):
        """/sandbox (512m) is as big as the memory (512m) and its pages count
        against it: the OOM killer comes first, and the result says so."""
        r = D.run("python", "f = open('/sandbox/fill', 'wb', buffering=0)\n"
                            "while True:\n    f.write(b'x' * (1 << 20))\n", timeout_ms=30000)
        self.assertTrue(r.oom_killed, "exit %d stderr %r" % (r.exit_code, r.stderr[-500:]))
        self.assertEqual(r.exit_code, 137)
        self.assertIn(OOM_MARKER, r.stderr)


class Output(unittest.TestCase):
    def check_truncated(self, stdout, truncated, limit=1 << 20):
        self.assertTrue(truncated)
        m = TRUNCATED_RE.search(stdout)
        self.assertIsNotNone(m, "no truncation marker at the end: %r" % stdout[-200:])
        self.assertGreater(int(m.group(1)), limit)
        self.assertLessEqual(len(stdout), limit + 200)

    def test_output_flood_is_capped_and_daemon_memory_bounded(self):
        before = isol8d.vm_rss_kb(D.proc.pid)
        r = D.run("python", "import sys\nwhile True:\n    sys.stdout.write('x' * 65536)\n", timeout_ms=3000)
        self.check_truncated(r.stdout, r.truncated)
        out, err, errors, res = D.stream("bash", "yes flood", timeout_ms=3000)
        self.assertIsNotNone(res)
        self.assertTrue(res.truncated)
        self.assertLessEqual(len(out), (1 << 20) + 200, "the stream carried %d bytes" % len(out))
        r = D.run("bash", "cat /dev/zero", timeout_ms=3000)
        self.check_truncated(r.stdout, r.truncated)
        after = isol8d.vm_rss_kb(D.proc.pid)
        self.assertLess(after - before, 24 << 10, "isol8d's RSS grew from %d to %d kB" % (before, after))


class FileDescriptors(unittest.TestCase):
    def test_python_fd_exhaustion(self):
        out = probe(self, "python",
                    "import os, errno, resource\n"
                    "fds, err = [], None\n"
                    "try:\n"
                    "    while len(fds) < 100000:\n"
                    "        fds.append(os.open('/dev/null', os.O_RDONLY))\n"
                    "except OSError as e:\n"
                    "    err = errno.errorcode[e.errno]\n"
                    "for fd in fds:\n"
                    "    os.close(fd)\n"
                    "try:\n"
                    "    resource.setrlimit(resource.RLIMIT_NOFILE, (200000, 200000)); raised = 'yes'\n"
                    "except (ValueError, OSError):\n"
                    "    raised = 'no'\n"
                    "print(len(fds), err, resource.getrlimit(resource.RLIMIT_NOFILE), raised)\n")
        n, err, rest = out.split(" ", 2)
        self.assertEqual(err, "EMFILE")
        self.assertLess(int(n), 4096)
        self.assertGreater(int(n), 4000)
        self.assertEqual(rest.strip(), "(4096, 4096) no")
        self.assertEqual(probe(self, "python", "print('next')"), "next")  # buffered output is trimmed

    def test_bash_fd_exhaustion(self):
        r = D.run("bash", "ulimit -n; ulimit -Hn; ulimit -n 100000 2>/dev/null; echo \"raise=$?\"\n"
                          "n=0; while [ $n -lt 100000 ] && exec {fd}</dev/null 2>/dev/null; do n=$((n+1)); done\n"
                          "echo \"$n\"")
        self.assertEqual(r.exit_code, 0, r.stderr)
        lines = r.stdout.decode().split()
        self.assertEqual(lines[:3], ["4096", "4096", "raise=1"])
        self.assertLess(int(lines[3]), 4096)
        self.assertGreater(int(lines[3]), 4000)


class Timeout(unittest.TestCase):
    HOSTILE_PY = ("import os, signal, time\n"
                  "if os.fork() == 0:\n"
                  "    os.setsid()\n"
                  "    if os.fork() == 0:\n"
                  "        signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
                  "        fd = os.open('/dev/null', os.O_RDWR)\n"
                  "        for i in (0, 1, 2):\n"
                  "            os.dup2(fd, i)\n"
                  "        while True:\n"
                  "            pass\n"
                  "    os._exit(0)\n"
                  "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
                  "%s\n")
    HOSTILE_SH = ("trap '' TERM; (trap '' TERM; setsid bash -c 'trap \"\" TERM; while :; do :; done' "
                  "</dev/null >/dev/null 2>&1 &); %s")

    def hostile(self, runtime, code, timeout_ms, expect_timeout):
        start = time.time()
        r = D.run(runtime, code, timeout_ms=timeout_ms, persist=True)
        took = time.time() - start
        try:
            self.assertLess(took, timeout_ms / 1000 + 5)
            if expect_timeout:
                self.assertTrue(r.timed_out)
                self.assertEqual(r.exit_code, 137)
                self.assertTrue(r.stderr.endswith(TIMEOUT_MARKER), r.stderr[-200:])
            else:
                self.assertEqual(r.exit_code, 0, r.stderr)
                self.assertLess(took, 5, "the run did not end with its main process")
            time.sleep(0.5)
            self.assertEqual(uid1000_processes(r.container_id), [], "processes left after the run")
        finally:
            docker("rm", "-f", r.container_id)

    def test_python_sigterm_ignoring_double_fork_killed_at_timeout(self):
        self.hostile("python", self.HOSTILE_PY % "time.sleep(100)", 2000, True)

    def test_bash_sigterm_ignoring_double_fork_killed_at_timeout(self):
        self.hostile("bash", self.HOSTILE_SH % "sleep 100", 2000, True)

    def test_detached_busy_loop_killed_when_run_ends(self):
        self.hostile("python", self.HOSTILE_PY % "print('main done')", 10000, False)
        self.hostile("bash", self.HOSTILE_SH % "echo main done", 10000, False)

    def test_stream_timeout_event(self):
        out, err, errors, res = D.stream("python", "import time\nprint('start', flush=True)\ntime.sleep(100)\n",
                                         timeout_ms=1500)
        self.assertEqual(out, b"start\n")
        self.assertIn("EXECUTION TIMED OUT", errors)
        self.assertTrue(res.timed_out)
        self.assertEqual(res.exit_code, 137)


class Semantics(unittest.TestCase):
    def test_bash_background_output_delivered(self):
        r = D.run("bash", "(sleep 1; echo late) & echo early")
        self.assertEqual((r.exit_code, r.stdout), (0, b"early\nlate"), r.stderr)

    def test_duration_covers_background_output(self):
        start = time.time()
        r = D.run("bash", "(sleep 1; echo late) & echo early")
        took = time.time() - start
        self.assertEqual(r.stdout, b"early\nlate")
        self.assertGreaterEqual(took, 0.9)
        self.assertGreaterEqual(r.duration_ms, 900, "duration_ms %d for a run that took %.2fs" % (r.duration_ms, took))

    def test_python_background_output_delivered(self):
        r = D.run("python", "import subprocess\nsubprocess.Popen(['sh', '-c', 'sleep 1; echo late'])\n"
                            "print('early', flush=True)\n")
        self.assertEqual((r.exit_code, r.stdout), (0, b"early\nlate"), r.stderr)

    def test_stdin_at_eof_when_none_given(self):
        r = D.run("python", "import sys\nprint(repr(sys.stdin.read()))\n", timeout_ms=10000)
        self.assertEqual((r.exit_code, r.stdout, r.timed_out), (0, b"''", False), r.stderr)
        self.assertLess(r.duration_ms, 3000)
        r = D.run("bash", "cat; echo \"eof=$?\"", timeout_ms=10000)
        self.assertEqual((r.exit_code, r.stdout, r.timed_out), (0, b"eof=0", False), r.stderr)
        self.assertLess(r.duration_ms, 3000)


class Secrets(unittest.TestCase):
    PY = ("import os, sys, time\n"
          "s = os.environ['TOKEN']\n"
          "print(s, flush=True)\n"
          "print('err', s, file=sys.stderr, flush=True)\n"
          "os.write(1, s[:5].encode()); time.sleep(0.3); os.write(1, (s[5:] + '\\n').encode())\n"
          "os.write(2, s[:9].encode()); time.sleep(0.3); os.write(2, (s[9:] + '\\n').encode())\n")
    SH = ("echo \"$TOKEN\"; echo \"err $TOKEN\" >&2; printf %s \"${TOKEN:0:5}\"; sleep 0.3; echo \"${TOKEN:5}\"; "
          "printf %s \"${TOKEN:0:9}\" >&2; sleep 0.3; echo \"${TOKEN:9}\" >&2")

    def check(self, out, err):
        self.assertNotIn(SECRET.encode(), out + err)
        for part in (SECRET[:5], SECRET[5:], SECRET[:9], SECRET[9:]):
            self.assertNotIn(part.encode(), out + err, "a piece of the secret came through: %r %r" % (out, err))
        self.assertEqual(out.strip(), b"***\n***")
        self.assertEqual(err.strip(), b"err ***\n***")

    def test_secrets_masked(self):
        for runtime, code in (("python", self.PY), ("bash", self.SH)):
            with self.subTest(runtime=runtime, call="Execute"):
                r = D.run(runtime, code, secrets={"TOKEN": SECRET})
                self.assertEqual(r.exit_code, 0, r.stderr)
                self.check(r.stdout, r.stderr)
            with self.subTest(runtime=runtime, call="ExecuteStream"):
                out, err, errors, res = D.stream(runtime, code, secrets={"TOKEN": SECRET})
                self.assertEqual(res.exit_code, 0, err)
                self.check(out, err)


class DaemonEnvironment(unittest.TestCase):
    # hex, so nothing on the way can change what the probe read
    PY = ("import os, glob\n"
          "n, dump = 0, [repr(sorted(os.environ.items())).encode().hex()]\n"
          "for p in sorted(glob.glob('/proc/[0-9]*/environ') + glob.glob('/proc/[0-9]*/task/*/environ') +\n"
          "                glob.glob('/proc/[0-9]*/cmdline')):\n"
          "    try:\n"
          "        dump.append(open(p, 'rb').read().hex()); n += 1\n"
          "    except OSError:\n"
          "        pass\n"
          "print(n)\n"
          "print('\\n'.join(dump))\n")

    def decoded(self, out):
        return b"\n".join(bytes.fromhex(line.decode()) for line in out.split(b"\n")[1:])

    def test_python_daemon_env_and_key_not_visible(self):
        r = D.run("python", self.PY)
        self.assertEqual(r.exit_code, 0, r.stderr)
        self.assertGreaterEqual(int(r.stdout.split(b"\n")[0]), 2, "the probe read no environ at all")
        text = self.decoded(r.stdout)
        self.assertIn(b"HOME=/sandbox", text, "the probe did not see its own environment")
        self.assertNotIn(CANARY.encode(), text)
        self.assertNotIn(API_KEY.encode(), text)
        self.assertNotIn(b"ISOL8_API_KEY", text)

    def test_bash_daemon_env_and_key_not_visible(self):
        r = D.run("bash", "env; for f in /proc/[0-9]*/environ /proc/[0-9]*/cmdline; do "
                          "cat \"$f\" 2>/dev/null | tr '\\0' '\\n'; done")
        self.assertEqual(r.exit_code, 0, r.stderr)
        self.assertIn(b"HOME=/sandbox", r.stdout)
        self.assertNotIn(CANARY.encode(), r.stdout)
        self.assertNotIn(API_KEY.encode(), r.stdout)

    def test_container_config_has_neither(self):
        r = D.run("bash", "true")
        env = json.dumps(json.loads(docker("inspect", r.container_id))[0]["Config"].get("Env"))
        self.assertNotIn(CANARY, env)
        self.assertNotIn(API_KEY, env)


class Cpu(unittest.TestCase):
    PY = ("import time\n"
          "t0, c0 = time.monotonic(), time.process_time()\n"
          "while time.monotonic() - t0 < 1.5:\n    pass\n"
          "print((time.process_time() - c0) / (time.monotonic() - t0))\n")
    SH = ("s=${EPOCHREALTIME/./}; while (( ${EPOCHREALTIME/./} - s < 1500000 )); do :; done\n"
          "e=${EPOCHREALTIME/./}; read -r _ _ _ _ _ _ _ _ _ _ _ _ _ ut st _ < /proc/$$/stat\n"
          "echo \"$(( (ut + st) * 10000 )) $((e - s))\"")

    def share(self, runtime, cpu):
        out = probe(self, runtime, self.PY if runtime == "python" else self.SH, cpu_limit=cpu, timeout_ms=20000)
        if runtime == "python":
            return float(out)
        used_us, wall_us = (int(x) for x in out.split())
        return used_us / wall_us

    def test_half_a_cpu_halves_a_busy_loop(self):
        for runtime in ("python", "bash"):
            with self.subTest(runtime=runtime):
                half = self.share(runtime, 0.5)
                full = self.share(runtime, 1.0)
                seen = "share with cpu_limit 0.5: %.2f, with 1.0: %.2f" % (half, full)
                self.assertLess(half, 0.62, seen)
                self.assertGreater(half, 0.3, seen)
                # the probe sees the limit, not the machine's load
                self.assertGreater(full, half * 1.25, seen)


if __name__ == "__main__":
    unittest.main(verbosity=2)

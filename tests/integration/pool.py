#!/usr/bin/python3
"""The warm pool against the real Docker engine and the real binaries.

Reuse and its isolation (each case checks that the next execution really ran
in the same container), secure pools that never reuse, a pooled container
killed from outside, prewarm counts, FIFO admission, health while every slot
is busy, pre-started interpreters against fresh ones on a corpus of
programs, --persist, and Execute past what one message carries.
"""
import os
import re
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
TMP = tempfile.mkdtemp(prefix="isol8-pool.")
PB, ADMIN, HEALTH = isol8d.messages(TMP, SOURCE)


class Daemon(isol8d.Daemon):
    """isol8d with these flags in a directory of its own, logging at debug
    level (phases() reads the log); containers() are the running ones."""
    count = 0

    def __init__(self, *flags):
        Daemon.count += 1
        super().__init__(ISOL8D, os.path.join(TMP, "d%d" % Daemon.count), PB, ADMIN, HEALTH,
                         flags=("--log-level", "debug", *flags))

    def containers(self):
        return super().containers(running_only=True)

    def phases(self):
        with open(self.log_path) as f:
            return re.findall(r"phases id=(\w+) .*prestarted=(\d)", f.read())


class Reuse(unittest.TestCase):
    """One warm sandbox that every python run reuses after its reset."""

    @classmethod
    def setUpClass(cls):
        cls.d = Daemon("--prewarm", "0", "--max-warm", "1")

    @classmethod
    def tearDownClass(cls):
        assert cls.d.stop() == 0
        assert cls.d.containers() == []

    def pair(self, first, second, **kw):
        """Runs first then second; both in the same container, and returns second's result."""
        a = self.d.run("python", first, **kw)
        self.assertEqual(a.exit_code, 0, a.stderr)
        self.d.wait_clean(1)
        b = self.d.run("python", second)
        self.assertEqual(b.exit_code, 0, b.stderr)
        self.assertEqual(a.container_id, b.container_id, "the second run did not reuse the sandbox")
        return b

    LEFT = isol8d.OTHER_UID1000_PY

    def test_detached_processes_are_gone(self):
        b = self.pair("import subprocess\n"
                      "quiet = dict(stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)\n"
                      "subprocess.Popen('nohup sleep 1000 >/dev/null 2>&1 &', shell=True, **quiet)\n"
                      "subprocess.Popen(['setsid', 'sleep', '1000'], **quiet)\n", self.LEFT)
        self.assertEqual(b.stdout, b"[]")

    def test_double_fork_ignoring_sigterm_is_gone(self):
        b = self.pair("import os, signal, time\n"
                      "if os.fork() == 0:\n"
                      "    os.setsid()\n"
                      "    if os.fork() == 0:\n"
                      "        null = os.open('/dev/null', os.O_RDWR)\n"
                      "        for fd in (0, 1, 2): os.dup2(null, fd)\n"
                      "        signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
                      "        time.sleep(1000)\n"
                      "    os._exit(0)\n", self.LEFT)
        self.assertEqual(b.stdout, b"[]")

    def test_files_are_gone(self):
        b = self.pair("import os\n"
                      "for d in ('/sandbox', '/tmp', '/dev/shm'):\n"
                      "    os.makedirs(d + '/left/deep', exist_ok=True)\n"
                      "    open(d + '/left/deep/f', 'w').write('x')\n"
                      "    open(d + '/.hidden', 'w').write('x')\n",
                      "import os\nprint(sorted(os.listdir('/sandbox')), os.listdir('/tmp'), os.listdir('/dev/shm'))\n")
        self.assertEqual(b.stdout, b"['main.py'] [] []")

    def test_sandbox_dir_itself_is_restored(self):
        b = self.pair("import os\n"
                      "os.setxattr('/sandbox', 'user.left', b'x')\n"
                      "os.chmod('/sandbox', 0o700)\n",
                      "import os, stat\n"
                      "st = os.stat('/sandbox')\n"
                      "print(oct(stat.S_IMODE(st.st_mode)), st.st_uid, os.listxattr('/sandbox'))\n")
        self.assertEqual(b.stdout, b"0o755 1000 []")

    def test_env_and_secrets_are_gone(self):
        b = self.pair("print(1)", "import os\nprint(os.environ.get('LEFT_ENV'), os.environ.get('LEFT_SECRET'))\n",
                      env={"LEFT_ENV": "e"}, secrets={"LEFT_SECRET": "s3cret"})
        self.assertEqual(b.stdout, b"None None")

    def test_cwd_is_fresh(self):
        b = self.pair("import os\nos.chdir('/tmp')\nprint(os.getcwd())\n", "import os\nprint(os.getcwd())\n")
        self.assertEqual(b.stdout, b"/sandbox")

    def test_sysv_shared_memory_is_gone(self):
        b = self.pair("import ctypes\n"
                      "libc = ctypes.CDLL(None, use_errno=True)\n"
                      "assert libc.shmget(0x15018, 4096, 0o1600) >= 0, ctypes.get_errno()\n",
                      "print(len(open('/proc/sysvipc/shm').read().splitlines()))\n")
        self.assertEqual(b.stdout, b"1")  # the header alone

    def test_abstract_socket_is_gone(self):
        b = self.pair("import subprocess\n"
                      "subprocess.Popen(['python3', '-c', 'import socket, time; s = socket.socket(socket.AF_UNIX); "
                      "s.bind(b\"\\\\0isol8-left\"); time.sleep(1000)'], start_new_session=True, "
                      "stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)\n"
                      "import time; time.sleep(0.5)\n",
                      "import socket\n"
                      "print('@isol8-left' in open('/proc/net/unix').read())\n"
                      "s = socket.socket(socket.AF_UNIX); s.bind(b'\\0isol8-left'); print('bound')\n")
        self.assertEqual(b.stdout, b"False\nbound")

    def test_posix_message_queue_is_gone(self):
        b = self.pair("import ctypes\n"
                      "rt = ctypes.CDLL('librt.so.1', use_errno=True)\n"
                      "assert rt.mq_open(b'/isol8-left', 0o100 | 0o2, 0o600, None) >= 0, ctypes.get_errno()\n",
                      "import os\nprint(os.listdir('/dev/mqueue'))\n")
        self.assertEqual(b.stdout, b"[]")


class Secure(unittest.TestCase):
    def test_secure_never_reuses(self):
        d = Daemon("--pool-strategy", "secure", "--prewarm", "1")
        try:
            ids = [d.run("bash", "echo $$").container_id for _ in range(20)]
            self.assertEqual(len(set(ids)), 20, ids)
        finally:
            self.assertEqual(d.stop(), 0)
        self.assertEqual(d.containers(), [])


class Replace(unittest.TestCase):
    def replaced_after(self, action):
        """A pooled container that `docker action` made unusable is replaced;
        the execution that would have used it still runs."""
        d = Daemon("--prewarm", "0", "--max-warm", "1")
        try:
            first = d.run("bash", "echo one")
            self.assertEqual(first.stdout, b"one")
            d.wait_clean(1)
            docker(action, first.container_id)
            second = d.run("bash", "echo two")
            self.assertEqual((second.exit_code, second.stdout), (0, b"two"), second.stderr)
            self.assertNotEqual(second.container_id, first.container_id)
            self.assertEqual(d.info(ADMIN.InfoRequest()).sandboxes.replaced, 1)
        finally:
            self.assertEqual(d.stop(), 0)
        self.assertEqual(d.containers(), [])

    def test_killed_pooled_container_is_replaced(self):
        self.replaced_after("kill")

    def test_paused_pooled_container_is_replaced(self):
        self.replaced_after("pause")


class Prewarm(unittest.TestCase):
    def test_prewarm_counts(self):
        for n, want in (("0", 0), ("2", 10)):
            d = Daemon("--prewarm", n)
            try:
                self.assertEqual(len(d.wait_containers(want)), want)
                time.sleep(1)  # and no more come
                self.assertEqual(len(d.containers()), want)
                s = d.wait_clean(want)
                self.assertEqual(s.clean, want)
            finally:
                self.assertEqual(d.stop(), 0)


class Admission(unittest.TestCase):
    def test_fifo_and_health_while_busy(self):
        d = Daemon("--max-concurrent", "1", "--prewarm", "1")
        try:
            d.wait_clean(5)
            order, lock, threads = [], threading.Lock(), []

            def call(i):
                r = d.run("bash", "sleep 0.4; echo %d" % i)
                with lock:
                    order.append(int(r.stdout))

            for i in range(4):
                t = threading.Thread(target=call, args=(i,))
                t.start()
                threads.append(t)
                time.sleep(0.1)
            # every slot is busy and three wait: health and Info still answer at once
            t0 = time.time()
            self.assertEqual(d.health(HEALTH.HealthCheckRequest(), timeout=5).status,
                             HEALTH.HealthCheckResponse.SERVING)
            self.assertGreaterEqual(d.info(ADMIN.InfoRequest(), timeout=5).active_executions, 1)
            self.assertLess(time.time() - t0, 1.0)
            for t in threads:
                t.join()
            self.assertEqual(order, [0, 1, 2, 3])
        finally:
            self.assertEqual(d.stop(), 0)


# Programs whose output and exit must be the same in a pre-started
# interpreter as in a fresh one: (runtime, extension, code, stdin).
CORPUS = [
    ("python", "", "print('hi')", b""),
    ("python", "", "import sys\nprint(sys.argv, __name__, __file__, sys.path[0])", b""),
    ("python", "", "import sys\nsys.exit(3)", b""),
    ("python", "", "def f():\n    raise ValueError('boom')\nf()", b""),
    ("python", "", "print(", b""),
    ("python", "", "import sys\nprint(sys.stdin.read().upper(), end='')", b"from stdin\n"),
    ("python", "", "import os\nprint(sorted(k for k in os.environ), os.getcwd())", b""),
    ("python", "", "import __main__, sys\nprint(__main__.__dict__.keys() == globals().keys(), __loader__.name, "
                   "__spec__, __package__, sorted(m for m in sys.modules if m.startswith('_frozen')))", b""),
    ("python", "", "import sys\nprint('to err', file=sys.stderr)\nraise SystemExit('bye')", b""),
    ("node", "", "console.log('hi')", b""),
    ("node", "", "console.log(process.argv, import.meta.url, typeof require, process.execArgv, process.cwd())", b""),
    ("node", "", "process.exitCode = 4; console.error('to err')", b""),
    ("node", "", "function f() { throw new Error('boom') }\nf()", b""),
    ("node", "", "await Promise.reject(new TypeError('rejected'))", b""),
    ("node", "", "let s = ''; for await (const c of process.stdin) s += c; console.log(s.toUpperCase())",
     b"from stdin\n"),
    ("node", "", "console.log(Object.keys(process.env).sort(), typeof module, typeof __filename, "
                 "typeof globalThis.exports)", b""),
    ("node", "js", "console.log(typeof require, import.meta.url)", b""),
    ("node", "", "console.log(Object.getOwnPropertyNames(globalThis).sort().join(), typeof fs, typeof path)", b""),
    ("node", "", "import { test } from 'node:test'; test('t', () => {});", b""),
    ("node", "", "console.log(1;", b""),
    ("node", "", "import x from 'no-such-package';", b""),
]


class Prestarted(unittest.TestCase):
    def test_same_as_a_fresh_interpreter(self):
        pre = Daemon("--prewarm", "1")
        fresh = Daemon("--prewarm", "1", "--no-prestart")
        try:
            for rt, ext, code, stdin in CORPUS:
                pre.wait_clean(5)
                a = pre.run(rt, code, stdin=stdin, ext=ext)
                b = fresh.run(rt, code, stdin=stdin, ext=ext)
                if rt == "node" and "node:test" in code:  # it prints its own timing
                    strip = lambda s: re.sub(rb"\([0-9.]+ms\)|duration_ms \S+", b"", s)
                    a.stdout, b.stdout = strip(a.stdout), strip(b.stdout)
                with self.subTest(runtime=rt, code=code):
                    self.assertEqual((a.exit_code, a.signal, a.stdout, a.stderr),
                                     (b.exit_code, b.signal, b.stdout, b.stderr))
            used = [p for _, p in pre.phases()]
            self.assertEqual(used.count("1"), len(CORPUS), "every corpus run used a pre-started interpreter")
            self.assertEqual([p for _, p in fresh.phases()].count("1"), 0)
            # a variable read at start-up takes the normal path, with the same result
            r = pre.run("python", "import sys\nprint(sys.flags.dont_write_bytecode)", env={"PYTHONDONTWRITEBYTECODE": ""})
            self.assertEqual(pre.phases()[-1][1], "0")
            self.assertEqual(r.stdout, fresh.run("python", "import sys\nprint(sys.flags.dont_write_bytecode)",
                                                 env={"PYTHONDONTWRITEBYTECODE": ""}).stdout)
        finally:
            self.assertEqual(pre.stop(), 0)
            self.assertEqual(fresh.stop(), 0)


class Persist(unittest.TestCase):
    def test_persisted_sandbox_is_not_pooled_and_cleanup_removes_it(self):
        d = Daemon("--prewarm", "0", "--max-warm", "2")
        try:
            kept = d.run("bash", "echo kept > /sandbox/f", persist=True)
            self.assertEqual(kept.exit_code, 0)
            self.assertEqual(docker("exec", kept.container_id, "cat", "/sandbox/f"), "kept\n")
            for _ in range(3):
                self.assertNotEqual(d.run("bash", "echo").container_id, kept.container_id)
            info = d.info(ADMIN.InfoRequest())
            self.assertEqual([k.container_id for k in info.kept], [kept.container_id])
            res = d.cleanup(ADMIN.CleanupRequest(), timeout=60)
            self.assertEqual(list(res.kept_containers), [kept.container_id])
            deadline = time.time() + 20
            while time.time() < deadline and kept.container_id in " ".join(d.containers()):
                time.sleep(0.1)
            self.assertNotIn(kept.container_id, " ".join(d.containers()))
        finally:
            self.assertEqual(d.stop(), 0)

    def test_cleanup_leaves_a_live_daemons_sandboxes(self):
        # two daemons side by side: one's cleanup must not take the other's pool
        a, b = Daemon("--prewarm", "0"), Daemon("--prewarm", "0", "--max-warm", "2")
        try:
            theirs = b.run("bash", "echo").container_id
            b.wait_containers(1)
            a.cleanup(ADMIN.CleanupRequest(), timeout=60)
            self.assertIn(theirs, b.containers())
            self.assertEqual(b.run("bash", "echo still").container_id, theirs)
        finally:
            self.assertEqual(a.stop(), 0)
            self.assertEqual(b.stop(), 0)


class LargeOutput(unittest.TestCase):
    def test_execute_past_one_message_truncates(self):
        d = Daemon("--prewarm", "0")
        try:
            r = d.run("python", "import sys\nsys.stdout.write('x' * (20 << 20))", max_output_size=100 << 20)
            self.assertEqual((r.exit_code, len(r.stdout), r.truncated), (0, 20 << 20, False))
            r = d.run("python", "import sys\nsys.stdout.write('y' * (70 << 20))\nsys.exit(5)",
                      max_output_size=256 << 20, deadline=120)
            self.assertEqual(r.exit_code, 5)
            self.assertTrue(r.truncated)
            self.assertGreater(len(r.stdout), 60 << 20)
            self.assertLess(len(r.stdout), 64 << 20)
        finally:
            self.assertEqual(d.stop(), 0)


if __name__ == "__main__":
    unittest.main(verbosity=2)

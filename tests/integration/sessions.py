#!/usr/bin/python3
"""Persistent sessions against the real Docker engine and the real binaries:
a session id names one sandbox that keeps its files, its detached
processes and its interpreter state between calls; one runtime per
session; one call at a time; isolation between sessions; DestroySession,
ListSessions, the idle timeout, the cap, and a daemon stop that leaves no
session container behind.
"""
import json
import os
import subprocess
import sys
import threading
import time
import unittest

import grpc

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pool import ADMIN, PB, TMP, Daemon  # noqa: E402
import isol8d  # noqa: E402  (on the path pool set)


def req(runtime, code, session, **fields):
    options = fields.pop("options", {})
    r = PB.ExecuteRequest(runtime=runtime, code=code, session_id=session, **fields)
    for k, v in options.items():
        setattr(r.options, k, v)
    return r


class Client:
    def __init__(self, d):
        self.d = d
        unary = d.channel.unary_unary
        self.destroy_rpc = unary("/isol8.v1.Isol8/DestroySession",
                                 request_serializer=PB.DestroySessionRequest.SerializeToString,
                                 response_deserializer=PB.DestroySessionResult.FromString)
        self.list_rpc = unary("/isol8.v1.Admin/ListSessions",
                              request_serializer=ADMIN.ListSessionsRequest.SerializeToString,
                              response_deserializer=ADMIN.ListSessionsResult.FromString)

    def run(self, runtime, code, session, timeout=60, **fields):
        return self.d.execute(req(runtime, code, session, **fields), timeout=timeout)

    def destroy(self, session):
        return self.destroy_rpc(PB.DestroySessionRequest(session_id=session), timeout=30).destroyed

    def sessions(self):
        return {s.id: s for s in self.list_rpc(ADMIN.ListSessionsRequest(), timeout=30).sessions}

    def refused(self, code, text, *args, **kw):
        try:
            self.run(*args, **kw)
        except grpc.RpcError as e:
            if e.code() != code or text not in e.details():
                raise AssertionError("got %s %r, want %s with %r" % (e.code(), e.details(), code, text))
            return e.details()
        raise AssertionError("the call succeeded; want %s with %r" % (code, text))


def config_daemon(name, cfg):
    path = os.path.join(TMP, name + ".json")
    with open(path, "w") as f:
        json.dump(cfg, f)
    return Daemon("--config", path)


class Sessions(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.d = Daemon("--prewarm", "1")
        cls.c = Client(cls.d)

    @classmethod
    def tearDownClass(cls):
        cls.d.stop()

    def tearDown(self):
        for sid in list(self.c.sessions()):
            self.c.destroy(sid)

    def test_files_and_container_persist(self):
        r1 = self.c.run("bash", "echo kept > /sandbox/f.txt; echo one", "files")
        self.assertEqual(r1.exit_code, 0, r1.stderr)
        self.assertEqual(r1.session_id, "files")
        r2 = self.c.run("bash", "cat /sandbox/f.txt", "files")
        self.assertEqual(r2.stdout, b"kept")
        self.assertEqual(r1.container_id, r2.container_id)
        self.assertFalse(r2.state_reset)

    def test_detached_server_lives_between_calls(self):
        start = ("import subprocess\n"
                 "subprocess.Popen(['python3', '-m', 'http.server', '8000', '--bind', '127.0.0.1'],"
                 " cwd='/sandbox', stdout=open('/sandbox/log', 'w'), stderr=subprocess.STDOUT,"
                 " start_new_session=True)\n"
                 "print('started')\n")
        r = self.c.run("python", start, "web")
        self.assertEqual(r.stdout, b"started", r.stderr)
        fetch = ("import time, urllib.request\n"
                 "for i in range(100):\n"
                 "    try:\n"
                 "        print(urllib.request.urlopen('http://127.0.0.1:8000/', timeout=2).status); break\n"
                 "    except OSError:\n"
                 "        time.sleep(0.05)\n")
        r = self.c.run("python", fetch, "web")
        self.assertEqual(r.stdout, b"200", r.stderr)

    def test_output_holder_is_killed_at_the_end(self):
        # a background job still holding the call's output keeps the call
        # open, as with `docker exec`, and is killed at its end (here the
        # timeout)
        r = self.c.run("bash", "sleep 300 & echo $! > /sandbox/pid; echo bg", "holder", timeout_ms=1000)
        self.assertTrue(r.timed_out, r)
        self.assertEqual(r.stdout, b"bg")
        r = self.c.run("bash", "kill -0 $(cat /sandbox/pid) 2>/dev/null && echo alive || echo gone", "holder")
        self.assertEqual(r.stdout, b"gone")

    def test_runtime_switch_refused(self):
        self.c.run("python", "pass", "rt")
        details = self.c.refused(grpc.StatusCode.FAILED_PRECONDITION, "runtime", "bash", "echo hi", "rt")
        self.assertIn("python", details)
        self.assertIn("bash", details)

    def test_isolation(self):
        self.c.run("bash", "echo secret > /sandbox/a.txt", "iso-a")
        r = self.c.run("bash", "cat /sandbox/a.txt 2>&1; ls /sandbox", "iso-b")
        self.assertIn(b"No such file", r.stdout)
        self.assertNotEqual(self.c.run("bash", "true", "iso-a").container_id,
                            self.c.run("bash", "true", "iso-b").container_id)

    def test_busy_session(self):
        self.c.run("bash", "true", "busy")
        results = {}

        def long_call():
            results["a"] = self.c.run("bash", "for i in 1 2 3; do echo a$i; sleep 0.5; done", "busy")

        t = threading.Thread(target=long_call)
        t.start()
        deadline = time.time() + 10
        while not self.c.sessions()["busy"].busy and time.time() < deadline:
            time.sleep(0.02)
        self.assertTrue(self.c.sessions()["busy"].busy)
        details = self.c.refused(grpc.StatusCode.ABORTED, "busy", "bash", "echo b", "busy", timeout_ms=300)
        self.assertIn("\"busy\"", details)
        # a call with time to wait runs after the first, never interleaved
        r = self.c.run("bash", "echo b", "busy", timeout_ms=20000)
        t.join()
        self.assertEqual(results["a"].stdout, b"a1\na2\na3")
        self.assertEqual(r.stdout, b"b")
        self.assertFalse(self.c.sessions()["busy"].busy)

    def test_destroy(self):
        r = self.c.run("bash", "echo x > /sandbox/x", "gone")
        self.assertTrue(self.c.destroy("gone"))
        self.assertFalse(self.c.destroy("gone"))  # idempotent
        self.assertFalse(self.c.destroy("never-was"))
        self.assertNotIn("gone", self.c.sessions())
        deadline = time.time() + 30
        while r.container_id in self.d.containers() and time.time() < deadline:
            time.sleep(0.1)
        self.assertNotIn(r.container_id, self.d.containers())
        # the id makes a fresh session again
        r2 = self.c.run("bash", "ls /sandbox/x 2>&1 || true", "gone")
        self.assertNotEqual(r2.container_id, r.container_id)
        self.assertIn(b"No such file", r2.stdout)

    def test_list(self):
        self.c.run("python", "pass", "listed")
        s = self.c.sessions()["listed"]
        self.assertEqual(s.runtime, "python")
        self.assertFalse(s.busy)
        self.assertTrue(s.created_at.endswith("Z"))
        self.assertTrue(s.last_used_at >= s.created_at)
        self.assertTrue(s.container_id)

    def test_bad_ids(self):
        self.c.refused(grpc.StatusCode.INVALID_ARGUMENT, "session_id: character 2", "bash", "true", "a b")
        self.c.refused(grpc.StatusCode.INVALID_ARGUMENT, "session_id: a session id has 1 to 128", "bash", "true",
                       "x" * 129)
        with self.assertRaises(grpc.RpcError) as cm:
            self.c.destroy("a/b")
        self.assertEqual(cm.exception.code(), grpc.StatusCode.INVALID_ARGUMENT)


class State(unittest.TestCase):
    """Interpreter state persists between calls of a session, per runtime."""

    @classmethod
    def setUpClass(cls):
        cls.d = Daemon("--prewarm", "0")
        cls.c = Client(cls.d)

    @classmethod
    def tearDownClass(cls):
        cls.d.stop()

    def calls(self, runtime, session, *steps):
        """Runs each (code, stdout wanted, exit code wanted) in turn; the results."""
        out = []
        for code, want_out, want_exit in steps:
            r = self.c.run(runtime, code, session)
            self.assertEqual((r.stdout, r.exit_code), (want_out, want_exit), "%r: %r" % (code, r.stderr))
            out.append(r)
        return out

    def test_python(self):
        rs = self.calls("python", "py",
                        ("x = 42\nimport json\ndef f(a):\n    return a * 2\nclass C:\n    v = 7\n", b"", 0),
                        ("print(x, f(x), C.v, json.dumps([1]))", b"42 84 7 [1]", 0),
                        ("1/0", b"", 1),
                        ("print(x)", b"42", 0),
                        ("name = input()\nprint('hi', name)", b"", 1))
        self.assertIn(b"EOFError", rs[4].stderr)  # no stdin: EOF at once, as in a fresh run
        self.assertIn(b"ZeroDivisionError", rs[2].stderr)
        self.assertIn(b"Traceback", rs[2].stderr)
        self.assertFalse(any(r.state_reset for r in rs))
        r = self.c.run("python", "import sys\nsys.exit(3)", "py")
        self.assertEqual((r.exit_code, r.state_reset), (3, True))
        r = self.c.run("python", "print(x)", "py")
        self.assertEqual(r.exit_code, 1)
        self.assertIn(b"NameError", r.stderr)
        self.assertFalse(r.state_reset)
        r = self.c.run("python", "y = 1\nimport time\ntime.sleep(30)", "py", timeout_ms=1000)
        self.assertTrue(r.timed_out)
        self.assertTrue(r.state_reset)
        r = self.c.run("python", "print(y)", "py")
        self.assertIn(b"NameError", r.stderr)

    def test_python_stdin(self):
        r = self.c.run("python", "print(input().upper()); print(input().upper())", "py-in", stdin=b"a\nb\n")
        self.assertEqual(r.stdout, b"A\nB", r.stderr)
        r = self.c.run("python", "import sys\nprint(repr(sys.stdin.read()))", "py-in")
        self.assertEqual(r.stdout, b"''")

    def test_node(self):
        rs = self.calls("node", "js",
                        ("const x = 42\nlet y = 'y'\nfunction f(a) { return a * 2 }\nclass C { static v = 7 }\n"
                         "import path from 'node:path'\n", b"", 0),
                        ("console.log(x, y, f(x), C.v, path.basename('/a/b.txt'))", b"42 y 84 7 b.txt", 0),
                        ("const z = await Promise.resolve(5)\nconsole.log(z + x)", b"47", 0),
                        ("throw new Error('boom')", b"", 1),
                        ("console.log(z)", b"5", 0))
        self.assertIn(b"boom", rs[3].stderr)
        r = self.c.run("node", "process.exit(4)", "js")
        self.assertEqual((r.exit_code, r.state_reset), (4, True))
        r = self.c.run("node", "console.log(typeof x)", "js")
        self.assertEqual(r.stdout, b"undefined")

    def test_bash(self):
        self.calls("bash", "sh",
                   ("v=hello; greet() { echo \"hi $1\"; }; cd /tmp", b"", 0),
                   ("echo $v; greet you; pwd", b"hello\nhi you\n/tmp", 0),
                   ("false", b"", 1),
                   ("echo $v", b"hello", 0))
        r = self.c.run("bash", "exit 5", "sh")
        self.assertEqual((r.exit_code, r.state_reset), (5, True))
        r = self.c.run("bash", "echo \"[$v]\"; pwd", "sh")
        self.assertEqual(r.stdout, b"[]\n/sandbox")

    def test_bun_and_deno_keep_files(self):
        for rt in ("bun", "deno"):
            r = self.c.run(rt, "await Bun.write('/sandbox/k.txt', 'kept')" if rt == "bun"
                           else "Deno.writeTextFileSync('/sandbox/k.txt', 'kept')", rt + "-s")
            self.assertEqual(r.exit_code, 0, r.stderr)
            r = self.c.run(rt, "console.log(await (await import('node:fs/promises')).readFile('/sandbox/k.txt', 'utf8'))",
                           rt + "-s")
            self.assertEqual(r.stdout, b"kept", r.stderr)


class Cli(unittest.TestCase):
    """isol8 run --session, isol8 session list|rm, against a private daemon."""

    @classmethod
    def setUpClass(cls):
        cls.d = Daemon("--prewarm", "0")

    @classmethod
    def tearDownClass(cls):
        cls.d.stop()

    def isol8(self, *args, stdin=b""):
        r = subprocess.run([os.environ["ISOL8"], *args, "--host", "unix:" + self.d.socket], input=stdin,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)
        return r.returncode, r.stdout.decode(), r.stderr.decode()

    def test_session_verbs(self):
        self.assertEqual(self.isol8("run", "-r", "bash", "--persistent", "--session", "cli1", "-e",
                                    "echo v > /sandbox/v.txt")[0], 0)
        rc, out, err = self.isol8("run", "-r", "bash", "--session", "cli1", "-e", "cat /sandbox/v.txt")
        self.assertEqual((rc, out), (0, "v\n"), err)
        rc, out, err = self.isol8("session", "list")
        self.assertEqual(rc, 0, err)
        self.assertRegex(out, r"(?m)^cli1 +bash +idle ")
        rc, out, err = self.isol8("run", "-r", "python", "--session", "cli1", "-e", "print(1)")
        self.assertNotEqual(rc, 0)
        self.assertIn("one runtime per session", err)
        rc, out, err = self.isol8("session", "rm", "cli1", "nothing")
        self.assertEqual(rc, 0, err)
        self.assertIn("removed cli1", out)
        self.assertIn("nothing: no such session", out)
        rc, out, err = self.isol8("session", "list")
        self.assertIn("no sessions", out)
        rc, out, err = self.isol8("session", "frob")
        self.assertNotEqual(rc, 0)
        self.assertIn("unknown action \"frob\"", err)
        rc, out, err = self.isol8("session", "rm")
        self.assertNotEqual(rc, 0)
        self.assertIn("name the session", err)


    def test_agent_loop(self):
        """The CLI's whole agent loop: create a session, upload a CSV, define a
        function in one call and use it in the next, write a file, download it,
        destroy the session."""
        local = os.path.join(TMP, "cli-loop")
        os.makedirs(local, exist_ok=True)
        with open(os.path.join(local, "data.csv"), "w") as f:
            f.write("name,age\nAlice,30\nBob,25\n")
        steps = [
            ("run", "-r", "python", "--session", "loop", "-e", "import csv"),
            ("cp", os.path.join(local, "data.csv"), "loop:/sandbox/data.csv"),
            ("run", "-r", "python", "--session", "loop", "-e",
             "def total(p):\n    return sum(int(r['age']) for r in csv.DictReader(open(p)))"),
            ("run", "-r", "python", "--session", "loop", "-e",
             "open('/sandbox/out.txt', 'w').write(str(total('/sandbox/data.csv')))\nprint('ok')"),
            ("cp", "loop:/sandbox/out.txt", os.path.join(local, "out.txt")),
            ("session", "rm", "loop"),
        ]
        for step in steps:
            rc, out, err = self.isol8(*step)
            self.assertEqual(rc, 0, "%s: %s" % (step, err))
        with open(os.path.join(local, "out.txt")) as f:
            self.assertEqual(f.read(), "55")
        rc, out, err = self.isol8("cp", "loop:/sandbox/out.txt", os.path.join(local, "again.txt"))
        self.assertNotEqual(rc, 0)
        self.assertIn("loop", err)


class Limits(unittest.TestCase):
    def test_idle_expiry_cap_and_stop(self):
        d = config_daemon("limits", {"sessions": {"max": 2, "idleTimeoutMs": 1500}, "pool": {"prewarm": 0}})
        c = Client(d)
        try:
            a = c.run("bash", "true", "s1")
            c.run("bash", "true", "s2")
            c.refused(grpc.StatusCode.RESOURCE_EXHAUSTED, "sessions.max", "bash", "true", "s3")
            # s2 is kept busy-ish by use; s1 idles past 1.5 s and goes
            deadline = time.time() + 15
            while "s1" in c.sessions() and time.time() < deadline:
                c.run("bash", "true", "s2")
                time.sleep(0.3)
            self.assertNotIn("s1", c.sessions())
            self.assertIn("s2", c.sessions())
            deadline = time.time() + 30
            while a.container_id in d.containers() and time.time() < deadline:
                time.sleep(0.1)
            self.assertNotIn(a.container_id, d.containers())
            c.run("bash", "true", "s3")  # room again
        finally:
            self.assertEqual(d.stop(), 0)
        # a stopped daemon leaves no session container behind
        self.assertEqual(d.containers(), [])

    def test_killed_daemon_leaves_nothing_behind(self):
        d = Daemon("--prewarm", "0")
        r = Client(d).run("bash", "true", "orphan")
        d.proc.kill()
        d.proc.wait(timeout=30)
        d.channel.close()
        d.log.close()
        # the next daemon on the socket removes the dead one's containers
        d2 = isol8d.Daemon(os.environ["ISOL8D"], os.path.dirname(d.socket), PB, ADMIN, d.health_pb,
                           flags=("--prewarm", "0"))
        try:
            deadline = time.time() + 30
            while r.container_id in d2.containers() and time.time() < deadline:
                time.sleep(0.1)
            self.assertNotIn(r.container_id, d2.containers())
            self.assertEqual(Client(d2).sessions(), {})
        finally:
            d2.stop()

    def test_sessions_off(self):
        d = config_daemon("off", {"sessions": {"max": 0}, "pool": {"prewarm": 0}})
        try:
            Client(d).refused(grpc.StatusCode.RESOURCE_EXHAUSTED, "sessions.max", "bash", "true", "s1")
        finally:
            d.stop()


if __name__ == "__main__":
    unittest.main(verbosity=2)

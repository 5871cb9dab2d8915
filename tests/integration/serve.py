#!/usr/bin/python3
"""`isol8 serve` with the real binaries: no key is refused with the way to
give one; on a taken port (no terminal) it picks the next free one and
prints it; /health and /execute answer over HTTP and a gRPC call with the
key works (without it: UNAUTHENTICATED); SIGTERM stops both children and
exits 0; a child that dies stops the other and serve exits 1 naming it."""
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.error
import urllib.request

import grpc

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
import protos  # noqa: E402

SOURCE = os.environ["ISOL8_SOURCE_DIR"]
ISOL8 = os.environ["ISOL8"]
TMP = tempfile.mkdtemp(prefix="isol8-serve.")
ADMIN, = protos.generate(TMP, "isol8/v1/admin.proto", source=SOURCE)
KEY = "serve-test-key"
NO_KEY = ('[ERR] isol8 serve needs an API key: pass --key KEY or set ISOL8_API_KEY (clients then send '
          '"Authorization: Bearer KEY")\n')


def env(**extra):
    e = {k: v for k, v in os.environ.items() if k not in ("ISOL8_API_KEY", "ISOL8_PORT", "PORT")}
    e.update(extra)
    return e


def children(pid):
    with open("/proc/%d/task/%d/children" % (pid, pid)) as f:
        return [int(p) for p in f.read().split()]


def alive(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().split()[2] != "Z"
    except FileNotFoundError:
        return False


def wait_gone(pids, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline and any(alive(p) for p in pids):
        time.sleep(0.1)
    return [p for p in pids if alive(p)]


class Serve:
    """isol8 serve on 127.0.0.1 with stdout read up to its address line."""

    def __init__(self, *flags, **environ):
        self.out_path = os.path.join(TMP, "serve-%d.out" % time.monotonic_ns())
        self.out = open(self.out_path, "w")
        self.proc = subprocess.Popen([ISOL8, "serve", "--host", "127.0.0.1", *flags], stdin=subprocess.DEVNULL,
                                     stdout=self.out, stderr=subprocess.STDOUT, env=env(**environ))
        deadline = time.time() + 90
        while time.time() < deadline:
            m = re.search(r"^isol8 serve: HTTP on http://127\.0\.0\.1:(\d+), gRPC on 127\.0\.0\.1:(\d+)$",
                          self.text(), re.M)
            if m:
                self.http, self.grpc = int(m.group(1)), int(m.group(2))
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        raise AssertionError("no address line; output:\n" + self.text())

    def text(self):
        if not self.out.closed:
            self.out.flush()
        with open(self.out_path) as f:
            return f.read()

    def get(self, path, key=None, body=None):
        req = urllib.request.Request("http://127.0.0.1:%d%s" % (self.http, path),
                                     data=json.dumps(body).encode() if body is not None else None,
                                     headers={"Content-Type": "application/json"})
        if key:
            req.add_header("Authorization", "Bearer " + key)
        try:
            with urllib.request.urlopen(req, timeout=60) as r:
                return r.status, json.loads(r.read())
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read())

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        code = self.proc.wait(timeout=60)
        self.out.close()
        return code


class ServeTest(unittest.TestCase):
    def test_no_key_refused(self):
        r = subprocess.run([ISOL8, "serve"], capture_output=True, text=True, timeout=30, env=env(),
                           stdin=subprocess.DEVNULL)
        self.assertEqual((r.returncode, r.stderr, r.stdout), (2, NO_KEY, ""))
        r = subprocess.run([ISOL8, "serve", "--port", "nope", "--key", KEY], capture_output=True, text=True,
                           timeout=30, env=env(), stdin=subprocess.DEVNULL)
        self.assertEqual((r.returncode, r.stderr), (2, '[ERR] --port: "nope" is not a port (1 to 65535)\n'))

    def test_taken_port_health_grpc_stop(self):
        with socket.socket() as taken:
            taken.bind(("127.0.0.1", 0))
            taken.listen()
            port = taken.getsockname()[1]
            s = Serve("--port", str(port), ISOL8_API_KEY=KEY)
            try:
                self.assertNotEqual(s.http, port)
                self.assertIn("isol8 serve: port %d is in use; using %d\n" % (port, s.http), s.text())
                pids = children(s.proc.pid)
                self.assertEqual(len(pids), 2, s.text())
                status, body = s.get("/health")
                self.assertEqual((status, body["status"]), (200, "ok"))
                status, body = s.get("/execute", key=KEY, body={"request": {"runtime": "python",
                                                                            "code": "print(6 * 7)"}})
                self.assertEqual((status, body.get("stdout"), body.get("exitCode")), (200, "42", 0), body)
                status, body = s.get("/execute", body={"request": {"runtime": "python", "code": "1"}})
                self.assertEqual(status, 401)
                channel = grpc.insecure_channel("127.0.0.1:%d" % s.grpc)
                info = channel.unary_unary("/isol8.v1.Admin/Info", request_serializer=ADMIN.InfoRequest.SerializeToString,
                                           response_deserializer=ADMIN.InfoResult.FromString)
                self.assertTrue(info(ADMIN.InfoRequest(), metadata=[("authorization", "Bearer " + KEY)],
                                     timeout=30).version)
                with self.assertRaises(grpc.RpcError) as ctx:
                    info(ADMIN.InfoRequest(), timeout=30)
                self.assertEqual(ctx.exception.code(), grpc.StatusCode.UNAUTHENTICATED)
                channel.close()
            finally:
                code = s.stop()
            self.assertEqual(code, 0, s.text())
            self.assertEqual(wait_gone(pids), [], "children left: " + s.text())
            self.assertIn("isol8 serve: SIGTERM: stopping", s.text())

    def test_env_port_and_flag_key(self):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        s = Serve("--key", KEY, "--debug", PORT=str(port))
        try:
            self.assertEqual(s.http, port)
            self.assertEqual(s.get("/health")[0], 200)
        finally:
            self.assertEqual(s.stop(), 0)

    def test_child_death_stops_the_other(self):
        s = Serve("--key", KEY)
        daemon, gateway = None, None
        for pid in children(s.proc.pid):
            with open("/proc/%d/cmdline" % pid, "rb") as f:
                argv0 = os.path.basename(f.read().split(b"\0")[0].decode())
            if argv0 == "isol8d":
                daemon = pid
            elif argv0 == "isol8-gateway":
                gateway = pid
        self.assertTrue(daemon and gateway, s.text())
        os.kill(gateway, signal.SIGKILL)
        code = s.proc.wait(timeout=60)
        s.out.close()
        self.assertEqual(code, 1)
        self.assertIn("[ERR] serve: isol8-gateway was killed by signal 9 (stopping isol8d)", s.text())
        self.assertEqual(wait_gone([daemon, gateway]), [])


if __name__ == "__main__":
    result = unittest.main(exit=False, verbosity=2).result
    failed = len(result.failures) + len(result.errors)
    print("%d passed, %d failed" % (result.testsRun - failed, failed))
    sys.exit(1 if failed or result.testsRun == 0 else 0)

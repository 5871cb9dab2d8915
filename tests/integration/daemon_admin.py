#!/usr/bin/python3
"""isol8d's health, credentials, metadata and session clean-up against the
real Docker engine and the real binaries: Health/Check follows Docker
(NOT_SERVING while it does not answer, logged once per change); a key sent
over the local socket is checked, and a daemon without a key refuses one;
an execution's metadata is checked, logged and never seen by the program;
Admin.Cleanup with sessions destroys every session and says so.
"""
import os
import sys
import tempfile
import time
import unittest

import grpc

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
import isol8d  # noqa: E402

SOURCE = os.environ["ISOL8_SOURCE_DIR"]
ISOL8D = os.environ["ISOL8D"]
TMP = tempfile.mkdtemp(prefix="isol8-admin.")
PB, ADMIN, HEALTH = isol8d.messages(TMP, SOURCE)
KEY = "admin-test-key"
WRONG_KEY = 'missing or wrong API key: send "authorization: Bearer <key>"'
NO_KEY = "isol8d has no API key: start it with --api-key (or ISOL8_API_KEY) to accept keys"
DOCKER_SOCKET = "/var/run/docker.sock"


class Daemon(isol8d.Daemon):
    count = 0

    def __init__(self, *flags):
        Daemon.count += 1
        super().__init__(ISOL8D, os.path.join(TMP, "d%d" % Daemon.count), PB, ADMIN, HEALTH,
                         flags=("--prewarm", "0", *flags))
        unary = self.channel.unary_unary
        self.list_sessions = self.method(unary, "/isol8.v1.Admin/ListSessions", ADMIN.ListSessionsRequest,
                                         ADMIN.ListSessionsResult)

    def log_text(self):
        self.log.flush()
        with open(self.log_path) as f:
            return f.read()

    def status(self):
        return self.health(HEALTH.HealthCheckRequest(), timeout=10).status


def refused(fn, code, details):
    try:
        fn()
    except grpc.RpcError as e:
        if e.code() != code or e.details() != details:
            raise AssertionError("got %s %r, want %s %r" % (e.code(), e.details(), code, details))
        return
    raise AssertionError("the call succeeded; want %s %r" % (code, details))


class Health(unittest.TestCase):
    def test_follows_docker(self):
        """Docker reached through a link that the test takes away and puts back."""
        link = os.path.join(TMP, "docker-link.sock")
        os.symlink(DOCKER_SOCKET, link)
        d = Daemon("--docker-socket", link)
        try:
            self.assertEqual(d.status(), HEALTH.HealthCheckResponse.SERVING)
            os.unlink(link)
            time.sleep(1.2)  # past the cached answer
            for _ in range(5):
                self.assertEqual(d.status(), HEALTH.HealthCheckResponse.NOT_SERVING)
            os.symlink(DOCKER_SOCKET, link)
            time.sleep(1.2)
            self.assertEqual(d.status(), HEALTH.HealthCheckResponse.SERVING)
            self.assertEqual(d.status(), HEALTH.HealthCheckResponse.SERVING)
            log = d.log_text()
            down = 'health: NOT_SERVING: "docker: cannot reach %s: No such file or directory"' % link
            self.assertEqual(log.count(down), 1, log)
            self.assertEqual(log.count("health: NOT_SERVING"), 1, log)
            self.assertEqual(log.count("health: SERVING: Docker answers again"), 1, log)
        finally:
            self.assertEqual(d.stop(), 0)

    def test_no_docker(self):
        d = Daemon("--docker-socket", os.path.join(TMP, "no-docker.sock"))
        try:
            self.assertEqual(d.status(), HEALTH.HealthCheckResponse.NOT_SERVING)
            # the named services too, and still without a key
            r = d.health(HEALTH.HealthCheckRequest(service="isol8.v1.Isol8"), timeout=10,
                         metadata=[("authorization", "Bearer whatever")])
            self.assertEqual(r.status, HEALTH.HealthCheckResponse.NOT_SERVING)
        finally:
            self.assertEqual(d.stop(), 0)


class Credentials(unittest.TestCase):
    """Over the daemon's own unix socket."""

    def info(self, d, key):
        metadata = [("authorization", "Bearer " + key)] if key is not None else []
        return d.info(ADMIN.InfoRequest(), metadata=metadata, timeout=30)

    def test_keyed_daemon(self):
        d = Daemon("--api-key", KEY)
        try:
            self.assertTrue(self.info(d, None).version)   # no header: the owner is trusted
            self.assertTrue(self.info(d, KEY).version)
            refused(lambda: self.info(d, "wrong"), grpc.StatusCode.UNAUTHENTICATED, WRONG_KEY)
            refused(lambda: d.info(ADMIN.InfoRequest(), metadata=[("authorization", KEY)], timeout=30),
                    grpc.StatusCode.UNAUTHENTICATED, WRONG_KEY)
            refused(lambda: self.info(d, "x" * 2000), grpc.StatusCode.UNAUTHENTICATED, WRONG_KEY)
            refused(lambda: d.execute(d.request("python", "print(1)"), timeout=60,
                                      metadata=[("authorization", "Bearer wrong")]),
                    grpc.StatusCode.UNAUTHENTICATED, WRONG_KEY)
        finally:
            self.assertEqual(d.stop(), 0)

    def test_daemon_without_key(self):
        d = Daemon()
        try:
            self.assertTrue(self.info(d, None).version)
            refused(lambda: self.info(d, KEY), grpc.StatusCode.UNAUTHENTICATED, NO_KEY)
            self.assertEqual(d.status(), HEALTH.HealthCheckResponse.SERVING)
            self.assertIn("rejected /isol8.v1.Admin/Info: a key was sent and isol8d has none", d.log_text())
        finally:
            self.assertEqual(d.stop(), 0)


class Metadata(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.d = Daemon()

    @classmethod
    def tearDownClass(cls):
        assert cls.d.stop() == 0

    def run_with(self, metadata, code="print('ok')"):
        req = self.d.request("python", code)
        for k, v in metadata.items():
            req.metadata[k] = v
        return self.d.execute(req, timeout=60)

    def test_logged_not_passed(self):
        r = self.run_with({"user": "alice-7f3", "trace.id": 'a"b c'},
                          code="import os\nprint(repr(dict(os.environ)))\nprint(os.listdir('/sandbox'))")
        self.assertEqual(r.exit_code, 0, r.stderr)
        self.assertNotIn(b"alice-7f3", r.stdout)
        self.assertNotIn(b"trace", r.stdout)
        lines = [l for l in self.d.log_text().splitlines() if "execute id=%s " % r.execution_id in l]
        self.assertEqual(len(lines), 1, self.d.log_text())
        self.assertIn(' meta.trace.id="a\\"b c"', lines[0])
        self.assertIn(' meta.user="alice-7f3"', lines[0])

    def test_thirty_two_long_entries(self):
        meta = {"k%02d" % i + "x" * 60: "v" * 256 for i in range(32)}
        r = self.run_with(meta)
        self.assertEqual(r.exit_code, 0, r.stderr)
        line = [l for l in self.d.log_text().splitlines() if "execute id=%s " % r.execution_id in l][0]
        for k in meta:
            self.assertIn(' meta.%s="%s"' % (k, "v" * 256), line)

    def test_invalid(self):
        cases = [
            ({"k%d" % i: "v" for i in range(33)}, "metadata: at most 32 entries (got 33)"),
            ({"bad key": "v"}, 'metadata: key "bad key" must be 1 to 64 characters of A-Z a-z 0-9 _ . -'),
            ({"": "v"}, 'metadata: key "" must be 1 to 64 characters of A-Z a-z 0-9 _ . -'),
            ({"k" * 65: "v"}, 'metadata: key "%s" must be 1 to 64 characters of A-Z a-z 0-9 _ . -' % ("k" * 65)),
            ({"user": "v" * 257}, 'metadata: the value of "user" is 257 bytes (at most 256)'),
        ]
        for meta, details in cases:
            with self.subTest(details=details):
                refused(lambda: self.run_with(meta), grpc.StatusCode.INVALID_ARGUMENT, details)


class CleanupSessions(unittest.TestCase):
    def test_cleanup_destroys_every_session(self):
        d = Daemon()
        try:
            for sid in ("c-one", "c-two"):
                r = d.execute(PB.ExecuteRequest(runtime="python", code="x = 1", session_id=sid), timeout=120)
                self.assertEqual(r.exit_code, 0, r.stderr)
            held = {s.container_id for s in d.list_sessions(ADMIN.ListSessionsRequest(), timeout=30).sessions}
            self.assertEqual(len(held), 2)
            # without sessions they stay
            r = d.cleanup(ADMIN.CleanupRequest(), timeout=60)
            self.assertEqual((r.removed_sessions, r.failed_sessions), (0, 0))
            self.assertEqual(len(d.list_sessions(ADMIN.ListSessionsRequest(), timeout=30).sessions), 2)
            r = d.cleanup(ADMIN.CleanupRequest(sessions=True), timeout=60)
            self.assertEqual((r.removed_sessions, r.failed_sessions, r.failed_containers, r.failed_images),
                             (2, 0, 0, 0))
            self.assertEqual(list(r.errors), [])
            self.assertEqual(len(d.list_sessions(ADMIN.ListSessionsRequest(), timeout=30).sessions), 0)
            deadline = time.time() + 60
            while time.time() < deadline and held & set(d.containers()):
                time.sleep(0.2)
            self.assertEqual(held & set(d.containers()), set())  # their sandboxes went too
            r = d.execute(PB.ExecuteRequest(runtime="python", code="print(x)", session_id="c-one"), timeout=120)
            self.assertNotEqual(r.exit_code, 0)  # a new session: x is gone
            self.assertIn(b"NameError", r.stderr)
            self.assertIn("cleanup removed 2 sessions, 0 containers, 0 images; failed 0 sessions, 0 containers, "
                          "0 images", d.log_text())
        finally:
            self.assertEqual(d.stop(), 0)


if __name__ == "__main__":
    result = unittest.main(exit=False, verbosity=2).result
    failed = len(result.failures) + len(result.errors)
    print("%d passed, %d failed" % (result.testsRun - failed, failed))
    sys.exit(1 if failed or result.testsRun == 0 else 0)

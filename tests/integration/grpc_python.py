#!/usr/bin/python3
"""isol8d from another language: Python grpcio over TCP with an API key.

Generates the Python message modules from api/ with protoc into a temporary
directory, starts a private isol8d listening on 127.0.0.1, and calls it the
way any gRPC user would.
"""
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest

import grpc

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
import protos  # noqa: E402

SOURCE = os.environ["ISOL8_SOURCE_DIR"]
ISOL8D = os.environ["ISOL8D"]
KEY = "python-test-key"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Isol8dOverTcp(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="isol8-py.")
        cls.pb, cls.health = protos.generate(cls.tmp, "isol8/v1/isol8.proto", "grpc/health/v1/health.proto",
                                             source=SOURCE)
        cls.port = free_port()
        cls.socket = os.path.join(cls.tmp, "isol8.sock")
        cls.log = open(os.path.join(cls.tmp, "isol8d.log"), "w")
        cls.daemon = subprocess.Popen(
            [ISOL8D, "--socket", cls.socket, "--listen", "127.0.0.1:%d" % cls.port, "--key", KEY],
            stdout=cls.log, stderr=subprocess.STDOUT)
        cls.channel = grpc.insecure_channel("127.0.0.1:%d" % cls.port)
        grpc.channel_ready_future(cls.channel).result(timeout=15)

    @classmethod
    def tearDownClass(cls):
        cls.channel.close()
        cls.daemon.send_signal(signal.SIGTERM)
        code = cls.daemon.wait(timeout=60)
        cls.log.close()
        left = subprocess.run(["docker", "ps", "-aq", "--filter", "label=isol8.owner=" + cls.socket],
                              capture_output=True, text=True, check=True).stdout.strip()
        assert code == 0, "isol8d exited %d" % code
        assert left == "", "containers left behind: " + left

    def call(self, method, request, response_type, key=KEY, stream=False):
        path = "/isol8.v1.Isol8/" + method
        kind = self.channel.unary_stream if stream else self.channel.unary_unary
        rpc = kind(path, request_serializer=lambda m: m.SerializeToString(),
                   response_deserializer=response_type.FromString)
        metadata = [("authorization", "Bearer " + key)] if key is not None else []
        return rpc(request, metadata=metadata, timeout=60)

    def execute(self, **fields):
        return self.call("Execute", self.pb.ExecuteRequest(**fields), self.pb.ExecuteResult)

    def test_execute_hello(self):
        result = self.execute(code="print('hello isol8')", runtime="python")
        self.assertEqual(result.stdout, b"hello isol8")
        self.assertEqual(result.exit_code, 0)
        self.assertEqual(result.runtime, "python")
        self.assertTrue(result.execution_id)
        self.assertTrue(result.container_id)
        self.assertTrue(result.timestamp.endswith("Z"))

    def test_five_runtimes(self):
        cases = {
            "python": "print('hello from python')",
            "node": "console.log('hello from node')",
            "bun": "const who: string = 'bun'; console.log(`hello from ${who}`)",
            "deno": "const who: string = 'deno'; console.log(`hello from ${who}`)",
            "bash": "echo hello from bash",
        }
        for runtime, code in cases.items():
            with self.subTest(runtime=runtime):
                result = self.execute(code=code, runtime=runtime)
                self.assertEqual(result.stdout.decode(), "hello from %s" % runtime)
                self.assertEqual(result.exit_code, 0)

    def test_read_only_root(self):
        result = self.execute(code="echo x > /etc/x", runtime="bash")
        self.assertNotEqual(result.exit_code, 0)
        self.assertIn(b"/etc/x", result.stderr)

    def test_exit_code_and_stderr(self):
        result = self.execute(code="import sys; print('e', file=sys.stderr); sys.exit(42)", runtime="python")
        self.assertEqual(result.exit_code, 42)
        self.assertEqual(result.stderr, b"e")
        self.assertEqual(result.stdout, b"")

    def test_stdin(self):
        result = self.execute(code="cat", runtime="bash", stdin=b"from stdin")
        self.assertEqual(result.stdout, b"from stdin")

    def test_timeout_is_a_result(self):
        result = self.execute(code="while True: pass", runtime="python", timeout_ms=1000)
        self.assertTrue(result.timed_out)
        self.assertLess(result.duration_ms, 5000)

    def test_sandbox_identity(self):
        result = self.execute(code="id -u; grep -E '^(NoNewPrivs|CapEff)' /proc/self/status; ls /sys/class/net",
                              runtime="bash")
        lines = result.stdout.decode().splitlines()
        self.assertEqual(lines[0], "1000")
        self.assertIn("NoNewPrivs:\t1", lines)
        self.assertIn("CapEff:\t0000000000000000", lines)
        self.assertEqual(lines[-1], "lo")

    def test_stream(self):
        events = list(self.call("ExecuteStream",
                                self.pb.ExecuteRequest(code="for i in range(3): print(i)", runtime="python"),
                                self.pb.ExecuteEvent, stream=True))
        out = b"".join(e.stdout for e in events if e.WhichOneof("event") == "stdout")
        self.assertEqual(out, b"0\n1\n2\n")
        self.assertEqual(events[-1].WhichOneof("event"), "exit")
        self.assertEqual(events[-1].exit.exit_code, 0)

    def test_bad_runtime_is_invalid_argument(self):
        with self.assertRaises(grpc.RpcError) as ctx:
            self.execute(code="x", runtime="ruby")
        self.assertEqual(ctx.exception.code(), grpc.StatusCode.INVALID_ARGUMENT)
        self.assertIn("python, node, bun, deno, bash", ctx.exception.details())

    def test_wrong_key(self):
        with self.assertRaises(grpc.RpcError) as ctx:
            self.call("Execute", self.pb.ExecuteRequest(code="print(1)", runtime="python"),
                      self.pb.ExecuteResult, key="wrong")
        self.assertEqual(ctx.exception.code(), grpc.StatusCode.UNAUTHENTICATED)

    def test_missing_key(self):
        with self.assertRaises(grpc.RpcError) as ctx:
            self.call("Execute", self.pb.ExecuteRequest(code="print(1)", runtime="python"),
                      self.pb.ExecuteResult, key=None)
        self.assertEqual(ctx.exception.code(), grpc.StatusCode.UNAUTHENTICATED)

    def test_file_methods_need_the_key(self):
        put = self.channel.stream_unary("/isol8.v1.Isol8/PutFile", request_serializer=lambda m: m.SerializeToString(),
                                        response_deserializer=self.pb.PutFileResult.FromString)
        chunk = self.pb.PutFileChunk(session_id="nobody", path="/sandbox/x", data=b"x")
        get = self.pb.GetFileRequest(session_id="nobody", path="/sandbox/x")
        for key, code in ((None, grpc.StatusCode.UNAUTHENTICATED), ("wrong", grpc.StatusCode.UNAUTHENTICATED),
                          (KEY, grpc.StatusCode.NOT_FOUND)):
            metadata = [("authorization", "Bearer " + key)] if key is not None else []
            with self.assertRaises(grpc.RpcError) as ctx:
                put(iter([chunk]), metadata=metadata, timeout=60)
            self.assertEqual(ctx.exception.code(), code, key)
            with self.assertRaises(grpc.RpcError) as ctx:
                list(self.call("GetFile", get, self.pb.FileChunk, key=key, stream=True))
            self.assertEqual(ctx.exception.code(), code, key)

    def test_session_round_trip(self):
        """A whole agent loop over TCP: create a session, upload a CSV, define a
        function in one call and use it in the next, write a file, download it,
        destroy the session."""
        sid = "py-%d" % random.randrange(1 << 30)
        metadata = [("authorization", "Bearer " + KEY)]
        r = self.execute(runtime="python", code="import csv", session_id=sid)
        self.assertEqual((r.exit_code, r.session_id), (0, sid), r.stderr)
        put = self.channel.stream_unary("/isol8.v1.Isol8/PutFile", request_serializer=lambda m: m.SerializeToString(),
                                        response_deserializer=self.pb.PutFileResult.FromString)
        csv_bytes = b"name,age\nAlice,30\nBob,25\n"
        sent = put(iter([self.pb.PutFileChunk(session_id=sid, path="/sandbox/data.csv", data=csv_bytes[:9]),
                         self.pb.PutFileChunk(data=csv_bytes[9:])]), metadata=metadata, timeout=60)
        self.assertEqual(sent.size, len(csv_bytes))
        r = self.execute(runtime="python", session_id=sid,
                         code="def total(p):\n    return sum(int(r['age']) for r in csv.DictReader(open(p)))\n")
        self.assertEqual(r.exit_code, 0, r.stderr)
        r = self.execute(runtime="python", session_id=sid,
                         code="t = total('/sandbox/data.csv')\nopen('/sandbox/out.txt', 'w').write(str(t))\nprint(t)")
        self.assertEqual((r.exit_code, r.stdout, r.state_reset), (0, b"55", False), r.stderr)
        got = b"".join(c.data for c in self.call("GetFile", self.pb.GetFileRequest(session_id=sid, path="/sandbox/out.txt"),
                                                 self.pb.FileChunk, stream=True))
        self.assertEqual(got, b"55")
        d = self.call("DestroySession", self.pb.DestroySessionRequest(session_id=sid), self.pb.DestroySessionResult)
        self.assertTrue(d.destroyed)
        d = self.call("DestroySession", self.pb.DestroySessionRequest(session_id=sid), self.pb.DestroySessionResult)
        self.assertFalse(d.destroyed)
        with self.assertRaises(grpc.RpcError) as ctx:
            list(self.call("GetFile", self.pb.GetFileRequest(session_id=sid, path="/sandbox/out.txt"),
                           self.pb.FileChunk, stream=True))
        self.assertEqual(ctx.exception.code(), grpc.StatusCode.NOT_FOUND)

    def test_health(self):
        rpc = self.channel.unary_unary("/grpc.health.v1.Health/Check",
                                       request_serializer=lambda m: m.SerializeToString(),
                                       response_deserializer=self.health.HealthCheckResponse.FromString)
        response = rpc(self.health.HealthCheckRequest(service=""), timeout=10)
        self.assertEqual(response.status, self.health.HealthCheckResponse.SERVING)


if __name__ == "__main__":
    result = unittest.main(exit=False, verbosity=2).result
    failed = len(result.failures) + len(result.errors)
    print("%d passed, %d failed" % (result.testsRun - failed, failed))
    sys.exit(1 if failed or result.testsRun == 0 else 0)

#!/usr/bin/python3
"""isol8-gateway from the outside, with curl (and raw sockets where curl would
tidy the request up), against a private isol8d and the real Docker engine:

  - every endpoint: success, each error status, the auth cases (no header:
    401 and its exact body, a wrong key: 403 and its exact body, /health
    without auth; a gateway without a key of its own forwarding the caller's
    key to a TCP isol8d, which refuses a wrong one);
  - SSE framing as `curl -N` receives it, events arriving while the program
    runs;
  - a client that disconnects mid-stream (SSE, and a WebSocket) stops its
    program: a session program appends to /sandbox/ticks every 50 ms; after
    the disconnect two reads of the file through GET /file, 1 s apart, are
    equal (and two reads before it differed);
  - a 10 MiB upload round trip (SHA-256 equal, in the sandbox too);
  - 256 concurrent SSE streams on loopback, each getting start, end and exit
    (isol8d runs with --max-concurrent 64: 64 run at once, the others wait in
    its queue of 4 x 64; its gRPC call limit is 5 x 64 + 16);
  - malformed JSON, wrong types, an unknown runtime, a 1 GiB Content-Length
    (413 before the body, within a second), a 64 KiB header, a 64 KiB URL,
    bytes that are not HTTP: each a clean 4xx and the gateway serving on;
    a request whose headers or body stall is dropped after
    --request-timeout-ms;
  - wrk against /health and /execute for 3 s each, twice: no non-2xx answer,
    no socket error, and the gateway's RSS after the second run within 4 MiB
    of the first (plus ASan's quarantine in a sanitizer build).
"""
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
import gateway  # noqa: E402
from gateway import KEY, b64, unb64, sha256  # noqa: E402

TMP = tempfile.mkdtemp(prefix="isol8-gw-http.")
MIB = 1 << 20
STREAMS = 256
MISSING_BODY = {"error": "Missing Authorization header"}
INVALID_KEY = {"error": "Invalid API key"}


class Curl:
    """curl against one gateway: (status, headers, body) of the last answer."""

    def __init__(self, port):
        self.base = "http://127.0.0.1:%d" % port

    def run(self, *args, key=KEY, data=None, data_file=None, timeout=60):
        cmd = ["curl", "-sS", "-i", "--max-time", str(timeout), "-H", "Expect:"]
        if key is not None:
            cmd += ["-H", "Authorization: Bearer " + key]
        if data is not None:
            cmd += ["-H", "Content-Type: application/json", "--data-binary",
                    data if isinstance(data, str) else json.dumps(data)]
        if data_file is not None:
            cmd += ["-H", "Content-Type: application/json", "--data-binary", "@" + data_file]
        args = list(args)
        args[-1] = self.base + args[-1]
        r = subprocess.run(cmd + args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout + 10)
        if r.returncode != 0:
            raise AssertionError("curl %s failed (%d): %s" % (" ".join(args), r.returncode, r.stderr.decode()))
        return parse_http(r.stdout)

    def json(self, *args, status=200, **kw):
        st, headers, body = self.run(*args, **kw)
        if st != status:
            raise AssertionError("%s: %d, expected %d: %r" % (" ".join(args), st, status, body[:400]))
        if headers.get("content-type", "").split(";")[0] != "application/json":
            raise AssertionError("%s: Content-Type %r" % (" ".join(args), headers.get("content-type")))
        return json.loads(body)


def parse_http(raw):
    """The last answer of curl -i output (1xx blocks skipped)."""
    while True:
        head, _, rest = raw.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        if 100 <= status < 200 and status != 101:
            raw = rest
            continue
        headers = {}
        for line in lines[1:]:
            k, _, v = line.partition(":")
            headers[k.strip().lower()] = v.strip()
        return status, headers, rest


def raw_request(port, data, timeout=5):
    """(status, body, seconds to the answer); status 0 when the connection
    closed without one."""
    r, took = gateway.raw_request(port, data, timeout=timeout)
    return (r.status, r.body, took) if r else (0, b"", took)


def tcp_connections(port):
    """Established TCP connections to 127.0.0.1:port (the server's side)."""
    n = 0
    with open("/proc/net/tcp") as f:
        for line in f.readlines()[1:]:
            fields = line.split()
            local, state = fields[1], fields[3]
            if state == "01" and local.endswith(":%04X" % port):
                n += 1
    return n


class Http(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tcp_port = gateway.free_port()
        cls.s = gateway.Stack(os.path.join(TMP, "stack"),
                              daemon_flags=("--prewarm", "1", "--max-concurrent", "64",
                                            "--listen", "127.0.0.1:%d" % cls.tcp_port))
        cls.curl = Curl(cls.s.port)
        cls.http = cls.s.client()

    @classmethod
    def tearDownClass(cls):
        cls.s.stop()

    def tearDown(self):
        self.assertTrue(self.s.gateway.alive(), "the gateway died (log: %s)" % self.s.gateway.log_path)
        self.assertEqual(self.curl.json("/health", key=None)["status"], "ok")

    # --- every endpoint, with curl

    def test_every_endpoint(self):
        c, sid = self.curl, "curl-endpoints"
        try:
            health = c.json("/health", key=None)
            self.assertEqual(health["status"], "ok")
            self.assertRegex(health["version"], r"^\d+\.\d+\.\d+")
            r = c.json("-X", "POST", "/execute", data={"request": {"runtime": "python", "code": "print(6*7)"}})
            self.assertEqual((r["stdout"], r["exitCode"], r["runtime"]), ("42", 0, "python"))
            r = c.json("-X", "POST", "/execute", data={"request": {"runtime": "bash", "code": "echo $((1+1)) > f; cat f"},
                                                      "sessionId": sid})
            self.assertEqual(r["stdout"], "2")
            self.assertEqual(c.json("-X", "POST", "/file", data={"sessionId": sid, "path": "/sandbox/up.txt",
                                                                 "content": b64(b"hello\n")}), {"ok": True})
            self.assertEqual(unb64(c.json("/file?sessionId=%s&path=/sandbox/up.txt" % sid)["content"]), b"hello\n")
            self.assertEqual(unb64(c.json("/file?sessionId=%s&path=%%2Fsandbox%%2Ff" % sid)["content"]), b"2\n")
            listed = c.json("/sessions")["sessions"]
            mine = [x for x in listed if x["id"] == sid]
            self.assertEqual(len(mine), 1, listed)
            self.assertEqual(set(mine[0]) >= {"id", "isActive", "lastAccessedAt"}, True)
            self.assertEqual(c.json("-X", "DELETE", "/session/" + sid), {"ok": True})
            self.assertEqual(c.json("-X", "DELETE", "/session/" + sid), {"ok": True})
            self.assertNotIn(sid, [x["id"] for x in c.json("/sessions")["sessions"]])
            r = c.json("-X", "POST", "/cleanup", data={"images": False})
            self.assertEqual(r["ok"], True)
            self.assertEqual(set(r), {"ok", "sessions", "containers"})
            # the WebSocket upgrade
            st, headers, _ = self.ws_upgrade()
            self.assertEqual(st, 101)
            self.assertEqual(headers.get("sec-websocket-accept"), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")
        finally:
            c.run("-X", "DELETE", "/session/" + sid)

    def ws_upgrade(self):
        """curl's view of the upgrade: the 101 head (curl then holds the
        connection open; --max-time ends it)."""
        cmd = ["curl", "-sS", "-i", "-N", "--max-time", "2", "-H", "Authorization: Bearer " + KEY,
               "-H", "Connection: Upgrade", "-H", "Upgrade: websocket", "-H", "Sec-WebSocket-Version: 13",
               "-H", "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==", self.curl.base + "/execute/ws"]
        r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=20)
        self.assertIn(r.returncode, (0, 28), r.stderr)  # 28: --max-time with the connection open
        return parse_http(r.stdout)

    def test_auth(self):
        c = self.curl
        for path, method in (("/execute", "POST"), ("/execute/stream", "POST"), ("/file", "POST"),
                             ("/file?sessionId=a&path=/b", "GET"), ("/session/a", "DELETE"), ("/sessions", "GET"),
                             ("/cleanup", "POST"), ("/execute/ws", "GET")):
            with self.subTest(path=path):
                st, headers, body = c.run("-X", method, path, key=None)
                self.assertEqual((st, json.loads(body)), (401, MISSING_BODY))
                self.assertEqual(body, b'{"error":"Missing Authorization header"}')
                st, _, body = c.run("-X", method, path, key="wrong-key")
                self.assertEqual((st, body), (403, b'{"error":"Invalid API key"}'))
        st, _, body = c.run("-H", "Authorization: Basic Zm9vOmJhcg==", "/sessions", key=None)
        self.assertEqual(st, 401, body)
        st, _, body = c.run("-H", "Authorization: bearer " + KEY, "/sessions", key=None)  # scheme: any case
        self.assertEqual(st, 200, body)
        self.assertEqual(c.json("/health", key=None)["status"], "ok")
        self.assertEqual(c.json("/health", key="wrong-key")["status"], "ok")

    def test_forwarded_key(self):
        """A gateway without --key hands each caller's key to isol8d (here over
        TCP with --key), which decides."""
        g = gateway.Gateway(os.environ["ISOL8_GATEWAY"], "127.0.0.1:%d" % self.tcp_port,
                            os.path.join(TMP, "forward.log"), key=None)
        try:
            c = Curl(g.port)
            body = {"request": {"runtime": "bash", "code": "echo fwd"}}
            self.assertEqual(c.json("-X", "POST", "/execute", data=body)["stdout"], "fwd")
            st, _, raw = c.run("-X", "POST", "/execute", data=body, key="wrong-key")
            self.assertEqual((st, json.loads(raw)), (403, INVALID_KEY))
            st, _, raw = c.run("-X", "POST", "/execute", data=body, key=None)
            self.assertEqual((st, json.loads(raw)), (401, MISSING_BODY))
            self.assertEqual(c.json("/health", key=None)["status"], "ok")
        finally:
            self.assertEqual(g.stop(), 0)

    def test_error_statuses(self):
        c, sid = self.curl, "curl-errors"
        cases = [
            (400, ("-X", "POST", "/execute"), {"data": "{\"request\": "}, "body: not valid JSON"),
            (400, ("-X", "POST", "/execute"), {"data": {"request": {"runtime": "python", "code": ["x"]}}},
             "request.code: expected a string"),
            (400, ("-X", "POST", "/execute"), {"data": {"request": {"runtime": "ruby", "code": "puts 1"}}},
             'request.runtime: unknown runtime "ruby"'),
            (400, ("-X", "POST", "/execute"), {"data": {"options": {}}}, "request: required"),
            (400, ("-X", "POST", "/execute/stream"), {"data": {"request": {"runtime": 5}}},
             "request.runtime: expected a string"),
            (400, ("-X", "POST", "/file"), {"data": {"path": "/sandbox/x", "content": ""}}, "sessionId"),
            (400, ("/file?path=/sandbox/x",), {}, "Missing sessionId or path"),
            (400, ("-X", "POST", "/cleanup"), {"data": {"images": 1}}, "images"),
            (404, ("/file?sessionId=nobody&path=/sandbox/x",), {}, None),
            (404, ("-X", "POST", "/file"), {"data": {"sessionId": "nobody", "path": "/sandbox/x", "content": ""}},
             None),
            (404, ("/no/such/path",), {}, None),
            (405, ("-X", "PUT", "/execute"), {}, None),
            (405, ("-X", "DELETE", "/sessions"), {}, None),
            (400, ("-X", "POST", "/execute"), {"data": {"request": {"runtime": "python", "code": "1",
                                                                    "installPackages": ["-e."]}}},
             "request.installPackages"),
        ]
        for status, args, kw, text in cases:
            with self.subTest(status=status, args=args):
                body = c.json(*args, status=status, **kw)
                self.assertEqual(set(body), {"error"})
                if text:
                    self.assertIn(text, body["error"])
        st, headers, _ = c.run("-X", "PUT", "/execute")
        self.assertEqual(headers.get("allow"), "POST")
        # 409: another runtime in a session; a call that waits past its timeout for a busy one
        try:
            c.json("-X", "POST", "/execute", data={"request": {"runtime": "python", "code": "1"}, "sessionId": sid})
            c.json("-X", "POST", "/execute", status=409,
                   data={"request": {"runtime": "node", "code": "1"}, "sessionId": sid})
            busy = subprocess.Popen(["curl", "-sS", "-H", "Authorization: Bearer " + KEY, "--data-binary", json.dumps(
                {"request": {"runtime": "python", "code": "import time; time.sleep(2.5)"}, "sessionId": sid}),
                c.base + "/execute"], stdout=subprocess.PIPE)
            self.assertTrue(gateway.wait_for(lambda: [x for x in c.json("/sessions")["sessions"]
                                                      if x["id"] == sid and x["isActive"]], 10))
            c.json("-X", "POST", "/execute", status=409,
                   data={"request": {"runtime": "python", "code": "1", "timeoutMs": 300}, "sessionId": sid})
            out, _ = busy.communicate(timeout=30)
            self.assertEqual(json.loads(out)["exitCode"], 0)
        finally:
            c.run("-X", "DELETE", "/session/" + sid)

    # --- SSE

    def test_sse_framing_with_curl_n(self):
        body = json.dumps({"request": {"runtime": "bash", "code": "echo start; sleep 1.5; echo end >&2; exit 3"}})
        p = subprocess.Popen(["curl", "-sS", "-N", "-H", "Authorization: Bearer " + KEY, "-H",
                              "Content-Type: application/json", "--data-binary", body,
                              self.curl.base + "/execute/stream"], stdout=subprocess.PIPE)
        start = time.monotonic()
        first = p.stdout.readline()
        first_at = time.monotonic() - start
        rest = p.stdout.read()
        end_at = time.monotonic() - start
        p.stdout.close()
        p.wait(timeout=30)
        self.assertEqual(p.returncode, 0)
        raw = (first + rest).decode()
        self.assertEqual(raw, 'data: {"type":"stdout","data":"start\\n","phase":"code"}\n\n'
                              'data: {"type":"stderr","data":"end\\n","phase":"code"}\n\n'
                              'data: {"type":"exit","data":"3","phase":"code"}\n\n')
        self.assertLess(first_at + 1.0, end_at, "the first event did not come before the program ended")
        # headers
        st, headers, _ = self.curl.run("-N", "-X", "POST", "/execute/stream",
                                       data={"request": {"runtime": "bash", "code": "true"}})
        self.assertEqual(st, 200)
        self.assertEqual(headers["content-type"], "text/event-stream")
        self.assertEqual(headers.get("cache-control"), "no-cache")

    def test_disconnect_mid_stream_stops_the_program(self):
        c = self.curl
        tick = "while true; do date +%s.%N >> /sandbox/ticks; echo tick; sleep 0.05; done"

        def sse(sid):
            body = json.dumps({"sessionId": sid, "request": {"runtime": "bash", "timeoutMs": 60000, "code": tick}})
            p = subprocess.Popen(["curl", "-sS", "-N", "-H", "Authorization: Bearer " + KEY, "--data-binary", body,
                                  c.base + "/execute/stream"], stdout=subprocess.PIPE)
            for _ in range(6):  # 3 events (a data line and a blank line each)
                self.assertTrue(p.stdout.readline())

            def leave():
                p.send_signal(signal.SIGKILL)
                p.wait()
                p.stdout.close()
            return leave

        def websocket(sid):
            ws = gateway.WebSocket(self.s.port)
            ws.send_json({"type": "execute", "sessionId": sid,
                          "request": {"runtime": "bash", "timeoutMs": 60000, "code": tick}})
            for _ in range(3):
                self.assertEqual(json.loads(ws.recv())["data"], "tick\n")
            return ws.close  # no close frame: the TCP connection just ends

        for name, start in (("sse", sse), ("websocket", websocket)):
            with self.subTest(transport=name):
                self.disconnect_stops(name, start)

    def disconnect_stops(self, name, start):
        sid = "curl-disconnect-" + name
        c = self.curl
        ticks = "/file?sessionId=%s&path=/sandbox/ticks" % sid

        def size():
            return len(unb64(c.json(ticks)["content"]))

        try:
            c.json("-X", "POST", "/execute", data={"request": {"runtime": "bash", "code": ": > /sandbox/ticks"},
                                                   "sessionId": sid})
            leave = start(sid)
            a = size()
            time.sleep(0.5)
            b = size()
            self.assertGreater(b, a, "the program's ticks did not grow while it streamed")
            leave()
            time.sleep(1.0)  # the cancel reaches isol8d, the program dies
            a = size()
            time.sleep(1.0)
            b = size()
            self.assertEqual(a, b, "the program went on after its client left")
            # the session is free again and works
            self.assertTrue(gateway.wait_for(lambda: [x for x in c.json("/sessions")["sessions"]
                                                      if x["id"] == sid and not x["isActive"]], 10))
            r = c.json("-X", "POST", "/execute", data={"request": {"runtime": "bash", "code": "echo alive"},
                                                       "sessionId": sid})
            self.assertEqual(r["stdout"], "alive")
        finally:
            c.run("-X", "DELETE", "/session/" + sid)

    # --- a 10 MiB file

    def test_10_mib_upload_round_trip(self):
        sid = "curl-10mib"
        data = os.urandom(10 * MIB)
        path = os.path.join(TMP, "up.json")
        with open(path, "w") as f:
            json.dump({"sessionId": sid, "path": "/sandbox/big.bin", "content": b64(data)}, f)
        c = self.curl
        try:
            c.json("-X", "POST", "/execute", data={"request": {"runtime": "bash", "code": "true"}, "sessionId": sid})
            self.assertEqual(c.json("-X", "POST", "/file", data_file=path, timeout=120), {"ok": True})
            r = c.json("-X", "POST", "/execute", data={"request": {"runtime": "bash", "code":
                                                                   "sha256sum /sandbox/big.bin"}, "sessionId": sid})
            self.assertEqual(r["stdout"].split()[0], sha256(data))
            back = unb64(c.json("/file?sessionId=%s&path=/sandbox/big.bin" % sid, timeout=120)["content"])
            self.assertEqual(len(back), len(data))
            self.assertEqual(sha256(back), sha256(data))
            # one byte past --max-body-size (10m), decoded: 413
            with open(path, "w") as f:
                json.dump({"sessionId": sid, "path": "/sandbox/big2.bin", "content": b64(data + b"x")}, f)
            body = c.json("-X", "POST", "/file", data_file=path, status=413, timeout=120)
            self.assertIn("--max-body-size", body["error"])
        finally:
            c.run("-X", "DELETE", "/session/" + sid)

    # --- 256 streams at once

    def test_256_concurrent_streams(self):
        barrier = threading.Barrier(STREAMS, timeout=60)
        results = [None] * STREAMS
        open_now = [0, 0]  # open, most open at once
        lock = threading.Lock()
        body = json.dumps({"request": {"runtime": "bash", "code": "echo start; sleep 2; echo end",
                                       "timeoutMs": 120000}}).encode()

        def one(i):
            try:
                conn = self.http.connect(timeout=180)
                conn.connect()
                barrier.wait()
                conn.request("POST", "/execute/stream", body=body, headers=self.http.headers(None, body))
                with lock:
                    open_now[0] += 1
                    open_now[1] = max(open_now[1], open_now[0])
                r = conn.getresponse()
                if r.status != 200:
                    results[i] = ("status", r.status, r.read()[:200])
                    return
                events = list(gateway.SseReader(r).events())
                with lock:
                    open_now[0] -= 1
                results[i] = events
                conn.close()
            except Exception as e:  # noqa: BLE001 (reported below)
                results[i] = ("exception", repr(e))

        threads = [threading.Thread(target=one, args=(i,)) for i in range(STREAMS)]
        start = time.monotonic()
        for t in threads:
            t.start()
        peak = 0
        while any(t.is_alive() for t in threads):
            peak = max(peak, tcp_connections(self.s.port))
            time.sleep(0.05)
        elapsed = time.monotonic() - start
        want = [{"type": "stdout", "data": "start\n", "phase": "code"},
                {"type": "stdout", "data": "end\n", "phase": "code"},
                {"type": "exit", "data": "0", "phase": "code"}]
        bad = [(i, r) for i, r in enumerate(results) if r != want]
        self.assertEqual(bad[:3], [], "%d of %d streams went wrong" % (len(bad), STREAMS))
        self.assertEqual(open_now[1], STREAMS, "never all %d open at once" % STREAMS)
        self.assertGreaterEqual(peak, STREAMS, "the gateway never held %d connections" % STREAMS)
        print("\n256 streams: %.1f s, %d connections at the peak, gateway RSS %d KiB" %
              (elapsed, peak, self.s.gateway.rss_kb()), file=sys.stderr)

    # --- bad input, and serving on

    def test_bad_input_is_a_clean_4xx(self):
        port = self.s.port
        auth = "Authorization: Bearer %s\r\n" % KEY
        # a Content-Length of 1 GiB and a small body: 413 before reading it
        for path in ("/execute", "/execute/stream", "/file", "/cleanup"):
            with self.subTest(path=path):
                st, body, took = raw_request(port, ("POST %s HTTP/1.1\r\nHost: x\r\n%sContent-Type: application/json"
                                                    "\r\nContent-Length: %d\r\n\r\n{}" % (path, auth, 1 << 30))
                                             .encode())
                self.assertEqual(st, 413, body)
                self.assertLess(took, 1.0)
                self.assertIn("--max-body-size", json.loads(body)["error"])
        # a 64 KiB header; a 64 KiB URL
        st, body, _ = raw_request(port, ("GET /health HTTP/1.1\r\nHost: x\r\nX-Big: %s\r\n\r\n" % ("h" * (64 << 10)))
                                  .encode())
        self.assertEqual(st, 431, body)
        st, body, _ = raw_request(port, ("GET /health?%s HTTP/1.1\r\nHost: x\r\n\r\n" % ("u" * (64 << 10))).encode())
        self.assertEqual(st, 414, body)
        # not HTTP at all
        st, _, _ = raw_request(port, b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + os.urandom(64) + b"\r\n\r\n")
        self.assertIn(st, (0, 400))
        # curl: malformed JSON, wrong types, unknown runtime, a big chunked body
        c = self.curl
        for data, text in (("{]", "not valid JSON"), ('"just a string"', "expected a JSON object"),
                           ({"request": {"runtime": "python", "code": "1", "files": {"a": 1}}}, "request.files.a"),
                           ({"request": {"runtime": "python", "code": "1"}, "options": {"cpuLimit": "lots"}},
                            "options.cpuLimit"),
                           ({"request": {"runtime": "brainfuck", "code": "+"}}, "unknown runtime")):
            with self.subTest(data=data):
                self.assertIn(text, c.json("-X", "POST", "/execute", data=data, status=400)["error"])
                self.assertEqual(c.json("/health", key=None)["status"], "ok")
        big = os.path.join(TMP, "big.json")
        with open(big, "w") as f:
            f.write('{"request":{"runtime":"python","code":"' + "#" * (11 * MIB) + '"}}')
        st, _, raw = c.run("-X", "POST", "-H", "Transfer-Encoding: chunked", "-H", "Content-Type: application/json",
                           "--data-binary", "@" + big, "/execute", timeout=60)
        self.assertEqual(st, 413, raw[:200])
        self.assertEqual(c.json("/health", key=None)["status"], "ok")

    def test_slow_senders_are_dropped(self):
        """A request whose headers or body stall past --request-timeout-ms is
        closed (here 1 s; libmicrohttpd's idle timeout rounds up to seconds)."""
        g = gateway.Gateway(os.environ["ISOL8_GATEWAY"], "unix:" + self.s.daemon.socket,
                            os.path.join(TMP, "slow.log"), flags=("--request-timeout-ms", "1000"))
        try:
            auth = "Authorization: Bearer %s\r\n" % KEY
            for what, data in (("headers", "POST /execute HTTP/1.1\r\nHost: x\r\n%s" % auth),
                               ("body", "POST /execute HTTP/1.1\r\nHost: x\r\n%sContent-Length: 100\r\n\r\n{\"req"
                                % auth)):
                with self.subTest(stalled=what):
                    st, _, took = raw_request(g.port, data.encode(), timeout=10)
                    self.assertEqual(st, 0)
                    self.assertLess(took, 4.0, "a stalled request held its connection %.1f s" % took)
            self.assertEqual(Curl(g.port).json("/health")["status"], "ok")
        finally:
            self.assertEqual(g.stop(), 0)

    # --- load

    def wrk(self, path, script=None, connections=8):
        if shutil.which("wrk") is None:
            self.fail("wrk is not installed (deploy/setup.sh installs it)")
        cmd = ["wrk", "-t", "2", "-c", str(connections), "-d", "3s", "--timeout", "10s"]
        if script:
            cmd += ["-s", script]
        r = subprocess.run(cmd + [self.curl.base + path], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=60)
        out = r.stdout.decode()
        self.assertEqual(r.returncode, 0, out + r.stderr.decode())
        self.assertNotIn("Non-2xx or 3xx responses", out, out)
        self.assertNotIn("Socket errors", out, out)
        m = re.search(r"(\d+) requests in", out)
        self.assertIsNotNone(m, out)
        self.assertGreater(int(m.group(1)), 10, out)
        return int(m.group(1)), out

    def test_wrk_load_and_memory(self):
        script = os.path.join(TMP, "execute.lua")
        with open(script, "w") as f:
            f.write('wrk.method = "POST"\n'
                    'wrk.headers["Content-Type"] = "application/json"\n'
                    'wrk.headers["Authorization"] = "Bearer %s"\n'
                    "wrk.body = '%s'\n" % (KEY, json.dumps({"request": {"runtime": "bash", "code": "echo hi"}})))
        g = self.s.gateway
        # a few MiB; in an ASan build its quarantine may fill on the way too
        slack = 4096 + (gateway.QUARANTINE_MB * 1024 if g.sanitized() else 0)
        for path, lua, conns in (("/health", None, 32), ("/execute", script, 8)):
            with self.subTest(path=path):
                n1, _ = self.wrk(path, lua, conns)
                rss1 = g.rss_kb()
                n2, out = self.wrk(path, lua, conns)
                rss2 = g.rss_kb()
                print("\nwrk %s: %d then %d requests in 3 s; gateway RSS %d -> %d KiB" % (path, n1, n2, rss1, rss2),
                      file=sys.stderr)
                self.assertLess(rss2 - rss1, slack, "the gateway grew %d KiB over a second run" % (rss2 - rss1))


if __name__ == "__main__":
    try:
        unittest.main(verbosity=2)
    finally:
        shutil.rmtree(TMP, ignore_errors=True)

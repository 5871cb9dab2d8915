#!/usr/bin/python3
"""A client of the original's HTTP wire contract, written against it alone in
Python's standard library (urllib), the way its TypeScript RemoteIsol8 is
written: Bearer auth and JSON on every call, `{"request","options","sessionId"}`
envelopes, SSE parsed line by line as the event-stream format says, files as
base64. It runs an agent's loop against the real gateway and isol8d:
health, execute, stream (events arriving while the program still runs),
a session whose state persists across calls, upload, a program working on
the upload, download byte-identical, list, destroy, and then GET /file 404.
The same short loop runs again in Node's fetch (tests/integration/
gateway_client.mjs, the original's own parsing code), where node is on the
host; without node only the Python loop runs, and the skip says so.
"""
import base64
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.error
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
import gateway  # noqa: E402  (only to start isol8d and the gateway)

TMP = tempfile.mkdtemp(prefix="isol8-gw-client.")


class RemoteError(Exception):
    def __init__(self, status, message):
        super().__init__("%d: %s" % (status, message))
        self.status = status
        self.message = message


class RemoteIsol8:
    """The original's RemoteIsol8, in Python: host, apiKey, optional sessionId,
    and Isol8Options sent with every execution."""

    def __init__(self, host, api_key, session_id=None, options=None):
        self.host = host.rstrip("/")
        self.api_key = api_key
        self.session_id = session_id
        self.options = options

    def _request(self, path, method="GET", body=None):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.host + path, data=data, method=method, headers={
            "Content-Type": "application/json", "Authorization": "Bearer " + self.api_key})
        try:
            return urllib.request.urlopen(req, timeout=120)
        except urllib.error.HTTPError as e:
            raw = e.read()
            try:
                message = json.loads(raw).get("error", e.reason)
            except ValueError:
                message = e.reason
            raise RemoteError(e.code, message) from None

    def _json(self, path, method="GET", body=None):
        with self._request(path, method, body) as r:
            return json.loads(r.read())

    def _envelope(self, req):
        body = {"request": req}
        if self.options is not None:
            body["options"] = self.options
        if self.session_id is not None:
            body["sessionId"] = self.session_id
        return body

    def start(self):
        with self._request("/health") as r:
            if r.status != 200:
                raise RuntimeError("Remote server health check failed: %d" % r.status)
            return json.loads(r.read())

    def stop(self):
        if self.session_id:
            self._json("/session/" + urllib.parse.quote(self.session_id, safe=""), "DELETE")

    def execute(self, req):
        return self._json("/execute", "POST", self._envelope(req))

    def execute_stream(self, req):
        """Yields StreamEvent dicts as they arrive (the event-stream format:
        `data:` lines gathered until a blank line, `:` comments skipped)."""
        with self._request("/execute/stream", "POST", self._envelope(req)) as r:
            ctype = r.headers.get("Content-Type", "")
            if not ctype.startswith("text/event-stream"):
                raise RuntimeError("Stream failed: Content-Type %r" % ctype)
            data = []
            while True:
                raw = r.readline()
                if not raw:
                    break
                line = raw.decode("utf-8").rstrip("\n").rstrip("\r")
                if line == "":
                    if data:
                        yield json.loads("\n".join(data))
                    data = []
                elif line.startswith(":"):
                    continue
                else:
                    field, _, value = line.partition(":")
                    if field == "data":
                        data.append(value[1:] if value.startswith(" ") else value)
            if data:
                raise RuntimeError("the stream ended inside an event: %r" % data)

    def put_file(self, path, content):
        if not self.session_id:
            raise RuntimeError("File operations require a sessionId (persistent mode)")
        if isinstance(content, str):
            content = content.encode()
        self._json("/file", "POST", {"sessionId": self.session_id, "path": path,
                                     "content": base64.b64encode(content).decode()})

    def get_file(self, path):
        if not self.session_id:
            raise RuntimeError("File operations require a sessionId (persistent mode)")
        query = urllib.parse.urlencode({"sessionId": self.session_id, "path": path})
        return base64.b64decode(self._json("/file?" + query)["content"])

    def list_sessions(self):
        return self._json("/sessions")["sessions"]

    def delete_session(self, session_id):
        self._json("/session/" + urllib.parse.quote(session_id, safe=""), "DELETE")


class AgentLoop(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.s = gateway.Stack(os.path.join(TMP, "stack"))
        cls.url = "http://127.0.0.1:%d" % cls.s.port

    @classmethod
    def tearDownClass(cls):
        cls.s.stop()

    def test_agent_loop(self):
        sid = "agent-%d" % os.getpid()
        agent = RemoteIsol8(self.url, gateway.KEY, session_id=sid, options={"timeoutMs": 30000, "network": "none"})
        health = agent.start()
        self.assertEqual(health["status"], "ok")

        # execute: a session whose interpreter state persists
        r = agent.execute({"runtime": "python", "code": "import math\nanswer = 41\nprint('defined')"})
        self.assertEqual((r["stdout"], r["exitCode"]), ("defined", 0), r)
        r = agent.execute({"runtime": "python", "code": "print(answer + 1, math.pi > 3)"})
        self.assertEqual(r["stdout"], "42 True", r)
        self.assertEqual(r["sessionId"], sid)

        # stream: events come while the program runs, exit last
        started = time.monotonic()
        arrivals = []
        for ev in agent.execute_stream({"runtime": "python", "code":
                                        "import sys, time\nprint('first', flush=True)\ntime.sleep(1.5)\n"
                                        "print('after', answer, file=sys.stderr, flush=True)"}):
            arrivals.append((time.monotonic() - started, ev))
        events = [ev for _, ev in arrivals]
        self.assertEqual(events[0], {"type": "stdout", "data": "first\n", "phase": "code"}, events)
        self.assertEqual(events[-1], {"type": "exit", "data": "0", "phase": "code"}, events)
        self.assertIn({"type": "stderr", "data": "after 41\n", "phase": "code"}, events)
        self.assertLess(arrivals[0][0] + 1.0, arrivals[-1][0], "the first event came only at the end: %r" % arrivals)

        # upload, work on it, download byte-identical
        rows = "".join("%d,%d\n" % (i, i * i) for i in range(1000)).encode()
        blob = hashlib.sha512(b"isol8").digest() * 4096 + bytes(range(256))
        agent.put_file("/sandbox/data.csv", rows)
        agent.put_file("/sandbox/in/blob.bin", blob)
        r = agent.execute({"runtime": "python", "code":
                           "import json, hashlib\n"
                           "rows = [l.split(',') for l in open('/sandbox/data.csv').read().split()]\n"
                           "blob = open('/sandbox/in/blob.bin', 'rb').read()\n"
                           "json.dump({'sum': sum(int(b) for _, b in rows), 'sha': hashlib.sha256(blob).hexdigest()},"
                           " open('/sandbox/result.json', 'w'))\n"
                           "open('/sandbox/out.bin', 'wb').write(blob[::-1])\n"})
        self.assertEqual(r["exitCode"], 0, r)
        result = agent.get_file("/sandbox/result.json")
        self.assertEqual(json.loads(result), {"sum": sum(i * i for i in range(1000)),
                                              "sha": hashlib.sha256(blob).hexdigest()})
        self.assertEqual(agent.get_file("/sandbox/in/blob.bin"), blob)
        self.assertEqual(agent.get_file("/sandbox/out.bin"), blob[::-1])

        # list, destroy, then the session's files are gone
        self.assertIn(sid, [x["id"] for x in agent.list_sessions()])
        agent.stop()
        self.assertNotIn(sid, [x["id"] for x in agent.list_sessions()])
        with self.assertRaises(RemoteError) as ctx:
            agent.get_file("/sandbox/result.json")
        self.assertEqual(ctx.exception.status, 404)
        agent.stop()  # idempotent

    def test_ephemeral_calls_share_nothing(self):
        c = RemoteIsol8(self.url, gateway.KEY)
        self.assertEqual(c.execute({"runtime": "python", "code": "v = 1\nprint(v)"})["stdout"], "1")
        r = c.execute({"runtime": "python", "code": "print(v)"})
        self.assertEqual(r["exitCode"], 1)
        self.assertIn("NameError", r["stderr"])
        with self.assertRaises(RuntimeError):
            c.put_file("/sandbox/x", b"x")

    def test_errors_as_the_client_sees_them(self):
        c = RemoteIsol8(self.url, gateway.KEY)
        with self.assertRaises(RemoteError) as ctx:
            c.execute({"runtime": "cobol", "code": "x"})
        self.assertEqual(ctx.exception.status, 400)
        self.assertIn("request.runtime", ctx.exception.message)
        with self.assertRaises(RemoteError) as ctx:
            RemoteIsol8(self.url, "not-the-key").execute({"runtime": "python", "code": "1"})
        self.assertEqual((ctx.exception.status, ctx.exception.message), (403, "Invalid API key"))
        with self.assertRaises(RemoteError) as ctx:
            RemoteIsol8(self.url, "k", session_id="never-made").get_file("/sandbox/x")
        self.assertEqual(ctx.exception.status, 403)
        with self.assertRaises(RemoteError) as ctx:
            RemoteIsol8(self.url, gateway.KEY, session_id="never-made").get_file("/sandbox/x")
        self.assertEqual(ctx.exception.status, 404)

    def test_node_fetch_loop(self):
        node = shutil.which("node")
        if node is None:
            self.skipTest("node is not installed: only the Python client ran")
        script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "gateway_client.mjs")
        r = subprocess.run([node, script], env=dict(os.environ, ISOL8_URL=self.url, ISOL8_KEY=gateway.KEY),
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)
        self.assertEqual(r.returncode, 0, "node loop failed:\n%s\n%s" % (r.stdout.decode(), r.stderr.decode()))
        self.assertEqual(r.stdout.decode().split(), ["execute", "stream", "session", "upload", "download",
                                                     "destroy", "ok"])


if __name__ == "__main__":
    try:
        unittest.main(verbosity=2)
    finally:
        shutil.rmtree(TMP, ignore_errors=True)

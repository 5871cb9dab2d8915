#!/usr/bin/python3
"""Remote code end to end: a real isol8d whose configuration enables
remoteCode (http allowed, localhost blocked, 1000 bytes, 1.5 s, a cache)
and lets 127.0.0.1 through the SSRF guard (network.allowedRanges), a
Python HTTP server on loopback serving the code, and the CLI, gRPC
(Execute, ExecuteStream, a session) and the gateway's codeUrl asking for
it. Each refusal is checked for its status and its exact text: plain http
without allow_insecure_code_url, a wrong hash (both hashes shown), a body
past maxCodeSize (with and without a Content-Length), a server slower than
fetchTimeoutMs, a redirect to a blocked host or to file://, a blocked host
spelt with a trailing dot, an extension that names no runtime, and a daemon
whose remoteCode is off. The cache is seen from the
server: two runs of one URL, one request. Needs Docker and the runtime
images (isol8 setup)."""
import hashlib
import http.server
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.error
import urllib.request

import grpc

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
import isol8d  # noqa: E402

SOURCE = os.environ["ISOL8_SOURCE_DIR"]
ISOL8 = os.environ["ISOL8"]
ISOL8D = os.environ["ISOL8D"]
GATEWAY = os.environ.get("GATEWAY", "")
TMP = tempfile.mkdtemp(prefix="isol8-remote-code.")
PB, ADMIN, HEALTH = isol8d.messages(TMP, SOURCE)
KEY = "remote-code-key"

HELLO = b"print('hello from a url')\n"
ROUTES = {
    "/hello.py": HELLO,
    "/cached.py": b"print('cached')\n",
    "/gateway.py": b"print('through the gateway')\n",
    "/esm.js": b"console.log('esm', typeof require)\n",
    "/tool.cjs": b"console.log('cjs', typeof require)\n",
    "/state.py": b"counter = globals().get('counter', 0) + 1\nprint(counter)\n",
    "/script": b"echo no extension\n",
    "/big.py": b"#" * 5000 + b"\n",
    "/binary.py": b"print(1)\n\xff\xfe\n",
}


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    hits = {}
    lock = threading.Lock()

    def log_message(self, *args):
        pass

    def send_body(self, body, length=True):
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        if length:
            self.send_header("Content-Length", str(len(body)))
        else:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        self.wfile.write(body)

    def redirect(self, location):
        self.send_response(302)
        self.send_header("Location", location)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_GET(self):
        with Handler.lock:
            Handler.hits[self.path] = Handler.hits.get(self.path, 0) + 1
        port = self.server.server_address[1]
        if self.path in ROUTES:
            self.send_body(ROUTES[self.path])
        elif self.path == "/big-stream.py":
            # no Content-Length: the body ends when the connection closes
            self.send_body(b"#" * 5000 + b"\n", length=False)
        elif self.path == "/slow.py":
            time.sleep(4)
            self.send_body(HELLO)
        elif self.path == "/to-hello.py":
            self.redirect("/hello.py")
        elif self.path == "/to-blocked.py":
            self.redirect("http://localhost:%d/hello.py" % port)
        elif self.path == "/to-file.py":
            self.redirect("file:///etc/passwd")
        elif self.path == "/loop.py":
            self.redirect("/loop.py")
        else:
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()


class Server(http.server.ThreadingHTTPServer):
    def handle_error(self, request, client_address):
        pass  # isol8d hangs up on the too large and the too slow: expected


def start_server():
    server = Server(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def write_config(name, doc):
    path = os.path.join(TMP, name + ".json")
    with open(path, "w") as f:
        json.dump(doc, f)
    return path


ENABLED = {
    "pool": {"prewarm": 0},
    "network": {"allowedRanges": ["127.0.0.1"]},
    "remoteCode": {"enabled": True, "allowedSchemes": ["https", "http"], "blockedHosts": ["^localhost$"],
                   "maxCodeSize": 1000, "fetchTimeoutMs": 1500, "cacheTtl": 60},
}


def start_daemon(name, doc):
    return isol8d.Daemon(ISOL8D, os.path.join(TMP, name), PB, ADMIN, HEALTH,
                         flags=("--config", write_config(name, doc)), env={"ISOL8_API_KEY": KEY})


def sha256(data):
    return hashlib.sha256(data).hexdigest()


class RemoteCode(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = start_server()
        cls.base = "http://127.0.0.1:%d" % cls.server.server_address[1]
        cls.d = start_daemon("enabled", ENABLED)

    @classmethod
    def tearDownClass(cls):
        cls.d.stop()
        cls.server.shutdown()

    def url(self, path):
        return self.base + path

    # (Execute's stdout, as the original's, has its last newline trimmed.)
    def request(self, path, insecure=True, **fields):
        return PB.ExecuteRequest(code_url=self.url(path), allow_insecure_code_url=insecure, **fields)

    def refused(self, req, code, details, deadline=60):
        with self.assertRaises(grpc.RpcError) as cm:
            self.d.execute(req, timeout=deadline)
        self.assertEqual((cm.exception.code(), cm.exception.details()), (code, details))

    def cli(self, *args):
        env = dict(os.environ, ISOL8_SOCKET=self.d.socket)
        env.pop("ISOL8_CONFIG", None)
        env.pop("ISOL8_API_KEY", None)
        return subprocess.run([ISOL8, "run", *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              timeout=120)

    # --- what runs

    def test_cli_runtime_from_the_extension(self):
        r = self.cli("--url", self.url("/hello.py"), "--allow-insecure-code-url")
        self.assertEqual((r.returncode, r.stdout, r.stderr), (0, b"hello from a url\n", b""))

    def test_node_module_kinds_from_the_extension(self):
        res = self.d.execute(self.request("/esm.js"), timeout=60)
        self.assertEqual((res.exit_code, res.runtime, res.stdout), (0, "node", b"esm undefined"), res.stderr)
        res = self.d.execute(self.request("/tool.cjs"), timeout=60)
        self.assertEqual((res.exit_code, res.stdout), (0, b"cjs function"), res.stderr)

    def test_runtime_given_wins(self):
        res = self.d.execute(self.request("/script", runtime="bash"), timeout=60)
        self.assertEqual((res.exit_code, res.stdout), (0, b"no extension"), res.stderr)

    def test_hash_right(self):
        r = self.cli("--url", self.url("/hello.py"), "--allow-insecure-code-url", "--hash", sha256(HELLO).upper())
        self.assertEqual((r.returncode, r.stdout), (0, b"hello from a url\n"), r.stderr)

    def test_hash_wrong(self):
        wrong = "0" * 64
        r = self.cli("--url", self.url("/hello.py"), "--allow-insecure-code-url", "--hash", wrong)
        self.assertEqual(r.returncode, 1)
        self.assertEqual(r.stderr.decode(), "[ERR] --hash: code_hash: the code at \"%s\" has SHA-256 %s, not the expected "
                         "%s\n" % (self.url("/hello.py"), sha256(HELLO), wrong))

    def test_redirect_followed(self):
        res = self.d.execute(self.request("/to-hello.py"), timeout=60)
        self.assertEqual((res.exit_code, res.stdout), (0, b"hello from a url"), res.stderr)

    def test_stream_and_session(self):
        out = b"".join(ev.stdout for ev in self.d.execute_stream(self.request("/hello.py"), timeout=60)
                       if ev.WhichOneof("event") == "stdout")
        self.assertEqual(out, b"hello from a url\n")
        for expect in (b"1", b"2"):
            res = self.d.execute(self.request("/state.py", session_id="remote-state"), timeout=60)
            self.assertEqual((res.exit_code, res.stdout, res.session_id), (0, expect, "remote-state"), res.stderr)

    def test_cache_hit(self):
        for _ in range(2):
            res = self.d.execute(self.request("/cached.py"), timeout=60)
            self.assertEqual((res.exit_code, res.stdout), (0, b"cached"), res.stderr)
        self.assertEqual(Handler.hits.get("/cached.py"), 1, "the second run came from the cache")
        # another hash is another key: fetched again, then kept too
        res = self.d.execute(self.request("/cached.py", code_hash=sha256(b"print('cached')\n")), timeout=60)
        self.assertEqual(res.stdout, b"cached")
        self.assertEqual(Handler.hits.get("/cached.py"), 2)

    # --- what is refused

    def test_http_needs_allow_insecure(self):
        url = self.url("/never.py")
        r = self.cli("--url", url)
        self.assertEqual(r.returncode, 1)
        self.assertEqual(r.stderr.decode(), "[ERR] --url: code_url: \"%s\": plain http is refused unless the "
                         "request sets allow_insecure_code_url (--allow-insecure-code-url)\n" % url)
        self.assertNotIn("/never.py", Handler.hits, "refused before any fetch")

    def test_too_large(self):
        for path in ("/big.py", "/big-stream.py"):
            self.refused(self.request(path), grpc.StatusCode.RESOURCE_EXHAUSTED,
                         "code_url: \"%s\": the code is larger than remoteCode.maxCodeSize (1000 bytes)"
                         % self.url(path))

    def test_slow_server(self):
        t = time.time()
        self.refused(self.request("/slow.py"), grpc.StatusCode.DEADLINE_EXCEEDED,
                     "code_url: \"%s\": no complete answer within remoteCode.fetchTimeoutMs (1500 ms)"
                     % self.url("/slow.py"))
        self.assertLess(time.time() - t, 3.5, "the fetch stopped at its timeout")

    def test_redirect_to_blocked_host(self):
        target = "http://localhost:%d/hello.py" % self.server.server_address[1]
        self.refused(self.request("/to-blocked.py"), grpc.StatusCode.PERMISSION_DENIED,
                     "code_url: \"%s\": it redirects to \"%s\": host \"localhost\" is blocked by "
                     "remoteCode.blockedHosts (\"^localhost$\")" % (self.url("/to-blocked.py"), target))

    def test_blocked_host_other_spellings(self):
        # the name with its root's dot is the same host: still blocked,
        # before any lookup
        url = "http://localhost.:%d/hello.py" % self.server.server_address[1]
        self.refused(PB.ExecuteRequest(code_url=url, allow_insecure_code_url=True), grpc.StatusCode.PERMISSION_DENIED,
                     "code_url: \"%s\": host \"localhost\" is blocked by remoteCode.blockedHosts (\"^localhost$\")"
                     % url)

    def test_redirect_to_another_scheme(self):
        self.refused(self.request("/to-file.py"), grpc.StatusCode.PERMISSION_DENIED,
                     "code_url: \"%s\": it redirects to \"file:///etc/passwd\": scheme \"file\" is not in this "
                     "isol8d's remoteCode.allowedSchemes" % self.url("/to-file.py"))

    def test_redirect_loop(self):
        self.refused(self.request("/loop.py"), grpc.StatusCode.UNAVAILABLE,
                     "code_url: \"%s\": more than 5 redirects" % self.url("/loop.py"))

    def test_not_found_and_not_text(self):
        self.refused(self.request("/missing.py"), grpc.StatusCode.UNAVAILABLE,
                     "code_url: \"%s\": the server answered HTTP 404" % self.url("/missing.py"))
        self.refused(self.request("/binary.py"), grpc.StatusCode.INVALID_ARGUMENT,
                     "code_url: \"%s\": the code is not UTF-8 text (byte 9)" % self.url("/binary.py"))

    def test_no_runtime_from_the_extension(self):
        url = self.url("/script")
        self.refused(self.request("/script"), grpc.StatusCode.INVALID_ARGUMENT,
                     "runtime: cannot tell it from the extension of code_url \"%s\" (give runtime: python, node, "
                     "bun, deno, bash; or a URL ending in .py, .js, .mjs, .cjs, .ts, .mts, .sh)" % url)
        r = self.cli("--url", url, "--allow-insecure-code-url")
        self.assertEqual(r.returncode, 1)
        self.assertTrue(r.stderr.decode().startswith("[ERR] --runtime: runtime: cannot tell it"), r.stderr)

    def test_gateway_code_url(self):
        if not GATEWAY:
            self.skipTest("no isol8-gateway in this build")
        r, w = os.pipe()
        log = open(os.path.join(TMP, "gateway.log"), "w")
        gw = subprocess.Popen([GATEWAY, "--listen", "127.0.0.1:0", "--ready-fd", str(w), "--upstream",
                               "unix:" + self.d.socket], pass_fds=(w,), stderr=log)
        os.close(w)
        try:
            with os.fdopen(r) as f:
                port = int(f.readline().strip())

            def post(body):
                req = urllib.request.Request("http://127.0.0.1:%d/execute" % port, data=json.dumps(body).encode(),
                                             headers={"Content-Type": "application/json",
                                                      "Authorization": "Bearer " + KEY})
                try:
                    with urllib.request.urlopen(req, timeout=60) as resp:
                        return resp.status, json.loads(resp.read())
                except urllib.error.HTTPError as e:
                    return e.code, json.loads(e.read())

            status, res = post({"request": {"codeUrl": self.url("/gateway.py"), "allowInsecureCodeUrl": True}})
            self.assertEqual((status, res.get("stdout"), res.get("runtime")),
                             (200, "through the gateway", "python"), res)
            status, res = post({"request": {"codeUrl": self.url("/to-blocked.py"), "allowInsecureCodeUrl": True}})
            self.assertEqual((status, res), (403, {"error": "request.codeUrl: \"%s\": it redirects to "
                                                   "\"http://localhost:%d/hello.py\": host \"localhost\" is "
                                                   "blocked by remoteCode.blockedHosts (\"^localhost$\")"
                                                   % (self.url("/to-blocked.py"), self.server.server_address[1])}))
        finally:
            gw.terminate()
            gw.wait(timeout=30)
            log.close()


class Disabled(unittest.TestCase):
    """The built-in policy: remote code is off, for every caller."""

    @classmethod
    def setUpClass(cls):
        cls.d = start_daemon("disabled", {"pool": {"prewarm": 0}})

    @classmethod
    def tearDownClass(cls):
        cls.d.stop()

    def test_disabled(self):
        req = PB.ExecuteRequest(code_url="https://example.com/a.py")
        with self.assertRaises(grpc.RpcError) as cm:
            self.d.execute(req, timeout=30)
        self.assertEqual((cm.exception.code(), cm.exception.details()),
                         (grpc.StatusCode.PERMISSION_DENIED,
                          "code_url: remote code is disabled on this isol8d (set remoteCode.enabled: true in its "
                          "configuration file to allow it)"))


if __name__ == "__main__":
    try:
        unittest.main(verbosity=2)
    finally:
        shutil.rmtree(TMP, ignore_errors=True)

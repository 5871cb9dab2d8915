#!/usr/bin/python3
"""Network modes through a real isol8d and Docker, loopback only.

Fixtures: an HTTP and an HTTPS server on host address 127.0.0.2 (the HTTPS
one's certificate from a CA made here with openssl, given to isol8d as
network.caBundle). 127.0.0.2, not 127.0.0.1, so that the programs' NO_PROXY
(localhost, 127.0.0.1, ::1) does not apply to it and so that the SSRF guard
can be seen allowing exactly the range the configuration names
(network.allowedRanges ["127.0.0.2"]) and refusing 127.0.0.1 and
169.254.169.254. One daemon serves every test; each runtime's checks run
in one program.
"""
import http.server
import json
import os
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
import isol8d  # noqa: E402

SOURCE = os.environ["ISOL8_SOURCE_DIR"]
ISOL8D = os.environ["ISOL8D"]
ISOL8 = os.environ.get("ISOL8")
TMP = tempfile.mkdtemp(prefix="isol8-net.")
PB, ADMIN, HEALTH = isol8d.messages(TMP, SOURCE)
FIXTURE_IP = "127.0.0.2"
ALLOW_FIXTURE = r"^127\.0\.0\.2$"

IDLE_MS = 1500
MAX_BYTES = 4 << 20
MAX_CONNECTIONS = 16

D = None
SERVERS = []
HTTP_URL = HTTPS_URL = None
HTTP_PORT = 0


class Fixture(http.server.BaseHTTPRequestHandler):
    """Answers "fixture <scheme> <path>"; /slow holds the connection open."""
    scheme = "http"

    def do_GET(self):
        if self.path.startswith("/big/"):
            body = b"x" * int(self.path[5:])
        else:
            body = ("fixture %s %s" % (self.scheme, self.path)).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


class TlsFixture(Fixture):
    scheme = "https"


def openssl(*args):
    r = subprocess.run(["openssl", *args], cwd=TMP, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if r.returncode != 0:
        raise AssertionError("openssl %s: %s" % (" ".join(args), r.stderr.decode()))


def make_ca(name):
    """NAME.pem, a CA, and NAME-server.pem, a certificate for 127.0.0.2 signed by it."""
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-keyout", name + ".key", "-out", name + ".pem", "-days", "2", "-subj", "/CN=isol8 test " + name)
    openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout",
            name + "-server.key", "-out", name + "-server.csr", "-subj", "/CN=" + FIXTURE_IP)
    with open(os.path.join(TMP, "san.ext"), "w") as f:
        f.write("subjectAltName=IP:%s\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n" % FIXTURE_IP)
    openssl("x509", "-req", "-in", name + "-server.csr", "-CA", name + ".pem", "-CAkey", name + ".key",
            "-CAcreateserial", "-out", name + "-server.pem", "-days", "2", "-extfile", "san.ext")


class QuietServer(http.server.ThreadingHTTPServer):
    def handle_error(self, request, client_address):
        pass  # the tests reset and cut connections on purpose


def serve(handler, ca=None):
    srv = QuietServer((FIXTURE_IP, 0), handler)
    srv.daemon_threads = True
    if ca:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(os.path.join(TMP, ca + "-server.pem"), os.path.join(TMP, ca + "-server.key"))
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    SERVERS.append(srv)
    return srv.server_address[1]


def setUpModule():
    global D, HTTP_URL, HTTPS_URL, HTTP_PORT
    make_ca("ca")
    HTTP_PORT = serve(Fixture)
    https_port = serve(TlsFixture, "ca")
    HTTP_URL = "http://%s:%d" % (FIXTURE_IP, HTTP_PORT)
    HTTPS_URL = "https://%s:%d" % (FIXTURE_IP, https_port)
    config = {
        "network": {"whitelist": [ALLOW_FIXTURE], "blacklist": [], "allowedRanges": [FIXTURE_IP],
                    "caBundle": os.path.join(TMP, "ca.pem"), "idleTimeoutMs": IDLE_MS, "maxBytes": MAX_BYTES,
                    "maxConnections": MAX_CONNECTIONS},
        "pool": {"prewarm": 0, "maxWarm": 8},
    }
    with open(os.path.join(TMP, "isol8.config.json"), "w") as f:
        json.dump(config, f)
    D = isol8d.Daemon(ISOL8D, os.path.join(TMP, "d"), PB, ADMIN, HEALTH,
                      flags=["--config", os.path.join(TMP, "isol8.config.json")])


def tearDownModule():
    for srv in SERVERS:
        srv.shutdown()
    if D is not None:
        status = D.stop()
        left = D.containers()
        assert status == 0, "isol8d exited %d; log in %s" % (status, D.log_path)
        assert left == [], "containers left: %s" % left
    shutil.rmtree(TMP, ignore_errors=True)


def fixture_env():
    return {"FIX_HTTP": HTTP_URL, "FIX_HTTPS": HTTPS_URL}


def probe(tc, runtime, code, network="filtered", **kw):
    """Runs code that must exit 0 and prints one JSON object; that object."""
    kw.setdefault("env", fixture_env())
    r = D.run(runtime, code, network=network, deadline=120, timeout_ms=60000, **kw)
    tc.assertEqual(r.exit_code, 0, "probe failed: stdout=%r stderr=%r" % (r.stdout[-3000:], r.stderr[-3000:]))
    try:
        return json.loads(r.stdout.decode().strip().splitlines()[-1]), r
    except (ValueError, IndexError):
        raise AssertionError("probe printed no JSON: %r %r" % (r.stdout[-2000:], r.stderr[-2000:]))


PY_FILTERED = r"""
import json, os, socket, ssl, urllib.request, urllib.error
out = {}
def get(url):
    try:
        with urllib.request.urlopen(url, timeout=20) as r:
            return r.read().decode()
    except urllib.error.HTTPError as e:
        return "status %d" % e.code
    except Exception as e:
        return "error %s" % e
out["http"] = get(os.environ["FIX_HTTP"] + "/py")
out["https"] = get(os.environ["FIX_HTTPS"] + "/py")
out["env"] = {k: os.environ.get(k) for k in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "NO_PROXY",
                                             "SSL_CERT_FILE", "NODE_USE_ENV_PROXY")}
lines = open("/proc/net/dev").read().splitlines()[2:]
out["ifaces"] = sorted(l.split(":")[0].strip() for l in lines)
out["routes"] = open("/proc/net/route").read().splitlines()[1:]
out["routes6_not_lo"] = [l for l in open("/proc/net/ipv6_route").read().splitlines() if l.split()[-1] != "lo"]
try:
    socket.getaddrinfo("example.com", 80)
    out["dns"] = "resolved"
except OSError as e:
    out["dns"] = "failed: %s" % e
def dial(host, port):
    try:
        socket.create_connection((host, port), timeout=5).close()
        return "connected"
    except OSError as e:
        return "failed: %s" % type(e).__name__
out["raw_fixture"] = dial(os.environ["FIX_HTTP"].split("//")[1].split(":")[0], int(os.environ["FIX_HTTP"].rsplit(":", 1)[1]))
out["raw_outside"] = dial("172.17.0.1", 80)
paths = ssl.get_default_verify_paths()
out["cafile"] = paths.cafile
out["capath_certs"] = len([n for n in os.listdir(paths.capath) if n.endswith(".0")]) if paths.capath else 0
print(json.dumps(out))
"""


class Filtered(unittest.TestCase):
    def test_python_reaches_fixtures_and_nothing_else(self):
        out, res = probe(self, "python", PY_FILTERED, log_network=True)
        self.assertEqual(out["http"], "fixture http /py")
        self.assertEqual(out["https"], "fixture https /py")
        self.assertEqual(out["env"]["HTTP_PROXY"], "http://127.0.0.1:8118")
        self.assertEqual(out["env"]["https_proxy"], "http://127.0.0.1:8118")
        self.assertEqual(out["env"]["NO_PROXY"], "localhost,127.0.0.1,::1")
        self.assertEqual(out["env"]["NODE_USE_ENV_PROXY"], "1")
        # the operator's CA as the file, the image's hashed directory kept
        self.assertEqual(out["env"]["SSL_CERT_FILE"], "/.isol8/ca-bundle.pem")
        self.assertEqual(out["cafile"], "/.isol8/ca-bundle.pem")
        self.assertGreater(out["capath_certs"], 50)
        self.assertEqual(out["ifaces"], ["lo"])
        self.assertEqual(out["routes"], [])
        self.assertEqual(out["routes6_not_lo"], [])
        self.assertTrue(out["dns"].startswith("failed"), out["dns"])
        self.assertEqual(out["raw_fixture"], "failed: ConnectionRefusedError")
        self.assertTrue(out["raw_outside"].startswith("failed"), out["raw_outside"])
        logs = [(l.method, l.host, l.path, l.allowed) for l in res.network_logs]
        self.assertIn(("GET", FIXTURE_IP, "/py", True), logs)
        self.assertIn(("CONNECT", FIXTURE_IP, "", True), logs)
        for l in res.network_logs:
            self.assertRegex(l.timestamp, r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d")
            self.assertGreaterEqual(l.duration_ms, 0)

    def test_node_fetch(self):
        code = ("import tls from 'node:tls';\n"
                "const get = async (u) => { try { const r = await fetch(u); return await r.text(); }"
                " catch (e) { return 'error ' + (e.cause ? e.cause.message : e.message); } };\n"
                "const roots = tls.getCACertificates ? tls.getCACertificates('default') : tls.rootCertificates;\n"
                "console.log(JSON.stringify({http: await get(process.env.FIX_HTTP + '/node'),"
                " https: await get(process.env.FIX_HTTPS + '/node'), roots: roots.length}));\n")
        out, _ = probe(self, "node", code)
        self.assertEqual(out["http"], "fixture http /node")
        self.assertEqual(out["https"], "fixture https /node")
        self.assertGreater(out["roots"], 100)  # the built-in roots stay trusted

    def test_bun_fetch(self):
        code = ("const get = async (u: string) => { try { const r = await fetch(u); return await r.text(); }"
                " catch (e: any) { return 'error ' + e.message; } };\n"
                "console.log(JSON.stringify({http: await get(process.env.FIX_HTTP + '/bun'),"
                " https: await get(process.env.FIX_HTTPS + '/bun')}));\n")
        out, _ = probe(self, "bun", code)
        self.assertEqual(out["http"], "fixture http /bun")
        self.assertEqual(out["https"], "fixture https /bun")

    def test_deno_fetch(self):
        code = ("const get = async (u: string) => { try { const r = await fetch(u); return await r.text(); }"
                " catch (e) { return 'error ' + (e as Error).message; } };\n"
                "console.log(JSON.stringify({http: await get(Deno.env.get('FIX_HTTP') + '/deno'),"
                " https: await get(Deno.env.get('FIX_HTTPS') + '/deno')}));\n")
        out, _ = probe(self, "deno", code)
        self.assertEqual(out["http"], "fixture http /deno")
        self.assertEqual(out["https"], "fixture https /deno")

    def test_curl_rules_and_logs(self):
        """Request rules replace the configured ones: the blacklist wins over the whitelist."""
        code = r"""
c() { curl -s -o /dev/null -w '%{http_code}' --max-time 20 "$@"; }
b() { curl -s --max-time 20 "$@"; }
printf '{"http":"%s","https":"%s","blocked_http":"%s","blocked_https":"%s","blocked_body":"%s"}\n' \
  "$(b "$FIX_HTTP/curl")" "$(b "$FIX_HTTPS/curl")" "$(c http://blocked.test/x)" "$(c https://blocked.test/)" \
  "$(b http://blocked.test/x | head -c 200 | tr -d '"\n\r')"
"""
        r = D.request("bash", code, env=fixture_env(), network="filtered", log_network=True)
        r.options.network_filter.whitelist.extend([ALLOW_FIXTURE, r"^blocked\.test$"])
        r.options.network_filter.blacklist.append(r"^blocked\.")
        res = D.execute(r, timeout=120)
        self.assertEqual(res.exit_code, 0, res.stderr)
        out = json.loads(res.stdout.decode().strip().splitlines()[-1])
        self.assertEqual(out["http"], "fixture http /curl")
        self.assertEqual(out["https"], "fixture https /curl")
        self.assertEqual(out["blocked_http"], "403")
        self.assertEqual(out["blocked_https"], "000")  # curl: the CONNECT was refused (403)
        self.assertIn("blacklist", out["blocked_body"])  # the 403 says why
        logs = [(l.method, l.host, l.path, l.allowed) for l in res.network_logs]
        self.assertIn(("GET", FIXTURE_IP, "/curl", True), logs)
        self.assertIn(("CONNECT", FIXTURE_IP, "", True), logs)
        self.assertIn(("GET", "blocked.test", "/x", False), logs)
        self.assertIn(("CONNECT", "blocked.test", "", False), logs)
        with open(D.log_path) as f:
            log = f.read()
        self.assertIn("blocked.test", log)

    def test_empty_whitelist_allows_nothing(self):
        r = D.request("bash", "curl -s -o /dev/null -w '%{http_code}' --max-time 20 \"$FIX_HTTP/none\"",
                      env=fixture_env(), network="filtered")
        r.options.network_filter.blacklist.append("^nothing$")
        res = D.execute(r, timeout=120)
        self.assertEqual(res.stdout.decode().strip(), "403", res.stderr)

    def test_ssrf_guard(self):
        """Whitelisted by the rules, still refused: loopback but the allowed range, link-local, names of them."""
        code = r"""
c() { curl -s -o /dev/null -w '%{http_code}' --max-time 20 "$@"; }
printf '%s %s %s %s\n' "$(c http://127.0.0.1:PORT/)" "$(c http://169.254.169.254/latest/meta-data/)" \
  "$(c http://localhost:PORT/)" "$(c "$FIX_HTTP/guard")"
""".replace("PORT", str(HTTP_PORT))
        env = dict(fixture_env(), NO_PROXY="", no_proxy="")
        r = D.request("bash", code, env=env, network="filtered", log_network=True)
        r.options.network_filter.whitelist.append(".*")
        res = D.execute(r, timeout=120)
        self.assertEqual(res.exit_code, 0, res.stderr)
        self.assertEqual(res.stdout.decode().split(), ["403", "403", "403", "200"])
        refused = {l.host for l in res.network_logs if not l.allowed}
        self.assertEqual(refused, {"127.0.0.1", "169.254.169.254", "localhost"})

    def test_invalid_regex_is_refused(self):
        r = D.request("bash", "true", network="filtered")
        r.options.network_filter.whitelist.extend(["ok", "a("])
        with self.assertRaises(Exception) as cm:
            D.execute(r, timeout=60)
        self.assertIn('options.network_filter.whitelist[1]: "a("', cm.exception.details())

    def test_pooled_sandbox_keeps_no_tunnel(self):
        """A tunnel left open by one run is gone in the next run of the same sandbox."""
        first_code = r"""
import os, socket, json
h, p = os.environ["FIX_HTTPS"].split("//")[1].split(":")
s = socket.create_connection(("127.0.0.1", 8118))
s.sendall(("CONNECT %s:%s HTTP/1.1\r\nHost: %s:%s\r\n\r\n" % (h, p, h, p)).encode())
print(json.dumps({"reply": s.recv(100).decode().split("\r\n")[0]}))
if os.fork() == 0:
    os.setsid()
    null = os.open("/dev/null", os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    import time
    time.sleep(600)
"""
        second_code = r"""
import json
states = [l.split()[3] for l in open("/proc/net/tcp").read().splitlines()[1:]]
states += [l.split()[3] for l in open("/proc/net/tcp6").read().splitlines()[1:]]
# only listeners (0A) and closed connections waiting out their time (06)
import os, urllib.request
print(json.dumps({"left": [s for s in states if s not in ("0A", "06")], "proxy": os.environ.get("HTTP_PROXY"),
                  "http": urllib.request.urlopen(os.environ["FIX_HTTP"] + "/again", timeout=20).read().decode()}))
"""
        out, a = probe(self, "python", first_code, memory_limit="320m")
        self.assertTrue(out["reply"].startswith("HTTP/1.1 200"), out)
        D.wait_clean(1)
        out, b = probe(self, "python", second_code, memory_limit="320m")
        self.assertEqual(a.container_id, b.container_id, "the second run did not reuse the sandbox")
        self.assertEqual(out["left"], [])
        # a pooled filtered sandbox's pre-started interpreter has the proxy environment too
        self.assertTrue(b.timings.prestarted, "the second run did not use the pre-started interpreter")
        self.assertEqual(out["proxy"], "http://127.0.0.1:8118")
        self.assertEqual(out["http"], "fixture http /again")


class Limits(unittest.TestCase):
    def test_idle_connections_and_bytes(self):
        """network.idleTimeoutMs, maxConnections (per sandbox) and maxBytes (per run), in that order."""
        code = r"""
import json, os, socket, time, urllib.request
h, p = os.environ["FIX_HTTP"].split("//")[1].split(":")
def tunnel():
    s = socket.create_connection(("127.0.0.1", 8118), timeout=20)
    s.sendall(("CONNECT %s:%s HTTP/1.1\r\nHost: %s:%s\r\n\r\n" % (h, p, h, p)).encode())
    return s, s.recv(200).decode().split("\r\n")[0]
out = {}
s, first = tunnel()
time.sleep(IDLE_S)
out["idle"] = [first, s.recv(10).decode()]
s.close()
tunnels = [tunnel() for _ in range(TUNNELS)]
# past the limit: each one reads the proxy's 429 (a lingering close, never a reset)
out["statuses"] = sorted(t[1].split(" ")[1] if t[1] else "closed" for t in tunnels)
for t in tunnels:
    t[0].close()
time.sleep(0.5)
try:
    got = len(urllib.request.urlopen(os.environ["FIX_HTTP"] + "/big/%d" % BIG_BODY, timeout=20).read())
except Exception as e:
    got = type(e).__name__
out["big"] = got
print(json.dumps(out))
""".replace("IDLE_S", str(IDLE_MS / 1000 + 1)).replace("TUNNELS", str(MAX_CONNECTIONS + 4)).replace("BIG_BODY", str(2 * MAX_BYTES))
        out, _ = probe(self, "python", code)
        self.assertEqual(out["idle"], ["HTTP/1.1 200 Connection established", ""])
        self.assertEqual(out["statuses"].count("200"), MAX_CONNECTIONS, out["statuses"])
        self.assertEqual(out["statuses"].count("429"), 4, out["statuses"])
        self.assertNotEqual(out["big"], 2 * MAX_BYTES)


class Session(unittest.TestCase):
    def test_filtered_session_calls(self):
        """Each call of a filtered session is its own use: its own rules and logs; the driver has the proxy env."""
        got = []
        for i in range(2):
            r = D.request("python", "import os, urllib.request\n"
                          "print(urllib.request.urlopen(os.environ['FIX_HTTP'] + '/s%d', timeout=20).read().decode())\n"
                          % i, env=fixture_env(), network="filtered", log_network=True)
            r.session_id = "net-%d" % os.getpid()
            res = D.execute(r, timeout=120)
            self.assertEqual(res.exit_code, 0, res.stderr)
            got.append((res.stdout.decode().strip(), [(l.host, l.path) for l in res.network_logs]))
        self.assertEqual(got, [("fixture http /s0", [(FIXTURE_IP, "/s0")]),
                               ("fixture http /s1", [(FIXTURE_IP, "/s1")])])


class CaBundle(unittest.TestCase):
    """The operator's bundle is trusted besides the image's own store, not instead of it: an
    image whose system store holds a second CA reaches fixtures of both CAs in one run."""
    images = []

    @classmethod
    def setUpClass(cls):
        make_ca("image-ca")
        cls.https_image = "https://%s:%d" % (FIXTURE_IP, serve(TlsFixture, "image-ca"))
        builds = []
        for runtime in ("python", "bash"):
            ctx = os.path.join(TMP, "img-" + runtime)
            os.makedirs(ctx)
            shutil.copy(os.path.join(TMP, "image-ca.pem"), os.path.join(ctx, "image-ca.crt"))
            with open(os.path.join(ctx, "Dockerfile"), "w") as f:
                f.write("FROM isol8:%s\nUSER root\nCOPY image-ca.crt /usr/local/share/ca-certificates/\n"
                        "RUN update-ca-certificates\n" % runtime)
            tag = "isol8-test-netca-%d:%s" % (os.getpid(), runtime)
            cls.images.append(tag)
            builds.append(subprocess.Popen(["docker", "build", "-q", "-t", tag, ctx], stdout=subprocess.PIPE,
                                           stderr=subprocess.PIPE))
        for b in builds:
            _, err = b.communicate(timeout=240)
            if b.returncode != 0:
                raise AssertionError("docker build failed: " + err.decode())

    @classmethod
    def tearDownClass(cls):
        for tag in cls.images:
            subprocess.run(["docker", "rmi", "-f", tag], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def test_python_and_curl_trust_both(self):
        env = dict(fixture_env(), FIX_IMAGE=self.https_image)
        code = ("import json, os, urllib.request\n"
                "get = lambda u: urllib.request.urlopen(u, timeout=20).read().decode()\n"
                "print(json.dumps({'operator': get(os.environ['FIX_HTTPS'] + '/op'),"
                " 'image': get(os.environ['FIX_IMAGE'] + '/img')}))\n")
        out, _ = probe(self, "python", code, env=env, image=self.images[0])
        self.assertEqual(out, {"operator": "fixture https /op", "image": "fixture https /img"})
        code = ("printf '{\"operator\":\"%s\",\"image\":\"%s\"}\\n' \"$(curl -sS \"$FIX_HTTPS/op\")\" "
                "\"$(curl -sS \"$FIX_IMAGE/img\")\"")
        out, _ = probe(self, "bash", code, env=env, image=self.images[1])
        self.assertEqual(out, {"operator": "fixture https /op", "image": "fixture https /img"})


class OtherModes(unittest.TestCase):
    def test_none_has_only_lo_and_no_proxy(self):
        code = ("import os, json, socket\n"
                "lines = open('/proc/net/dev').read().splitlines()[2:]\n"
                "try:\n"
                "    socket.create_connection(('127.0.0.1', 8118), timeout=5); relay = 'connected'\n"
                "except OSError as e:\n"
                "    relay = type(e).__name__\n"
                "print(json.dumps({'ifaces': sorted(l.split(':')[0].strip() for l in lines),"
                " 'proxy': [k for k in os.environ if k.lower().endswith('_proxy')], 'relay': relay}))\n")
        out, _ = probe(self, "python", code, network="none")
        self.assertEqual(out, {"ifaces": ["lo"], "proxy": [], "relay": "ConnectionRefusedError"})

    def test_host_sees_the_hosts_interfaces(self):
        code = ("import json\n"
                "lines = open('/proc/net/dev').read().splitlines()[2:]\n"
                "print(json.dumps({'ifaces': sorted(l.split(':')[0].strip() for l in lines)}))\n")
        out, _ = probe(self, "python", code, network="host")
        with open("/proc/net/dev") as f:
            mine = sorted(l.split(":")[0].strip() for l in f.read().splitlines()[2:])
        self.assertEqual(out["ifaces"], mine)
        self.assertGreater(len(mine), 1)


@unittest.skipIf(ISOL8 is None, "needs $ISOL8 (the CLI)")
class Cli(unittest.TestCase):
    def test_log_network_lists_the_decisions(self):
        r = subprocess.run([ISOL8, "run", "--host", "unix:" + D.socket, "--runtime", "bash", "--net", "filtered",
                            "--allow", ALLOW_FIXTURE, "--log-network", "--no-stream", "-e",
                            "curl -s %s/cli" % HTTP_URL], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=120)
        self.assertEqual(r.returncode, 0, r.stderr.decode())
        self.assertEqual(r.stdout.decode().strip(), "fixture http /cli")
        err = r.stderr.decode()
        self.assertIn("--- Network Logs ---", err)
        line = json.loads(err.split("--- Network Logs ---\n", 1)[1].splitlines()[0])
        self.assertEqual((line["method"], line["host"], line["path"], line["action"]), ("GET", FIXTURE_IP, "/cli", "ALLOW"))


if __name__ == "__main__":
    unittest.main(verbosity=2)

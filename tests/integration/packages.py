#!/usr/bin/python3
"""Runtime packages against the real binaries and Docker, with fixture
registries on the host's loopback only (never the internet): a PEP 503
simple index serving a wheel built here, and an npm registry serving a
package document and a tarball built here.

Baking (`isol8 setup --python ... --node ...`) runs against a private image
prefix whose runtime images are tags of the machine's isol8 images, so only
the packages' layer is built. Installs (--install / install_packages) go
through the filtered egress proxy, which dials the fixture because the
daemon's config allows 127.0.0.1 (network.allowedRanges); the registry URL
names the host by a name that resolves to 127.0.0.1 (NO_PROXY keeps
127.0.0.1 itself from the proxy).
"""
import base64
import hashlib
import http.server
import io
import json
import os
import socket
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
import unittest
import zipfile

import grpc

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
import isol8d  # noqa: E402
from isol8d import docker  # noqa: E402

SOURCE = os.environ["ISOL8_SOURCE_DIR"]
ISOL8D = os.environ["ISOL8D"]
ISOL8 = os.environ["ISOL8"]
TMP = tempfile.mkdtemp(prefix="isol8-packages.")
PB, ADMIN, HEALTH = isol8d.messages(TMP, SOURCE)
PREFIX = "isol8pk%d" % os.getpid()

PY_PACKAGE = "isol8-fixture-greet"
PY_MODULE = "isol8_fixture_greet"
NODE_PACKAGE = "isol8-fixture-hello"
# A package whose tarball link points at a host that is no registry.
ELSEWHERE_PACKAGE = "isol8-fixture-elsewhere"


def wheel(name, module, version, code):
    """A pure-Python wheel: module.py plus the dist-info pip checks."""
    dist = "%s-%s" % (name.replace("-", "_"), version)
    files = {
        "%s.py" % module: code,
        "%s.dist-info/METADATA" % dist: "Metadata-Version: 2.1\nName: %s\nVersion: %s\n" % (name, version),
        "%s.dist-info/WHEEL" % dist: "Wheel-Version: 1.0\nGenerator: isol8-test\nRoot-Is-Purelib: true\n"
                                     "Tag: py3-none-any\n",
    }
    record = []
    for path, text in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=").decode()
        record.append("%s,sha256=%s,%d" % (path, digest, len(text.encode())))
    record.append("%s.dist-info/RECORD,," % dist)
    files["%s.dist-info/RECORD" % dist] = "\n".join(record) + "\n"
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for path, text in files.items():
            z.writestr(path, text)
    return "%s-py3-none-any.whl" % dist, buf.getvalue()


def npm_tarball(name, version, code):
    """An npm package tarball: package/package.json and package/index.js (CommonJS)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as t:
        for path, text in (("package/package.json", json.dumps({"name": name, "version": version, "main": "index.js"})),
                           ("package/index.js", code)):
            data = text.encode()
            info = tarfile.TarInfo(path)
            info.size = len(data)
            info.mode = 0o644
            t.addfile(info, io.BytesIO(data))
    return buf.getvalue()


class Registry:
    """A PEP 503 simple index (/simple/<name>/) and an npm registry (/<name>)
    on 127.0.0.1; host is the name URLs use for it. Counts requests."""

    def __init__(self, host):
        self.host = host
        self.hits = []
        self.wheel_name, self.wheel = wheel(PY_PACKAGE, PY_MODULE, "1.0.0", "def greet():\n    return 'hello from the wheel'\n")
        self.tgz = npm_tarball(NODE_PACKAGE, "1.0.0", "exports.hello = () => 'hello from the tarball';\n")
        registry = self
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), self.handler(registry))
        self.server = server
        self.port = server.server_address[1]
        threading.Thread(target=server.serve_forever, daemon=True).start()

    def url(self, path=""):
        return "http://%s:%d%s" % (self.host, self.port, path)

    def handler(self, registry):
        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def send(self, status, body, ctype):
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self):
                registry.hits.append(self.path)
                path = self.path.split("?")[0]
                host = self.headers.get("Host", "%s:%d" % (registry.host, registry.port))
                sha = hashlib.sha256(registry.wheel).hexdigest()
                if path in ("/simple/%s/" % PY_PACKAGE, "/simple/%s" % PY_PACKAGE):
                    page = '<html><body><a href="/files/%s#sha256=%s">%s</a></body></html>' % (
                        registry.wheel_name, sha, registry.wheel_name)
                    return self.send(200, page.encode(), "text/html")
                if path == "/files/" + registry.wheel_name:
                    return self.send(200, registry.wheel, "application/octet-stream")
                if path == "/" + NODE_PACKAGE:
                    integrity = "sha512-" + base64.b64encode(hashlib.sha512(registry.tgz).digest()).decode()
                    doc = {"name": NODE_PACKAGE, "dist-tags": {"latest": "1.0.0"},
                           "versions": {"1.0.0": {"name": NODE_PACKAGE, "version": "1.0.0", "main": "index.js",
                                                  "dist": {"tarball": "http://%s/%s/-/%s-1.0.0.tgz" % (
                                                      host, NODE_PACKAGE, NODE_PACKAGE),
                                                      "integrity": integrity,
                                                      "shasum": hashlib.sha1(registry.tgz).hexdigest()}}}}
                    return self.send(200, json.dumps(doc).encode(), "application/json")
                if path == "/" + ELSEWHERE_PACKAGE:
                    doc = {"name": ELSEWHERE_PACKAGE, "dist-tags": {"latest": "1.0.0"},
                           "versions": {"1.0.0": {"name": ELSEWHERE_PACKAGE, "version": "1.0.0",
                                                  "dist": {"tarball": "http://elsewhere.invalid:%d/x.tgz" %
                                                           registry.port}}}}
                    return self.send(200, json.dumps(doc).encode(), "application/json")
                if path == "/%s/-/%s-1.0.0.tgz" % (NODE_PACKAGE, NODE_PACKAGE):
                    return self.send(200, registry.tgz, "application/octet-stream")
                self.send(404, b"not found\n", "text/plain")

        return Handler


def loopback_name():
    """A host name (not localhost, which NO_PROXY keeps from the proxy) that
    resolves to 127.0.0.1 here."""
    name = socket.gethostname()
    if socket.gethostbyname(name) != "127.0.0.1":
        raise AssertionError("this host's name %r does not resolve to 127.0.0.1; the install tests need one" % name)
    return name


def config(path, registry, **extra):
    with open(path, "w") as f:
        json.dump(dict({"network": {"allowedRanges": ["127.0.0.1"]},
                        "packages": {"registries": {"python": [registry.url("/simple/")],
                                                    "node": [registry.url("/")],
                                                    "bun": [registry.url("/")],
                                                    "deno": [registry.url("/")]}}}, **extra), f)


CODE_PY = "import %s\nprint(%s.greet())\n" % (PY_MODULE, PY_MODULE)
CODE_CJS = "const p = require('%s');\nconsole.log(p.hello());\n" % NODE_PACKAGE
CODE_ESM = "import p from '%s';\nconsole.log(p.hello());\n" % NODE_PACKAGE


class Install(unittest.TestCase):
    """--install / install_packages through the proxy to the fixture registry."""

    @classmethod
    def setUpClass(cls):
        cls.registry = Registry(loopback_name())
        path = os.path.join(TMP, "install.json")
        config(path, cls.registry)
        cls.d = isol8d.Daemon(ISOL8D, os.path.join(TMP, "install"), PB, ADMIN, HEALTH,
                              flags=("--config", path, "--prewarm", "0"))

    @classmethod
    def tearDownClass(cls):
        cls.d.cleanup(ADMIN.CleanupRequest(), timeout=60)
        assert cls.d.stop() == 0

    def run_install(self, runtime, code, packages, stream=False, **kw):
        req = self.d.request(runtime, code, timeout_ms=120000, **kw)
        req.install_packages.extend(packages)
        if stream:
            return list(self.d.execute_stream(req, timeout=180))
        return self.d.execute(req, timeout=180)

    def test_python_package_from_the_index(self):
        r = self.run_install("python", CODE_PY, [PY_PACKAGE])
        self.assertEqual(r.exit_code, 0, r.stderr)
        self.assertTrue(r.stdout.endswith(b"hello from the wheel"), r.stdout)
        self.assertIn("/files/" + self.registry.wheel_name, self.registry.hits)

    def test_node_package_from_the_registry_cjs_and_esm(self):
        for ext, code in (("cjs", CODE_CJS), ("mjs", CODE_ESM)):
            with self.subTest(ext=ext):
                r = self.run_install("node", code, [NODE_PACKAGE], ext=ext)
                self.assertEqual(r.exit_code, 0, r.stderr)
                self.assertTrue(r.stdout.endswith(b"hello from the tarball"), r.stdout)

    def test_install_output_streams_as_setup(self):
        events = self.run_install("python", CODE_PY, [PY_PACKAGE], stream=True)
        phases = [(e.WhichOneof("event"), e.phase) for e in events]
        self.assertIn(("stdout", "setup"), phases)
        self.assertEqual(phases[-1], ("exit", "code"))
        self.assertEqual(events[-1].exit.exit_code, 0)

    def test_unknown_package_stops_the_run(self):
        r = self.run_install("python", "print('never')", ["isol8-no-such-package"])
        self.assertNotEqual(r.exit_code, 0)
        self.assertNotIn(b"never", r.stdout)
        self.assertIn(b"isol8-no-such-package", r.stderr)
        self.assertTrue(r.stderr.endswith(b"Package install failed (exit code %d)" % r.exit_code), r.stderr)
        events = self.run_install("node", "console.log('never')", ["isol8-no-such-package"], stream=True)
        errors = [(e.error, e.phase) for e in events if e.WhichOneof("event") == "error"]
        code = events[-1].exit.exit_code
        self.assertNotEqual(code, 0)
        self.assertEqual(errors, [("Package install failed (exit code %d)" % code, "setup")])

    def test_code_cannot_reach_the_registry(self):
        """With network none the install's sandbox is filtered, but the code's
        rules allow nothing: neither directly nor through the proxy."""
        probe = ("import urllib.request\n"
                 "for proxies in ({}, {'http': 'http://127.0.0.1:8118'}):\n"
                 "    opener = urllib.request.build_opener(urllib.request.ProxyHandler(proxies))\n"
                 "    try:\n"
                 "        opener.open(%r, timeout=5)\n"
                 "        print('reached')\n"
                 "    except Exception as e:\n"
                 "        print('blocked', getattr(e, 'code', type(e).__name__))\n" % self.registry.url("/simple/"))
        hits = len(self.registry.hits)
        r = self.run_install("python", probe, [PY_PACKAGE])
        self.assertEqual(r.exit_code, 0, r.stderr)
        lines = r.stdout.decode().splitlines()[-2:]
        self.assertTrue(lines[0].startswith("blocked "), lines)
        self.assertEqual(lines[1], "blocked 403", lines)
        self.assertNotIn(b"reached", r.stdout)
        # the install fetched the page and the wheel, the code nothing
        self.assertEqual(len(self.registry.hits), hits + 2, self.registry.hits[hits:])

    def test_only_the_registries_are_reached(self):
        events = self.run_install("node", "console.log('never')", [ELSEWHERE_PACKAGE], stream=True, log_network=True)
        result = events[-1].exit
        self.assertNotEqual(result.exit_code, 0)
        hosts = [(e.host, e.allowed) for e in result.network_logs]
        self.assertIn((self.registry.host, True), hosts)
        self.assertIn(("elsewhere.invalid", False), hosts)

    def test_filtered_code_keeps_its_own_rules(self):
        probe = ("import urllib.request\n"
                 "try:\n"
                 "    print(urllib.request.urlopen(%r, timeout=5).status)\n"
                 "except Exception as e:\n"
                 "    print('blocked', getattr(e, 'code', type(e).__name__))\n" % self.registry.url("/simple/%s/" % PY_PACKAGE))
        req = self.d.request("python", CODE_PY + probe, timeout_ms=120000, network="filtered")
        req.options.network_filter.whitelist.append("^%s$" % self.registry.host)
        req.install_packages.append(PY_PACKAGE)
        r = self.d.execute(req, timeout=180)
        self.assertEqual(r.exit_code, 0, r.stderr)
        self.assertEqual(r.stdout.decode().splitlines()[-2:], ["hello from the wheel", "200"])
        req = self.d.request("python", CODE_PY + probe, timeout_ms=120000, network="filtered")
        req.options.network_filter.whitelist.append("^nothing\\.example$")
        req.install_packages.append(PY_PACKAGE)
        r = self.d.execute(req, timeout=180)
        self.assertEqual(r.exit_code, 0, r.stderr)
        self.assertEqual(r.stdout.decode().splitlines()[-2:], ["hello from the wheel", "blocked 403"])

    def test_bun_and_deno(self):
        r = self.run_install("bun", CODE_ESM, [NODE_PACKAGE])
        self.assertEqual(r.exit_code, 0, r.stderr)
        self.assertTrue(r.stdout.endswith(b"hello from the tarball"), r.stdout)
        code = "import p from 'npm:%s@1.0.0';\nconsole.log(p.hello());\n" % NODE_PACKAGE
        r = self.run_install("deno", code, [NODE_PACKAGE + "@1.0.0"])
        self.assertEqual(r.exit_code, 0, r.stderr)
        self.assertTrue(r.stdout.endswith(b"hello from the tarball"), r.stdout)

    def test_cli_install(self):
        r = subprocess.run([ISOL8, "run", "--host", "unix:" + self.d.socket, "--runtime", "python", "-e", CODE_PY,
                            "--install", PY_PACKAGE], stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=300)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout.decode().splitlines()[-1], "hello from the wheel")
        r = subprocess.run([ISOL8, "run", "--host", "unix:" + self.d.socket, "--runtime", "python", "-e", "1",
                            "--install", "isol8-no-such-package"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=300)
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn(b"Package install failed (exit code 1)", r.stderr)

    def test_session_keeps_installed_packages(self):
        sid = "pk-session-%d" % os.getpid()
        req = self.d.request("python", "x = 1", timeout_ms=120000)
        req.session_id = sid
        req.install_packages.append(PY_PACKAGE)
        r = self.d.execute(req, timeout=180)
        self.assertEqual(r.exit_code, 0, r.stderr)
        req = self.d.request("python", CODE_PY + "print(x)\n")
        req.session_id = sid
        r = self.d.execute(req, timeout=60)
        self.assertEqual(r.exit_code, 0, r.stderr)
        self.assertTrue(r.stdout.endswith(b"hello from the wheel\n1") or r.stdout.endswith(b"hello from the wheel\n1\n"),
                        r.stdout)

    def test_session_without_egress_refuses_a_later_install(self):
        sid = "pk-late-%d" % os.getpid()
        req = self.d.request("python", "x = 1", timeout_ms=60000)
        req.session_id = sid
        self.assertEqual(self.d.execute(req, timeout=60).exit_code, 0)
        req = self.d.request("python", CODE_PY, timeout_ms=60000)
        req.session_id = sid
        req.install_packages.append(PY_PACKAGE)
        with self.assertRaises(grpc.RpcError) as cm:
            self.d.execute(req, timeout=60)
        self.assertEqual(cm.exception.code(), grpc.StatusCode.FAILED_PRECONDITION)
        self.assertEqual(cm.exception.details(),
                         "install_packages: session \"%s\" was made with network \"none\" and no packages, so its "
                         "sandbox has no way out for an install (name packages in a session's first call, or give "
                         "it network \"filtered\")" % sid)
        # the session lives on
        req = self.d.request("python", "print(x)")
        req.session_id = sid
        r = self.d.execute(req, timeout=60)
        self.assertEqual((r.exit_code, r.stdout), (0, b"1"), r.stderr)


class Refusals(unittest.TestCase):
    """What is refused before anything runs."""

    @classmethod
    def setUpClass(cls):
        cls.d = isol8d.Daemon(ISOL8D, os.path.join(TMP, "refusals"), PB, ADMIN, HEALTH, flags=("--prewarm", "0"))

    @classmethod
    def tearDownClass(cls):
        assert cls.d.stop() == 0

    def refused(self, runtime, packages, **options):
        req = self.d.request(runtime, "print(1)", **options)
        req.install_packages.extend(packages)
        with self.assertRaises(grpc.RpcError) as cm:
            self.d.execute(req, timeout=60)
        return cm.exception

    def test_host_network(self):
        e = self.refused("python", ["numpy"], network="host")
        self.assertEqual(e.code(), grpc.StatusCode.INVALID_ARGUMENT)
        self.assertEqual(e.details(), "install_packages: packages are installed through the filtered egress proxy, "
                                      "never with network \"host\" (use network \"none\" or \"filtered\")")

    def test_option_smuggling(self):
        e = self.refused("python", ["numpy", "--index-url=http://evil.example/"])
        self.assertEqual(e.code(), grpc.StatusCode.INVALID_ARGUMENT)
        self.assertEqual(e.details(), "install_packages[1]: \"--index-url=http://evil.example/\" starts with \"-\" "
                                      "(a package name, not an installer option)")
        e = self.refused("node", ["a b"])
        self.assertIn("install_packages[0]: \"a b\" has a character", e.details())

    def test_bash_has_no_installer(self):
        e = self.refused("bash", ["jq"])
        self.assertEqual(e.code(), grpc.StatusCode.INVALID_ARGUMENT)
        self.assertIn("install_packages: the bash runtime has no package installer", e.details())

    def test_count_cap(self):
        e = self.refused("python", ["p%d" % i for i in range(65)])
        self.assertEqual(e.details(), "install_packages: 65 packages, more than 64")


def cli(*args, check=True):
    r = subprocess.run([ISOL8, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=900)
    if check and r.returncode != 0:
        raise AssertionError("isol8 %s failed (%d): %s %s" % (" ".join(args), r.returncode, r.stdout.decode(),
                                                             r.stderr.decode()))
    return r


def image_id(ref):
    return docker("image", "inspect", "--format", "{{.Id}}", ref).strip()


class Bake(unittest.TestCase):
    """`isol8 setup --python ... --node ...` against the fixture registry."""

    @classmethod
    def setUpClass(cls):
        cls.registry = Registry("127.0.0.1")
        for rt in ("base", "python", "node"):
            docker("tag", "isol8:" + rt, "%s:%s" % (PREFIX, rt))
        path = os.path.join(TMP, "bake.json")
        # node's list comes from the file, python's from the flag
        config(path, cls.registry, dependencies={"node": [NODE_PACKAGE]})
        cls.d = isol8d.Daemon(ISOL8D, os.path.join(TMP, "bake"), PB, ADMIN, HEALTH,
                              flags=("--config", path, "--prewarm", "0", "--image-prefix", PREFIX,
                                     "--base-image", PREFIX + ":base"))
        cls.host = "unix:" + cls.d.socket

    @classmethod
    def tearDownClass(cls):
        cls.d.cleanup(ADMIN.CleanupRequest(), timeout=60)
        assert cls.d.stop() == 0
        for rt in ("python", "node", "base"):
            subprocess.run(["docker", "rmi", "-f", "%s:%s" % (PREFIX, rt)], stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)

    def test_bake_then_run_then_no_rebuild(self):
        r = cli("setup", "python", "node", "--python", PY_PACKAGE, "--host", self.host)
        self.assertIn(b"[DONE] Setup complete!", r.stdout)
        self.assertIn(("[OK] %s:python: Built" % PREFIX).encode(), r.stdout)
        self.assertIn(("[OK] %s:node: Built" % PREFIX).encode(), r.stdout)
        labels = docker("image", "inspect", "--format", "{{index .Config.Labels \"isol8.packages\"}}",
                        "%s:python" % PREFIX).strip()
        self.assertEqual(labels, PY_PACKAGE)
        ids = (image_id("%s:python" % PREFIX), image_id("%s:node" % PREFIX))
        # the engine runs the baked images: the packages are there with network none
        r = self.d.run("python", CODE_PY)
        self.assertEqual((r.exit_code, r.stdout), (0, b"hello from the wheel"), r.stderr)
        for ext, code in (("cjs", CODE_CJS), ("mjs", CODE_ESM)):
            r = self.d.run("node", code, ext=ext)
            self.assertEqual((r.exit_code, r.stdout), (0, b"hello from the tarball"), (ext, r.stderr))
        # the same lists again: nothing is built
        hits = len(self.registry.hits)
        r = cli("setup", "python", "node", "--python", PY_PACKAGE, "--host", self.host)
        self.assertIn(("[OK] %s:python: Up to date" % PREFIX).encode(), r.stdout)
        self.assertIn(("[OK] %s:node: Up to date" % PREFIX).encode(), r.stdout)
        self.assertEqual(ids, (image_id("%s:python" % PREFIX), image_id("%s:node" % PREFIX)))
        self.assertEqual(len(self.registry.hits), hits)
        # an empty list drops the layer
        cli("setup", "python", "--python", "", "--host", self.host)
        self.assertEqual(image_id("%s:python" % PREFIX), image_id("isol8:python"))
        r = self.d.run("python", CODE_PY)
        self.assertNotEqual(r.exit_code, 0)
        self.assertIn(b"ModuleNotFoundError", r.stderr)
        # the replaced layer is not left behind untagged: removed then, or by
        # the next set-up once no sandbox runs it
        self.d.wait_clean(2)
        time.sleep(2)
        cli("setup", "python", "--python", "", "--host", self.host)
        gone = subprocess.run(["docker", "image", "inspect", ids[0]], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
        self.assertNotEqual(gone.returncode, 0)

    def test_bad_lists_are_refused(self):
        r = cli("setup", "python", "--python", "ok,-e.", "--host", self.host, check=False)
        self.assertEqual(r.returncode, 1)
        self.assertIn(b"packages[0].packages[1]: \"-e.\" starts with \"-\"", r.stderr)
        r = cli("setup", "deno", "--deno", "npm:chalk", "--host", self.host, check=False)
        self.assertEqual(r.returncode, 1)
        self.assertIn(b"deno packages cannot be baked", r.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)

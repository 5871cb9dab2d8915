#!/usr/bin/python3
"""isol8d run by its configuration file, against the real Docker engine.

The file's defaults reach the sandboxes (the container's own settings and
what the program sees) and key the prewarmed pools; the policy holds TCP
callers to its ceilings and permissions with PERMISSION_DENIED naming the
option and the limit, while the local socket's owner may use everything
unless localIsTrusted is false; options.cpu_limit is held to the host's
CPUs; a custom seccomp profile from the file is what the program runs under,
and a missing one stops isol8d; cleanup.autoPrune removes a dead daemon's
containers and this daemon's kept sandboxes past their age, never a live
daemon's nor this one's pooled ones.
"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

import grpc

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
import isol8d  # noqa: E402

SOURCE = os.environ["ISOL8_SOURCE_DIR"]
ISOL8 = os.environ["ISOL8"]
ISOL8D = os.environ["ISOL8D"]
TMP = tempfile.mkdtemp(prefix="isol8-config-daemon.")
PB, ADMIN, HEALTH = isol8d.messages(TMP, SOURCE)
KEY = "config-test-key"
docker = isol8d.docker


def write_config(name, doc):
    path = os.path.join(TMP, name + ".json")
    with open(path, "w") as f:
        json.dump(doc, f)
    return path


def start(name, doc, *flags, env=None):
    return isol8d.Daemon(ISOL8D, os.path.join(TMP, name), PB, ADMIN, HEALTH,
                         flags=("--config", write_config(name, doc), *flags), env=env)


def inspect(container, fmt):
    return docker("inspect", "-f", fmt, container).strip()


def tcp_port(d, timeout=10):
    deadline = time.time() + timeout
    while time.time() < deadline:
        with open(d.log_path) as f:
            m = re.search(r"listening on 127\.0\.0\.1:0 \(port (\d+)", f.read())
        if m:
            return int(m.group(1))
        time.sleep(0.05)
    raise AssertionError("no TCP port in the log of %s" % d.log_path)


class Defaults(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.d = start("defaults", {
            "maxConcurrent": 2,
            "defaults": {"timeoutMs": 1500, "memoryLimit": "128m", "pidsLimit": 20, "tmpSize": "16m",
                         "sandboxSize": "24m", "cpuLimit": 0.5},
            "pool": {"prewarm": {"bash": 1}, "maxWarm": 2},
        })

    @classmethod
    def tearDownClass(cls):
        cls.d.stop()

    def test_prewarmed_pool_has_the_configured_defaults(self):
        s = self.d.wait_clean(1)
        self.assertEqual((s.clean, s.pools), (1, 1), "only bash is prewarmed")
        (cid,) = self.d.containers()
        self.assertEqual(inspect(cid, "{{index .Config.Labels \"isol8.runtime\"}}"), "bash")
        self.assertEqual(inspect(cid, "{{.HostConfig.Memory}} {{.HostConfig.PidsLimit}} {{.HostConfig.NanoCpus}}"),
                         "%d 20 500000000" % (128 << 20))
        # a request without options takes it: no new sandbox
        r = self.d.run("bash", "df -m /tmp /sandbox | tail -n 2")
        self.assertEqual(r.exit_code, 0, r.stderr)
        self.assertEqual(r.container_id, cid)
        self.assertFalse(r.timings.cold)
        sizes = [line.split()[1] for line in r.stdout.decode().splitlines()]
        self.assertEqual(sizes, ["16", "24"])

    def test_timeout_from_the_file(self):
        t = time.time()
        r = self.d.run("bash", "sleep 10")
        self.assertTrue(r.timed_out)
        self.assertLess(time.time() - t, 6)

    def test_request_options_win(self):
        r = self.d.run("python", "print('ran')", pids_limit=30, timeout_ms=20000)
        self.assertEqual((r.exit_code, r.stdout), (0, b"ran"), r.stderr)
        self.assertTrue(r.timings.cold, "python was not prewarmed")
        # what the request sets wins; the file decides the rest
        self.assertEqual(inspect(r.container_id, "{{.HostConfig.PidsLimit}} {{.HostConfig.Memory}}"),
                         "30 %d" % (128 << 20))

    def test_cpu_past_the_host(self):
        with self.assertRaises(grpc.RpcError) as cm:
            self.d.run("bash", "true", cpu_limit=1000)
        self.assertEqual(cm.exception.code(), grpc.StatusCode.INVALID_ARGUMENT)
        self.assertEqual(cm.exception.details(),
                         "options.cpu_limit: 1000 is more than this host's %d CPUs" % os.cpu_count())


class Policy(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.d = start("policy", {
            "listen": ["127.0.0.1:0"],
            "pool": {"prewarm": 0},
            "policy": {"maxMemoryLimit": "256m", "maxTimeoutMs": 5000, "allowedImages": ["isol8:bash"]},
            "defaults": {"memoryLimit": "128m", "timeoutMs": 3000},
        }, env={"ISOL8_API_KEY": KEY})
        cls.port = tcp_port(cls.d)
        cls.remote = grpc.insecure_channel("127.0.0.1:%d" % cls.port)
        cls.remote_execute = cls.remote.unary_unary("/isol8.v1.Isol8/Execute",
                                                    request_serializer=PB.ExecuteRequest.SerializeToString,
                                                    response_deserializer=PB.ExecuteResult.FromString)

    @classmethod
    def tearDownClass(cls):
        cls.remote.close()
        cls.d.stop()

    def remote_run(self, code="echo ok", **kw):
        return self.remote_execute(self.d.request("bash", code, **kw), timeout=60,
                                   metadata=[("authorization", "Bearer " + KEY)])

    def denied(self, message, **kw):
        with self.assertRaises(grpc.RpcError) as cm:
            self.remote_run(**kw)
        self.assertEqual(cm.exception.code(), grpc.StatusCode.PERMISSION_DENIED, cm.exception.details())
        self.assertEqual(cm.exception.details(), message)

    def test_remote_within_the_policy(self):
        r = self.remote_run(memory_limit="256m", timeout_ms=5000)
        self.assertEqual((r.exit_code, r.stdout), (0, b"ok"))
        r = self.remote_run(image="isol8:bash")
        self.assertEqual((r.exit_code, r.stdout), (0, b"ok"))

    def test_remote_past_a_ceiling(self):
        self.denied("options.memory_limit: 1g is above this server's limit of 256m", memory_limit="1g")
        self.denied("timeout_ms: 6000 is above this server's limit of 5000 ms", timeout_ms=6000)

    def test_remote_weakening_the_sandbox(self):
        self.denied("options.network: \"host\" is not allowed by this server's policy (policy.allowHostNetwork)",
                    network="host")
        self.denied("options.seccomp: \"unconfined\" is not allowed by this server's policy "
                    "(policy.allowSeccompUnconfined)", seccomp="unconfined")
        self.denied("options.seccomp: \"custom\" with the caller's profile is not allowed by this server's policy "
                    "(policy.allowSeccompCustom)", seccomp="custom",
                    seccomp_profile='{"defaultAction": "SCMP_ACT_ALLOW"}')
        req = self.d.request("bash", "echo ok")
        req.options.readonly_root_fs.value = False
        with self.assertRaises(grpc.RpcError) as cm:
            self.remote_execute(req, timeout=60, metadata=[("authorization", "Bearer " + KEY)])
        self.assertEqual(cm.exception.code(), grpc.StatusCode.PERMISSION_DENIED)
        self.assertIn("policy.allowWritableRoot", cm.exception.details())
        self.denied("options.image: \"debian:bookworm-slim\" is not one of this server's allowed images "
                    "(policy.allowedImages)", image="debian:bookworm-slim")

    def test_local_owner_may_use_everything(self):
        r = self.d.run("bash", "echo local", memory_limit="1g", timeout_ms=6000)
        self.assertEqual((r.exit_code, r.stdout), (0, b"local"))
        self.assertEqual(inspect(r.container_id, "{{.HostConfig.Memory}}"), str(1 << 30))

    def test_cli_over_tcp_says_why(self):
        r = subprocess.run([ISOL8, "run", "--host", "127.0.0.1:%d" % self.port, "--key", KEY, "-r", "bash",
                            "--memory", "1g", "-e", "echo no"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=60)
        self.assertEqual(r.returncode, 1)
        self.assertEqual(r.stdout, b"")
        self.assertIn("options.memory_limit: 1g is above this server's limit of 256m", r.stderr.decode())


class UntrustedLocal(unittest.TestCase):
    def test_local_held_to_the_policy(self):
        d = start("untrusted", {"pool": {"prewarm": 0}, "policy": {"localIsTrusted": False}})
        try:
            with self.assertRaises(grpc.RpcError) as cm:
                d.run("bash", "true", network="host")
            self.assertEqual(cm.exception.code(), grpc.StatusCode.PERMISSION_DENIED)
            self.assertIn("policy.allowHostNetwork", cm.exception.details())
            self.assertEqual(d.run("bash", "echo fine").stdout, b"fine")
        finally:
            self.assertEqual(d.stop(), 0)


class Seccomp(unittest.TestCase):
    def test_custom_profile_from_the_file(self):
        profile = os.path.join(TMP, "no-getppid.json")
        with open(profile, "w") as f:
            json.dump({"defaultAction": "SCMP_ACT_ALLOW",
                       "syscalls": [{"names": ["getppid"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1}]}, f)
        d = start("seccomp", {"pool": {"prewarm": 0},
                              "security": {"seccomp": "custom", "customProfilePath": profile}})
        try:
            # getppid as a raw syscall (os.getppid does not report errors)
            code = ("import ctypes, os\nlibc = ctypes.CDLL(None, use_errno=True)\n"
                    "nr = {'x86_64': 110, 'aarch64': 173}[os.uname().machine]\n"
                    "print('allowed' if libc.syscall(nr) >= 0 else ctypes.get_errno())")
            r = d.run("python", code)
            self.assertEqual((r.exit_code, r.stdout), (0, b"1"), r.stderr)
            # a request that asks for strict does not get the file's profile
            r = d.run("python", code, seccomp="strict")
            self.assertEqual(r.stdout, b"allowed")
        finally:
            self.assertEqual(d.stop(), 0)

    def test_missing_profile_stops_isol8d(self):
        path = write_config("missing-profile", {"security": {"seccomp": "custom",
                                                            "customProfilePath": "nope/profile.json"}})
        r = subprocess.run([ISOL8D, "--config", path, "--socket", os.path.join(TMP, "never.sock")],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=30)
        self.assertEqual(r.returncode, 2)
        self.assertEqual(r.stderr.decode(),
                         "isol8d: %s: security.customProfilePath: \"%s/nope/profile.json\": No such file or "
                         "directory\n" % (path, TMP))
        self.assertFalse(os.path.exists(os.path.join(TMP, "never.sock")))


class Prune(unittest.TestCase):
    def fake(self, owner, instance="0123456789abcdef"):
        cid = docker("create", "--label", "isol8.managed=true", "--label", "isol8.owner=" + owner,
                     "--label", "isol8.instance=" + instance, "--label", "isol8.test=config_daemon",
                     "isol8:bash", "true").strip()
        self.addCleanup(lambda: subprocess.run(["docker", "rm", "-f", cid], stdout=subprocess.DEVNULL,
                                               stderr=subprocess.DEVNULL))
        return cid

    def exists(self, cid):
        return subprocess.run(["docker", "inspect", cid], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL).returncode == 0

    def test_auto_prune(self):
        live = start("prune-live", {"pool": {"prewarm": 0}, "cleanup": {"autoPrune": False}})
        self.addCleanup(live.stop)
        dead = self.fake(os.path.join(TMP, "gone", "isol8.sock"))
        of_live = self.fake(live.socket)
        d = start("prune", {"pool": {"prewarm": {"bash": 1}, "maxWarm": 1},
                            "cleanup": {"autoPrune": True, "maxContainerAgeMs": 2000}})
        try:
            self.assertEqual(d.wait_clean(1).clean, 1)
            kept = d.run("bash", "echo kept", persist=True, timeout_ms=5000)
            self.assertEqual(kept.stdout, b"kept")
            self.assertEqual(d.info(ADMIN.InfoRequest(), timeout=10).sandboxes.kept, 1)
            # the persist run took the warm sandbox; its replacement is the pooled one
            self.assertEqual(d.wait_clean(1).clean, 1)
            (pooled,) = [c for c in d.containers() if c != kept.container_id]
            deadline = time.time() + 20
            while time.time() < deadline and (self.exists(dead) or self.exists(kept.container_id)):
                time.sleep(0.2)
            self.assertFalse(self.exists(dead), "a dead daemon's container was not pruned")
            self.assertFalse(self.exists(kept.container_id), "a kept sandbox past its age was not pruned")
            self.assertEqual(d.info(ADMIN.InfoRequest(), timeout=10).sandboxes.kept, 0)
            self.assertTrue(self.exists(of_live), "a live daemon's container was pruned")
            self.assertIn(pooled, d.containers(), "a pooled sandbox was pruned")
            self.assertEqual(d.run("bash", "echo warm").container_id, pooled)
            with open(d.log_path) as f:
                self.assertRegex(f.read(), r"pruned \d+ containers older than 2000 ms")
        finally:
            self.assertEqual(d.stop(), 0)


def tearDownModule():
    """Every daemon of this file removed its containers when it stopped."""
    left = []
    for name in os.listdir(TMP):
        sock = os.path.join(TMP, name, "isol8.sock")
        if os.path.isdir(os.path.join(TMP, name)):
            left += docker("ps", "-aq", "--filter", "label=isol8.owner=" + sock).split()
    shutil.rmtree(TMP, ignore_errors=True)
    if left:
        raise AssertionError("containers left by the test daemons: %s" % left)


if __name__ == "__main__":
    unittest.main(verbosity=2)

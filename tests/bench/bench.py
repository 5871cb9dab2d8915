#!/usr/bin/python3
"""isol8's benchmarks, each beside its floor measured in the same run.

    tests/bench/bench.py [--build DIR] [--runs N] [--only NAME,...] [--executions N]

Benchmarks (names for --only):
  warm        hello world per runtime through a connected gRPC client (a pooled
              sandbox with its pre-started interpreter), against floor (b) `docker
              exec` and floor (c) `nsenter` into a running sandbox, same program
  cli         the same through the CLI with a warm daemon, and `isol8 version`
  cold        pool empty (a daemon that keeps no warm sandbox), against floor (a):
              create + start + wait + remove of a container with the sandbox's own
              settings running the same program, through the Docker API
  phases      where a warm execution's time goes, from the daemon's own timings
  throughput  executions/s of bash echo and python print with 1, 4 and 16 clients,
              and the same load through `docker exec`
  memory      daemon RSS idle, with the default pools, after --executions runs;
              memory per idle warm sandbox; fds and threads before and after
  session     a call in a persistent session (its interpreter driver keeps state)
              per runtime with a driver, against the warm ephemeral call and floors
              (b) and (c) into a running sandbox; and a 64 MiB PutFile / GetFile
              against `docker exec -i ... cat` into and out of the session's own container
  egress      HTTP through the filtered proxy (relay, proxy, dial per request) from
              inside a sandbox, against the same program in a host-network sandbox
              connecting directly (the floor); a 64 MiB download over CONNECT against
              the same direct (best of 3); and a warm hello world filtered against none

Each prints min / median / p95 / max in ms and the ratios. It starts its own isol8d
on a private socket and removes every container it made. Needs the images
(`isol8 setup`), a Docker engine, python3-grpcio, nsenter (util-linux).
"""
import argparse
import concurrent.futures
import http.client
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

import grpc

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
import protos  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
RUNTIMES = ["python", "node", "bun", "deno", "bash"]
HELLO = {
    "python": ("print('hello')", "py", ["python3"]),
    "node": ("console.log('hello')", "mjs", ["node"]),
    "bun": ("console.log('hello')", "ts", ["bun", "run"]),
    "deno": ("console.log('hello')", "ts", ["deno", "run", "--quiet", "--allow-all"]),
    "bash": ("echo hello", "sh", ["bash"]),
}
# The environment a run gets (as the daemon gives it), for the floors.
FLOOR_ENV = ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/sandbox",
             "LANG=C.UTF-8", "PYTHONUNBUFFERED=1", "PYTHONDONTWRITEBYTECODE=1", "DENO_DIR=/sandbox/.deno",
             "DENO_NO_UPDATE_CHECK=1", "NO_COLOR=1", "NODE_NO_WARNINGS=1"]


def stats(ms):
    ms = sorted(ms)
    p95 = ms[min(len(ms) - 1, int(round(0.95 * (len(ms) - 1))))]
    return {"min": ms[0], "median": statistics.median(ms), "p95": p95, "max": ms[-1], "n": len(ms)}


def fmt(s):
    return "min %7.2f  median %7.2f  p95 %7.2f  max %7.2f ms (n=%d)" % (
        s["min"], s["median"], s["p95"], s["max"], s["n"])


def timed(fn, runs, warmup=3, gap_s=0.0):
    for _ in range(warmup):
        fn()
    out = []
    for _ in range(runs):
        if gap_s:
            time.sleep(gap_s)
        t = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t) * 1000)
    return stats(out)


def run(cmd, **kw):
    return subprocess.run(cmd, check=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kw)


class DockerAPI:
    """The Engine API over its unix socket, one connection per request."""

    class Conn(http.client.HTTPConnection):
        def __init__(self, path):
            super().__init__("localhost")
            self.path = path

        def connect(self):
            self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.sock.connect(self.path)

    def __init__(self, path="/var/run/docker.sock"):
        self.path = path

    def call(self, method, url, body=None):
        c = self.Conn(self.path)
        headers = {"Content-Type": "application/json"} if body is not None else {}
        c.request(method, url, json.dumps(body) if body is not None else None, headers)
        r = c.getresponse()
        data = r.read()
        c.close()
        if r.status >= 300:
            raise RuntimeError("docker %s %s: %d %s" % (method, url, r.status, data[:300]))
        return json.loads(data) if data else None


class Daemon:
    def __init__(self, build, tmp, name, *flags):
        self.dir = os.path.join(tmp, name)
        os.makedirs(self.dir)
        self.socket = os.path.join(self.dir, "isol8.sock")
        self.log_path = os.path.join(self.dir, "isol8d.log")
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen([os.path.join(build, "server/daemon/isol8d"), "--socket", self.socket,
                                      "--log-level", "debug", *flags], stdout=self.log, stderr=subprocess.STDOUT)
        self.channel = grpc.insecure_channel("unix:" + self.socket)
        grpc.channel_ready_future(self.channel).result(timeout=30)
        self.execute = self.channel.unary_unary(
            "/isol8.v1.Isol8/Execute", request_serializer=PB.ExecuteRequest.SerializeToString,
            response_deserializer=PB.ExecuteResult.FromString)

    def run(self, runtime, code, session="", **options):
        req = PB.ExecuteRequest(code=code, runtime=runtime, session_id=session)
        for k, v in options.items():
            setattr(req.options, k, v)
        res = self.execute(req, timeout=60)
        if res.exit_code != 0:
            raise RuntimeError("%s exited %d: %s" % (runtime, res.exit_code, res.stderr[:300]))
        return res

    def containers(self):
        out = run(["docker", "ps", "-q", "--no-trunc", "--filter", "label=isol8.owner=" + self.socket])
        return out.stdout.decode().split()

    def wait_pools(self, want, timeout=90):
        """Waits until `want` sandboxes of this daemon run (its prewarm)."""
        deadline = time.time() + timeout
        while time.time() < deadline and len(self.containers()) < want:
            time.sleep(0.2)

    def rss_kb(self):
        return status_field(self.proc.pid, "VmRSS")

    def stop(self):
        self.channel.close()
        self.proc.terminate()
        self.proc.wait(timeout=60)
        self.log.close()


def status_field(pid, name):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(name + ":"):
                return int(line.split()[1])
    return -1


def sandbox_settings(api, daemon, runtime):
    """docker inspect of one of the daemon's sandboxes of runtime (a listed
    one may be removed before it is inspected: tried again)."""
    for _ in range(50):
        ids = run(["docker", "ps", "-q", "--no-trunc", "--filter", "label=isol8.owner=" + daemon.socket,
                   "--filter", "label=isol8.runtime=" + runtime]).stdout.decode().split()
        try:
            if ids:
                return api.call("GET", "/containers/%s/json" % ids[0])
        except RuntimeError:
            pass
        time.sleep(0.2)
    raise RuntimeError("no %s sandbox of the daemon to copy the settings of" % runtime)


def floor_labels(spec):
    """A floor container's labels: its image's say isol8.managed, so it
    names the bench daemon as its owner, and cleanups (which leave a live
    daemon's containers alone) leave it too."""
    return {"isol8.bench": "floor", "isol8.owner": spec["Config"]["Labels"]["isol8.owner"]}


class FloorSandbox:
    """A container with a pooled sandbox's own settings, running `sleep`, for
    the docker exec and nsenter floors; the programs are its /sandbox files."""

    def __init__(self, api, daemon, runtime, tmp):
        info = sandbox_settings(api, daemon, runtime)
        host = info["HostConfig"]
        rundir = tempfile.mkdtemp(dir=tmp)
        host["Binds"] = [b for b in host["Binds"] if b.endswith(":ro")] + [rundir + ":/.isol8/run"]
        body = {"Image": info["Config"]["Image"], "Entrypoint": ["sleep", "infinity"], "User": "0:0",
                "WorkingDir": "/sandbox", "NetworkDisabled": True, "HostConfig": host,
                "Labels": floor_labels(info)}
        self.api = api
        self.id = api.call("POST", "/containers/create", body)["Id"]
        api.call("POST", "/containers/%s/start" % self.id)
        self.pid = api.call("GET", "/containers/%s/json" % self.id)["State"]["Pid"]
        code, ext, argv = HELLO[runtime]
        self.path = "/sandbox/main." + ext
        # what the agent does at its start: /sandbox belongs to the sandbox user
        run(["docker", "exec", "-u", "0:0", self.id, "chown", "1000:1000", "/sandbox"])
        run(["docker", "exec", "-i", "-u", "1000:1000", self.id, "sh", "-c", "cat > " + self.path],
            input=code.encode())
        self.argv = argv + [self.path]

    def docker_exec(self):
        out = run(["docker", "exec", "-u", "1000:1000", "-w", "/sandbox"] +
                  sum((["-e", e] for e in FLOOR_ENV), []) + [self.id] + self.argv)
        assert out.stdout.strip() == b"hello", out

    def nsenter(self):
        out = run(["nsenter", "-t", str(self.pid), "-a", "-S", "1000", "-G", "1000", "--wdns=/sandbox",
                   "env", "-i"] + FLOOR_ENV + self.argv)
        assert out.stdout.strip() == b"hello", out

    def remove(self):
        self.api.call("DELETE", "/containers/%s?force=1" % self.id)


def bench_warm(ctx):
    d = ctx.daemon()
    print("\n## 1. Warm execution through a connected gRPC client (ms)")
    results = {}
    for rt in RUNTIMES:
        code = HELLO[rt][0]
        floor = FloorSandbox(ctx.api, d, rt, ctx.tmp)
        try:
            # a gap between calls lets the pool finish its reset and restart its interpreter
            warm = timed(lambda: d.run(rt, code), ctx.runs, gap_s=ctx.gap)
            de = timed(floor.docker_exec, ctx.runs)
            ns = timed(floor.nsenter, ctx.runs)
        finally:
            floor.remove()
        results[rt] = (warm, de, ns)
        print("%-6s isol8   %s" % (rt, fmt(warm)))
        print("%-6s docker exec %s" % ("", fmt(de)))
        print("%-6s nsenter %s" % ("", fmt(ns)))
        print("%-6s ratios: isol8/nsenter %.2f   isol8/docker exec %.2f" % (
            "", warm["median"] / ns["median"], warm["median"] / de["median"]))
    ctx.results["warm"] = results


def bench_cli(ctx):
    d = ctx.daemon()
    cli = os.path.join(ctx.build, "client/cli/isol8")
    env = dict(os.environ, ISOL8_SOCKET=d.socket)
    print("\n## 2. The CLI with a warm daemon (ms)")
    res = {}
    for rt in RUNTIMES:
        code = HELLO[rt][0]
        c = timed(lambda: run([cli, "run", "-r", rt, "-e", code], env=env), ctx.runs, gap_s=ctx.gap)
        g = timed(lambda: d.run(rt, code), ctx.runs, gap_s=ctx.gap)
        res[rt] = (c, g)
        print("%-6s isol8 run %s   connected client median %.2f: +%.2f ms" % (
            rt, fmt(c), g["median"], c["median"] - g["median"]))
    v = timed(lambda: run([cli, "version"], env=env), ctx.runs)
    print("isol8 version %s" % fmt(v))
    res["version"] = v
    ctx.results["cli"] = res


def cold_floor(api, spec, runtime, tmp):
    """Floor (a): a container with the sandbox's settings that writes the
    program file and runs it, as the sandbox user: created, started, waited
    for (it must exit 0) and removed through the Docker API. The file goes
    to /tmp: without the agent nothing gives the user /sandbox."""
    code, ext, argv = HELLO[runtime]
    path = "/tmp/main." + ext
    script = "printf '%%s' \"$0\" > %s && %s %s >/dev/null" % (path, " ".join(argv), path)
    rundir = tempfile.mkdtemp(dir=tmp)
    host = dict(spec["HostConfig"])
    host["Binds"] = [b for b in host["Binds"] if b.endswith(":ro")] + [rundir + ":/.isol8/run"]
    body = {"Image": spec["Config"]["Image"], "Entrypoint": ["sh", "-c", script, code],
            "User": "1000:1000", "WorkingDir": "/tmp", "Env": FLOOR_ENV + ["DENO_DIR=/tmp/.deno"],
            "NetworkDisabled": True,
            "HostConfig": host, "Labels": floor_labels(spec)}
    cid = api.call("POST", "/containers/create", body)["Id"]
    api.call("POST", "/containers/%s/start" % cid)
    status = api.call("POST", "/containers/%s/wait" % cid)["StatusCode"]
    api.call("DELETE", "/containers/%s?force=1" % cid)
    if status != 0:
        raise RuntimeError("the %s floor container exited %d" % (runtime, status))


def bench_cold(ctx):
    print("\n## 3. Cold execution: no warm sandbox (ms)")
    ref = ctx.daemon()  # for a sandbox's settings
    d = ctx.daemon("cold", "--prewarm", "0", "--max-warm", "0")
    res = {}
    for rt in RUNTIMES:
        spec = sandbox_settings(ctx.api, ref, rt)
        cold = timed(lambda: d.run(rt, HELLO[rt][0]), ctx.runs // 2 or 1, warmup=1)
        floor = timed(lambda: cold_floor(ctx.api, spec, rt, ctx.tmp), ctx.runs // 2 or 1, warmup=1)
        res[rt] = (cold, floor)
        print("%-6s isol8 cold %s" % (rt, fmt(cold)))
        print("%-6s floor (a)  %s   ratio %.2f" % ("", fmt(floor), cold["median"] / floor["median"]))
    ctx.results["cold"] = res


PHASE = re.compile(r"phases id=\S+ (.*)")


def bench_phases(ctx):
    d = ctx.daemon()
    print("\n## 5. Phases of a warm execution (daemon timings, medians in ms)")
    res = {}
    for rt in RUNTIMES:
        with open(d.log_path) as f:
            f.seek(0, 2)
            start = f.tell()
        for _ in range(ctx.runs):
            time.sleep(ctx.gap)
            d.run(rt, HELLO[rt][0])
        time.sleep(0.2)
        with open(d.log_path) as f:
            f.seek(start)
            lines = [PHASE.search(l) for l in f]
        rows = [dict(kv.split("=") for kv in m.group(1).split()) for m in lines if m]
        med = {k: statistics.median(int(r[k]) for r in rows) / 1000 for k in
               ("queue_us", "acquire_us", "exec_us", "first_output_us", "release_us")}
        pre = sum(int(r["prestarted"]) for r in rows)
        res[rt] = med
        print("%-6s queue %.2f  acquire %.2f  exec %.2f (first output at %.2f)  release %.2f   "
              "pre-started %d of %d" % (rt, med["queue_us"], med["acquire_us"], med["exec_us"],
                                        med["first_output_us"], med["release_us"], pre, len(rows)))
    ctx.results["phases"] = res


def load_test(fn, clients, seconds, warmup=2.0):
    """The steady state of `clients` callers looping on fn: after `warmup`
    unmeasured seconds (the pool grows to the load), `seconds` measured."""
    lat, lock = [], threading.Lock()
    begin = time.time()
    start, stop = begin + warmup, begin + warmup + seconds

    def worker():
        while time.time() < stop:
            began, t = time.time(), time.perf_counter()
            fn()
            if began >= start:
                with lock:
                    lat.append((time.perf_counter() - t) * 1000)

    with concurrent.futures.ThreadPoolExecutor(clients) as ex:
        for f in [ex.submit(worker) for _ in range(clients)]:
            f.result()
    return len(lat) / (time.time() - start), stats(lat)  # calls that began in the window


def bench_throughput(ctx):
    d = ctx.daemon()
    print("\n## 6. Throughput (executions/s; latency ms)")
    res = {}
    for rt in ("bash", "python"):
        floor = FloorSandbox(ctx.api, d, rt, ctx.tmp)
        try:
            for clients in (1, 4, 16):
                rate, lat = load_test(lambda: d.run(rt, HELLO[rt][0]), clients, ctx.seconds)
                frate, flat = load_test(floor.docker_exec, clients, ctx.seconds)
                res["%s-%d" % (rt, clients)] = (rate, lat, frate, flat)
                print("%-6s %2d clients: isol8 %6.1f/s p50 %.1f p95 %.1f | docker exec %5.1f/s p50 %.1f | "
                      "%.1fx, p95/p50 %.2f" % (rt, clients, rate, lat["median"], lat["p95"], frate,
                                               flat["median"], rate / frate, lat["p95"] / lat["median"]))
        finally:
            floor.remove()
    ctx.results["throughput"] = res


def sandbox_memory(cid):
    path = "/sys/fs/cgroup/memory/docker/%s/memory.usage_in_bytes" % cid
    try:
        with open(path) as f:
            return int(f.read()) // 1024
    except OSError:
        return -1


def shim_rss_kb(cid):
    out = subprocess.run(["pgrep", "-f", "containerd-shim.*" + cid[:12]], stdout=subprocess.PIPE)
    pids = [int(p) for p in out.stdout.split()]
    return sum(status_field(p, "VmRSS") for p in pids)


def bench_memory(ctx):
    print("\n## 7. Memory, fds, threads")
    d = ctx.daemon("memory")
    d.wait_pools(len(RUNTIMES))
    time.sleep(2)
    pid = d.proc.pid
    fds0, thr0, rss0 = len(os.listdir("/proc/%d/fd" % pid)), status_field(pid, "Threads"), d.rss_kb()
    print("daemon with the default pools: RSS %.1f MiB, %d fds, %d threads" % (rss0 / 1024, fds0, thr0))
    n, t = ctx.executions, time.time()
    with concurrent.futures.ThreadPoolExecutor(4) as ex:
        list(ex.map(lambda i: d.run("bash", "echo %d" % i), range(n)))
    time.sleep(3)
    fds1, thr1, rss1 = len(os.listdir("/proc/%d/fd" % pid)), status_field(pid, "Threads"), d.rss_kb()
    print("after %d executions (%.0f s): RSS %.1f MiB, %d fds, %d threads" % (
        n, time.time() - t, rss1 / 1024, fds1, thr1))
    per = [(sandbox_memory(c), shim_rss_kb(c)) for c in d.containers()]
    cg = statistics.median(p[0] for p in per)
    shim = statistics.median(p[1] for p in per)
    print("per idle warm sandbox (median of %d): cgroup memory %.1f MiB + containerd shim RSS %.1f MiB" % (
        len(per), cg / 1024, shim / 1024))
    ctx.results["memory"] = {"rss0_kb": rss0, "rss1_kb": rss1, "fds": (fds0, fds1), "threads": (thr0, thr1),
                             "sandbox_kb": cg, "shim_kb": shim}


class Context:
    def __init__(self, args):
        self.build = os.path.realpath(args.build)
        self.runs = args.runs
        self.gap = args.gap
        self.seconds = args.seconds
        self.executions = args.executions
        self.tmp = tempfile.mkdtemp(prefix="isol8-bench.")
        self.api = DockerAPI()
        self.daemons = {}
        self.results = {}

    def daemon(self, name="default", *flags):
        if name not in self.daemons:
            self.daemons[name] = Daemon(self.build, self.tmp, name, *flags)
            self.daemons[name].wait_pools(len(RUNTIMES) if not flags else 0)
        return self.daemons[name]

    def close(self):
        for d in self.daemons.values():
            d.stop()
        out = run(["docker", "ps", "-aq", "--filter", "label=isol8.bench=floor"]).stdout.split()
        for cid in out:
            self.api.call("DELETE", "/containers/%s?force=1" % cid.decode())
        shutil.rmtree(self.tmp, ignore_errors=True)


def bench_session(ctx):
    d = ctx.daemon()
    print("\n## 7. Persistent sessions (ms)")
    res = {}
    for rt in ("python", "node", "bash"):
        code = HELLO[rt][0]
        sid = "bench-" + rt
        d.run(rt, code, session=sid)
        floor = FloorSandbox(ctx.api, d, rt, ctx.tmp)
        try:
            call = timed(lambda: d.run(rt, code, session=sid), ctx.runs)
            warm = timed(lambda: d.run(rt, code), ctx.runs, gap_s=ctx.gap)
            de = timed(floor.docker_exec, ctx.runs)
            ns = timed(floor.nsenter, ctx.runs)
        finally:
            floor.remove()
        res[rt] = {"session": call, "warm": warm, "docker_exec": de, "nsenter": ns}
        print("%-6s session call %s" % (rt, fmt(call)))
        print("%-6s warm call %.2f   nsenter %.2f   docker exec %.2f (medians)" % (
            "", warm["median"], ns["median"], de["median"]))
        print("%-6s ratios: session/warm %.2f   session/nsenter %.2f   session/docker exec %.2f" % (
            "", call["median"] / warm["median"], call["median"] / ns["median"], call["median"] / de["median"]))
    # files: 64 MiB through PutFile/GetFile, and docker cp into the same container
    size = 64 << 20
    blob = os.urandom(size)
    r = d.run("bash", "true", session="bench-files")
    put = d.channel.stream_unary("/isol8.v1.Isol8/PutFile", request_serializer=PB.PutFileChunk.SerializeToString,
                                 response_deserializer=PB.PutFileResult.FromString)
    get = d.channel.unary_stream("/isol8.v1.Isol8/GetFile", request_serializer=PB.GetFileRequest.SerializeToString,
                                 response_deserializer=PB.FileChunk.FromString)

    def chunks():
        for off in range(0, size, 1 << 20):
            yield PB.PutFileChunk(session_id="bench-files" if off == 0 else "", path="/sandbox/big.bin" if off == 0 else "",
                                  data=blob[off:off + (1 << 20)])

    def do_put():
        assert put(chunks(), timeout=120).size == size

    def do_get():
        n = sum(len(c.data) for c in get(PB.GetFileRequest(session_id="bench-files", path="/sandbox/big.bin"),
                                         timeout=120))
        assert n == size

    local = os.path.join(ctx.tmp, "big.bin")
    with open(local, "wb") as f:
        f.write(blob)
    back = os.path.join(ctx.tmp, "back.bin")

    # docker cp cannot write a read-only root's tmpfs: the floor streams through docker exec
    def cp_in():
        with open(local, "rb") as f:
            subprocess.run(["docker", "exec", "-i", "-u", "1000:1000", r.container_id, "sh", "-c",
                            "cat > /sandbox/cp.bin"], stdin=f, check=True)

    def cp_out():
        with open(back, "wb") as f:
            subprocess.run(["docker", "exec", "-u", "1000:1000", r.container_id, "cat", "/sandbox/cp.bin"],
                           stdout=f, check=True)
        assert os.path.getsize(back) == size

    runs = max(3, ctx.runs // 5)
    tp, tg = timed(do_put, runs, warmup=1), timed(do_get, runs, warmup=1)
    ci, co = timed(cp_in, runs, warmup=1), timed(cp_out, runs, warmup=1)
    for name, ours, floor in (("put", tp, ci), ("get", tg, co)):
        print("64 MiB %s: isol8 %s (%.0f MiB/s); docker exec cat median %.1f ms: ratio %.2f" % (
            name, fmt(ours), 64 / (ours["median"] / 1000), floor["median"], ours["median"] / floor["median"]))
    res["files"] = {"put": tp, "get": tg, "docker_exec_in": ci, "docker_exec_out": co}
    ctx.results["session"] = res


EGRESS_PROBE = r"""
import json, os, socket, time, urllib.request
url, n, big = os.environ["FIX_URL"], int(os.environ["N"]), int(os.environ["BIG"])
proxied = bool(os.environ.get("HTTP_PROXY"))
opener = urllib.request.build_opener() if proxied else urllib.request.build_opener(urllib.request.ProxyHandler({}))
ms = []
for _ in range(n):
    t = time.perf_counter()
    assert opener.open(url + "/ok", timeout=20).read() == b"ok"
    ms.append((time.perf_counter() - t) * 1000)
host, port = url.split("//")[1].split(":")
big_ms = []
for _ in range(3):
    t = time.perf_counter()
    if proxied:
        s = socket.create_connection(("127.0.0.1", 8118))
        s.sendall(("CONNECT %s:%s HTTP/1.1\r\n\r\n" % (host, port)).encode())
        head = b""
        while b"\r\n\r\n" not in head:
            head += s.recv(1)
    else:
        s = socket.create_connection((host, int(port)))
    s.sendall(("GET /big/%d HTTP/1.0\r\n\r\n" % big).encode())
    got = 0
    while True:
        b = s.recv(1 << 16)
        if not b:
            break
        got += len(b)
    s.close()
    assert got > big, got
    big_ms.append((time.perf_counter() - t) * 1000)
print(json.dumps({"ms": ms, "big_ms": min(big_ms)}))
"""


def egress_fixture():
    """An HTTP server on 127.0.0.2: /ok, and /big/N (N bytes)."""
    import http.server

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.0"

        def do_GET(self):
            body_len = int(self.path.split("/")[2]) if self.path.startswith("/big/") else 2
            self.send_response(200)
            self.send_header("Content-Length", str(body_len))
            self.end_headers()
            if body_len == 2:
                self.wfile.write(b"ok")
                return
            chunk = b"x" * (1 << 20)
            for off in range(0, body_len, len(chunk)):
                self.wfile.write(chunk[:min(len(chunk), body_len - off)])

        def log_message(self, *args):
            pass

    srv = http.server.ThreadingHTTPServer(("127.0.0.2", 0), Handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv


def bench_egress(ctx):
    print("\n## 8. Filtered egress (ms)")
    srv = egress_fixture()
    conf = os.path.join(ctx.tmp, "egress.config.json")
    with open(conf, "w") as f:
        json.dump({"network": {"allowedRanges": ["127.0.0.2"]}, "pool": {"prewarm": {"python": 1}}}, f)
    d = ctx.daemon("egress", "--config", conf)
    url = "http://127.0.0.2:%d" % srv.server_address[1]
    n, big = max(ctx.runs, 50), 64 << 20
    res = {}
    try:
        def probe(network):
            req = PB.ExecuteRequest(code=EGRESS_PROBE, runtime="python", timeout_ms=120000)
            for k, v in {"FIX_URL": url, "N": str(n), "BIG": str(big)}.items():
                req.env[k] = v
            req.options.network = network
            if network == "filtered":
                req.options.network_filter.whitelist.append("^127\\.0\\.0\\.2$")
            r = d.execute(req, timeout=180)
            if r.exit_code != 0:
                raise RuntimeError("egress probe (%s) exited %d: %s" % (network, r.exit_code, r.stderr[:400]))
            return json.loads(r.stdout)
        proxied, direct = probe("filtered"), probe("host")
        get_p, get_d = stats(proxied["ms"][3:]), stats(direct["ms"][3:])
        print("GET, new connection each   proxy  %s" % fmt(get_p))
        print("                           direct %s" % fmt(get_d))
        print("                           ratio proxy/direct %.2f (+%.2f ms per request)" % (
            get_p["median"] / get_d["median"], get_p["median"] - get_d["median"]))
        print("64 MiB over CONNECT        proxy  %8.1f ms (%.0f MiB/s)" % (
            proxied["big_ms"], 64 / (proxied["big_ms"] / 1000)))
        print("                           direct %8.1f ms (%.0f MiB/s)   ratio %.2f" % (
            direct["big_ms"], 64 / (direct["big_ms"] / 1000), proxied["big_ms"] / direct["big_ms"]))
        hello = HELLO["python"][0]
        filt = timed(lambda: d.run("python", hello, network="filtered"), ctx.runs, gap_s=ctx.gap)
        none = timed(lambda: d.run("python", hello), ctx.runs, gap_s=ctx.gap)
        print("warm hello, filtered       %s" % fmt(filt))
        print("warm hello, none           %s   ratio filtered/none %.2f" % (fmt(none), filt["median"] / none["median"]))
        res = {"get_proxy": get_p, "get_direct": get_d, "big_proxy_ms": proxied["big_ms"],
               "big_direct_ms": direct["big_ms"], "hello_filtered": filt, "hello_none": none}
    finally:
        srv.shutdown()
    ctx.results["egress"] = res


BENCHES = {"warm": bench_warm, "cli": bench_cli, "cold": bench_cold, "phases": bench_phases,
           "throughput": bench_throughput, "memory": bench_memory, "session": bench_session,
           "egress": bench_egress}


def main():
    global PB
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--build", default=os.path.join(REPO, "build"))
    p.add_argument("--runs", type=int, default=30)
    p.add_argument("--gap", type=float, default=0.15, help="seconds between warm calls (default 0.15)")
    p.add_argument("--seconds", type=float, default=8, help="length of each throughput load")
    p.add_argument("--executions", type=int, default=10000, help="executions of the memory benchmark")
    p.add_argument("--only", default=",".join(BENCHES))
    p.add_argument("--json", help="also write the results here")
    args = p.parse_args()
    gen = tempfile.mkdtemp(prefix="isol8-bench-pb.")
    PB, = protos.generate(gen, "isol8/v1/isol8.proto")
    print("# isol8 benchmarks on %s (%d cores), %s" % (
        socket.gethostname(), os.cpu_count(), time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())))
    ctx = Context(args)
    try:
        for name in args.only.split(","):
            BENCHES[name](ctx)
    finally:
        ctx.close()
        shutil.rmtree(gen, ignore_errors=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(ctx.results, f, indent=1, default=str)


if __name__ == "__main__":
    main()

"""A private isol8d for integration tests: started on a socket in a temporary
directory (with extra flags and environment), called over gRPC from Python,
stopped with SIGTERM. Needs $ISOL8D (the binary) and $ISOL8_SOURCE_DIR."""
import os
import subprocess
import time

import grpc

import protos


def docker(*args):
    r = subprocess.run(["docker", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if r.returncode != 0:
        raise AssertionError("docker %s failed (%d): %s" % (" ".join(args), r.returncode, r.stderr.decode()))
    return r.stdout.decode()


def messages(tmp, source):
    """(isol8_pb2, admin_pb2, health_pb2) generated into tmp."""
    return protos.generate(tmp, "isol8/v1/isol8.proto", "isol8/v1/admin.proto", "grpc/health/v1/health.proto",
                           source=source)


# A Python program that prints the Name: line of every uid-1000 process but
# itself, as a list ("[]" when there is none).
OTHER_UID1000_PY = ("import os\n"
                    "me = os.getpid()\n"
                    "found = []\n"
                    "for p in os.listdir('/proc'):\n"
                    "    if p.isdigit() and int(p) != me:\n"
                    "        try:\n"
                    "            st = open('/proc/%s/status' % p).read()\n"
                    "        except OSError:\n"
                    "            continue\n"
                    "        if '\\nUid:\\t1000' in st:\n"
                    "            found.append(st.split('\\n')[0])\n"
                    "print(found)\n")


def vm_rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS for pid %d" % pid)


class Daemon:
    """isol8d on dir/isol8.sock; env is added to the test's environment."""

    def __init__(self, binary, dir, pb, admin, health, flags=(), env=None):
        os.makedirs(dir, exist_ok=True)
        self.pb, self.admin, self.health_pb = pb, admin, health
        self.socket = os.path.join(dir, "isol8.sock")
        self.log_path = os.path.join(dir, "isol8d.log")
        self.log = open(self.log_path, "w")
        full_env = dict(os.environ)
        full_env.update(env or {})
        # Under AddressSanitizer freed chunks wait in its quarantine (256 MiB
        # by default), which would count as the daemon's memory; a small one
        # keeps the tests' RSS checks meaningful in a sanitizer build too.
        full_env["ASAN_OPTIONS"] = ":".join(o for o in (full_env.get("ASAN_OPTIONS", ""), "quarantine_size_mb=8") if o)
        self.proc = subprocess.Popen([binary, "--socket", self.socket, *flags], stdout=self.log,
                                     stderr=subprocess.STDOUT, env=full_env)
        self.channel = grpc.insecure_channel("unix:" + self.socket,
                                             options=[("grpc.max_receive_message_length", 64 << 20)])
        grpc.channel_ready_future(self.channel).result(timeout=30)
        unary, stream = self.channel.unary_unary, self.channel.unary_stream
        self.execute = self.method(unary, "/isol8.v1.Isol8/Execute", pb.ExecuteRequest, pb.ExecuteResult)
        self.execute_stream = self.method(stream, "/isol8.v1.Isol8/ExecuteStream", pb.ExecuteRequest,
                                          pb.ExecuteEvent)
        self.info = self.method(unary, "/isol8.v1.Admin/Info", admin.InfoRequest, admin.InfoResult)
        self.cleanup = self.method(unary, "/isol8.v1.Admin/Cleanup", admin.CleanupRequest, admin.CleanupResult)
        self.health = self.method(unary, "/grpc.health.v1.Health/Check", health.HealthCheckRequest,
                                  health.HealthCheckResponse)

    @staticmethod
    def method(kind, path, request, response):
        """A callable for one RPC: kind is the channel's unary_unary or unary_stream."""
        return kind(path, request_serializer=request.SerializeToString, response_deserializer=response.FromString)

    def request(self, runtime, code, env=None, secrets=None, stdin=b"", timeout_ms=0, ext="", **options):
        req = self.pb.ExecuteRequest(code=code, runtime=runtime, stdin=stdin, timeout_ms=timeout_ms,
                                     file_extension=ext)
        for k, v in (env or {}).items():
            req.env[k] = v
        for k, v in (secrets or {}).items():
            req.options.secrets[k] = v
        for k, v in options.items():
            setattr(req.options, k, v)
        return req

    def run(self, runtime, code, deadline=60, **kw):
        """Execute; the ExecuteResult."""
        return self.execute(self.request(runtime, code, **kw), timeout=deadline)

    def stream(self, runtime, code, deadline=60, **kw):
        """ExecuteStream; (stdout bytes, stderr bytes, error strings, exit result)."""
        out, err, errors, result = [], [], [], None
        for ev in self.execute_stream(self.request(runtime, code, **kw), timeout=deadline):
            kind = ev.WhichOneof("event")
            if kind == "stdout":
                out.append(ev.stdout)
            elif kind == "stderr":
                err.append(ev.stderr)
            elif kind == "error":
                errors.append(ev.error)
            elif kind == "exit":
                result = ev.exit
        return b"".join(out), b"".join(err), errors, result

    def containers(self, running_only=False):
        """The ids of this daemon's containers (running_only: of those running)."""
        return docker("ps", "-q" if running_only else "-aq", "--no-trunc", "--filter",
                      "label=isol8.owner=" + self.socket).split()

    def wait_containers(self, n, timeout=60):
        """containers() once there are n of them, or at the timeout."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            have = self.containers()
            if len(have) == n:
                return have
            time.sleep(0.2)
        return self.containers()

    def wait_clean(self, n=1, timeout=30):
        deadline = time.time() + timeout
        while time.time() < deadline:
            s = self.info(self.admin.InfoRequest(), timeout=10).sandboxes
            if s.clean >= n and s.resetting == 0 and s.starting == 0:
                return s
            time.sleep(0.05)
        return self.info(self.admin.InfoRequest(), timeout=10).sandboxes

    def stop(self):
        """SIGTERM; the exit status."""
        self.channel.close()
        self.proc.terminate()
        status = self.proc.wait(timeout=60)
        self.log.close()
        return status

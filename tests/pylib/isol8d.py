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
        self.proc = subprocess.Popen([binary, "--socket", self.socket, *flags], stdout=self.log,
                                     stderr=subprocess.STDOUT, env=full_env)
        self.channel = grpc.insecure_channel("unix:" + self.socket,
                                             options=[("grpc.max_receive_message_length", 64 << 20)])
        grpc.channel_ready_future(self.channel).result(timeout=30)
        self.execute = self.channel.unary_unary("/isol8.v1.Isol8/Execute",
                                                request_serializer=pb.ExecuteRequest.SerializeToString,
                                                response_deserializer=pb.ExecuteResult.FromString)
        self.execute_stream = self.channel.unary_stream("/isol8.v1.Isol8/ExecuteStream",
                                                        request_serializer=pb.ExecuteRequest.SerializeToString,
                                                        response_deserializer=pb.ExecuteEvent.FromString)
        self.info = self.channel.unary_unary("/isol8.v1.Admin/Info",
                                             request_serializer=admin.InfoRequest.SerializeToString,
                                             response_deserializer=admin.InfoResult.FromString)
        self.health = self.channel.unary_unary("/grpc.health.v1.Health/Check",
                                               request_serializer=health.HealthCheckRequest.SerializeToString,
                                               response_deserializer=health.HealthCheckResponse.FromString)

    def request(self, runtime, code, env=None, secrets=None, stdin=b"", timeout_ms=0, **options):
        req = self.pb.ExecuteRequest(code=code, runtime=runtime, stdin=stdin, timeout_ms=timeout_ms)
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

    def containers(self):
        return docker("ps", "-aq", "--no-trunc", "--filter", "label=isol8.owner=" + self.socket).split()

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

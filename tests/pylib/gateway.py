"""isol8-gateway for integration tests: a private isol8d (tests/pylib/isol8d.py)
with the gateway in front of it on a free loopback port, plain HTTP helpers
(http.client: every status comes back, none raises), a Server-Sent Events
reader that frames by the SSE rules, a minimal WebSocket client (RFC 6455,
text and close frames), and the OpenAPI document's schemas as validators.
Needs $ISOL8D, $ISOL8_GATEWAY and $ISOL8_SOURCE_DIR."""
import base64
import hashlib
import http.client
import json
import os
import re
import select
import socket
import struct
import subprocess
import time

import isol8d

KEY = "gateway-test-key"
QUARANTINE_MB = 8
SOURCE = os.environ.get("ISOL8_SOURCE_DIR", os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))
OPENAPI_PATH = os.path.join(SOURCE, "schema", "openapi.yaml")


# ---- the processes -------------------------------------------------------

class Gateway:
    """isol8-gateway --listen 127.0.0.1:0 --upstream UPSTREAM [--key KEY]; the
    port comes from --ready-fd. key=None starts it without a key of its own."""

    def __init__(self, binary, upstream, log_path, key=KEY, flags=()):
        self.key = key
        self.log_path = log_path
        self.log = open(log_path, "w")
        r, w = os.pipe()
        args = [binary, "--listen", "127.0.0.1:0", "--upstream", upstream, "--ready-fd", str(w), *flags]
        if key is not None:
            args += ["--key", key]
        env = dict(os.environ)
        # a small ASan quarantine, as for isol8d (tests/pylib/isol8d.py): RSS checks hold in a sanitizer build
        env["ASAN_OPTIONS"] = ":".join(o for o in (env.get("ASAN_OPTIONS", ""),
                                                   "quarantine_size_mb=%d" % QUARANTINE_MB) if o)
        self.proc = subprocess.Popen(args, stdout=self.log, stderr=subprocess.STDOUT, pass_fds=(w,), env=env)
        os.close(w)
        try:
            self.port = int(read_line(r, 30, "the gateway's --ready-fd (log: %s)" % log_path))
        finally:
            os.close(r)
        self.pid = self.proc.pid

    def rss_kb(self):
        return isol8d.vm_rss_kb(self.pid)

    def sanitized(self):
        """Whether this is an AddressSanitizer build (whose freed memory waits
        in its quarantine, QUARANTINE_MB here, before it is reused)."""
        with open("/proc/%d/maps" % self.pid) as f:
            return "libasan" in f.read()

    def alive(self):
        return self.proc.poll() is None

    def stop(self):
        """SIGTERM; the exit status."""
        if self.proc.poll() is None:
            self.proc.terminate()
        try:
            status = self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            status = self.proc.wait()
            raise AssertionError("isol8-gateway did not stop on SIGTERM within 30 s (log: %s)" % self.log_path)
        finally:
            self.log.close()
        return status


def read_line(fd, timeout, what):
    deadline = time.time() + timeout
    data = b""
    while not data.endswith(b"\n"):
        left = deadline - time.time()
        if left <= 0 or not select.select([fd], [], [], left)[0]:
            raise AssertionError("no line from %s within %d s" % (what, timeout))
        chunk = os.read(fd, 64)
        if not chunk:
            raise AssertionError("%s closed without a line (got %r)" % (what, data))
        data += chunk
    return data.decode().strip()


class Stack:
    """isol8d on dir/d/isol8.sock (with --key key) plus the gateway in front
    of it (with --key key)."""

    def __init__(self, dir, daemon_flags=("--prewarm", "1"), gateway_flags=(), key=KEY):
        self.dir = dir
        os.makedirs(dir, exist_ok=True)
        self.pb, self.admin, self.health = isol8d.messages(dir, SOURCE)
        # isol8d has the key too: the gateway sends its key upstream, and
        # isol8d checks a key it is sent, on its unix socket as well
        self.daemon = isol8d.Daemon(os.environ["ISOL8D"], os.path.join(dir, "d"), self.pb, self.admin,
                                    self.health, flags=tuple(daemon_flags) + (("--key", key) if key else ()))
        try:
            self.gateway = Gateway(os.environ["ISOL8_GATEWAY"], "unix:" + self.daemon.socket,
                                   os.path.join(dir, "gateway.log"), key=key, flags=gateway_flags)
        except BaseException:
            self.daemon.stop()
            raise
        self.port = self.gateway.port
        self.key = key

    def client(self, key="default", timeout=120):
        return Http(self.port, self.key if key == "default" else key, timeout=timeout)

    def stop(self):
        """Stops both; raises when either exits non-zero."""
        g = self.gateway.stop()
        d = self.daemon.stop()
        assert g == 0, "isol8-gateway exited %d (log: %s)" % (g, self.gateway.log_path)
        assert d == 0, "isol8d exited %d (log: %s)" % (d, self.daemon.log_path)


# ---- HTTP ----------------------------------------------------------------

class Response:
    def __init__(self, status, reason, headers, body):
        self.status, self.reason, self.headers, self.body = status, reason, headers, body

    @property
    def content_type(self):
        return (self.headers.get("content-type") or "").split(";")[0].strip()

    def json(self):
        try:
            return json.loads(self.body)
        except ValueError as e:
            raise AssertionError("status %d: body is not JSON (%s): %r" % (self.status, e, self.body[:300]))

    def __repr__(self):
        return "<%d %s %r>" % (self.status, self.content_type, self.body[:300])


class Http:
    """One client of the gateway: each call on a new connection."""

    def __init__(self, port, key=KEY, timeout=120):
        self.port, self.key, self.timeout = port, key, timeout

    def headers(self, extra=None, body=None):
        h = {}
        if self.key is not None:
            h["Authorization"] = "Bearer " + self.key
        if body is not None:
            h["Content-Type"] = "application/json"
        h.update(extra or {})
        return h

    def connect(self, timeout=None):
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout or self.timeout)

    def request(self, method, path, body=None, headers=None, raw=None):
        """body: a JSON value to send; raw: bytes sent as they are."""
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        conn = self.connect()
        try:
            conn.request(method, path, body=data, headers=self.headers(headers, data))
            r = conn.getresponse()
            return Response(r.status, r.reason, {k.lower(): v for k, v in r.getheaders()}, r.read())
        finally:
            conn.close()

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, body=None, **kw):
        return self.request("POST", path, body=body, **kw)

    def delete(self, path, **kw):
        return self.request("DELETE", path, **kw)

    def execute(self, request, options=None, session=None):
        return self.post("/execute", envelope(request, options, session))

    def stream(self, request, options=None, session=None):
        """POST /execute/stream: (Response without body, [events], raw text). A
        non-200 answer has its body and no events."""
        conn = self.connect()
        data = json.dumps(envelope(request, options, session)).encode()
        try:
            conn.request("POST", "/execute/stream", body=data, headers=self.headers(None, data))
            r = conn.getresponse()
            headers = {k.lower(): v for k, v in r.getheaders()}
            if r.status != 200:
                return Response(r.status, r.reason, headers, r.read()), [], ""
            reader = SseReader(r)
            events = list(reader.events())
            return Response(r.status, r.reason, headers, b""), events, reader.raw
        finally:
            conn.close()


def envelope(request, options=None, session=None):
    body = {"request": request}
    if options is not None:
        body["options"] = options
    if session is not None:
        body["sessionId"] = session
    return body


def b64(data):
    return base64.b64encode(data).decode()


def unb64(text):
    return base64.b64decode(text, validate=True)


def sha256(data):
    return hashlib.sha256(data).hexdigest()


# ---- Server-Sent Events --------------------------------------------------

class SseReader:
    """Reads a text/event-stream by the rules of the HTML standard's parser:
    lines end in LF (or CR LF), a line starting with ':' is a comment, a
    field line is NAME[: VALUE] (one space after the colon dropped), a
    blank line dispatches the event built from the data lines (joined with
    LF). The original's events are JSON, one data line each."""

    def __init__(self, fp):
        self.fp = fp
        self.raw = ""
        self.comments = []
        self.pending = []  # lines of the event being built

    def lines(self):
        while True:
            line = self.fp.readline()
            if not line:
                return
            text = line.decode("utf-8")
            self.raw += text
            yield text.rstrip("\n").rstrip("\r") if text.endswith("\n") else text

    def messages(self):
        """(event name, data) per dispatched event."""
        data, name = [], "message"
        for line in self.lines():
            if line == "":
                if data:
                    yield name, "\n".join(data)
                data, name = [], "message"
                continue
            if line.startswith(":"):
                self.comments.append(line)
                continue
            field, _, value = line.partition(":")
            if value.startswith(" "):
                value = value[1:]
            if field == "data":
                data.append(value)
            elif field == "event":
                name = value
        self.pending = data  # an event the stream cut before its blank line

    def events(self):
        for name, data in self.messages():
            if name != "message":
                raise AssertionError("unexpected SSE event name %r" % name)
            yield json.loads(data)


FRAME_RE = re.compile(r"\A(?:(?::[^\n]*\n\n)|(?:data: \{[^\n]*\}\n\n))*\Z")


def sse_framing_ok(raw):
    """Every event is exactly one `data: {json}` line and a blank line;
    comments are `:` lines and a blank line."""
    return FRAME_RE.match(raw) is not None


# ---- WebSocket -----------------------------------------------------------

class WebSocket:
    """A client connection to GET /execute/ws (RFC 6455): text messages out
    (masked), text and close frames in (pings answered)."""

    def __init__(self, port, key=KEY, path="/execute/ws", timeout=60):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        nonce = base64.b64encode(os.urandom(16)).decode()
        req = ("GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
               "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n" % (path, port, nonce))
        if key is not None:
            req += "Authorization: Bearer %s\r\n" % key
        self.sock.sendall((req + "\r\n").encode())
        self.buf = b""
        head = self.read_until(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        self.status = int(lines[0].split()[1])
        self.headers = {}
        for line in lines[1:]:
            k, _, v = line.partition(":")
            self.headers[k.strip().lower()] = v.strip()
        self.body = b""
        if self.status == 101:
            want = base64.b64encode(hashlib.sha1((nonce + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").encode())
                                    .digest()).decode()
            if self.headers.get("sec-websocket-accept") != want:
                raise AssertionError("Sec-WebSocket-Accept %r, expected %r" %
                                     (self.headers.get("sec-websocket-accept"), want))
        else:
            n = int(self.headers.get("content-length", "0"))
            while len(self.buf) < n:
                chunk = self.sock.recv(65536)
                if not chunk:
                    break
                self.buf += chunk
            self.body = self.buf[:n]
        self.close_code = None
        self.close_reason = None

    def read_until(self, marker):
        while marker not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise AssertionError("connection closed before %r (got %r)" % (marker, self.buf[:200]))
            self.buf += chunk
        head, _, self.buf = self.buf.partition(marker)
        return head

    def read_exact(self, n):
        while len(self.buf) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError("connection closed mid-frame")
            self.buf += chunk
        data, self.buf = self.buf[:n], self.buf[n:]
        return data

    def send_frame(self, opcode, payload):
        header = bytes([0x80 | opcode])
        n = len(payload)
        if n < 126:
            header += bytes([0x80 | n])
        elif n < 65536:
            header += bytes([0x80 | 126]) + struct.pack(">H", n)
        else:
            header += bytes([0x80 | 127]) + struct.pack(">Q", n)
        mask = os.urandom(4)
        self.sock.sendall(header + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload)))

    def send_text(self, text):
        self.send_frame(0x1, text.encode() if isinstance(text, str) else text)

    def send_json(self, obj):
        self.send_text(json.dumps(obj))

    def recv_frame(self):
        """(fin, opcode, payload); EOFError when the connection ends."""
        b0, b1 = self.read_exact(2)
        n = b1 & 0x7F
        if n == 126:
            n = struct.unpack(">H", self.read_exact(2))[0]
        elif n == 127:
            n = struct.unpack(">Q", self.read_exact(8))[0]
        if b1 & 0x80:
            raise AssertionError("a server frame is masked")
        return bool(b0 & 0x80), b0 & 0x0F, self.read_exact(n)

    def recv(self):
        """The next text message as a string, or None after a close frame."""
        parts = []
        while True:
            fin, op, payload = self.recv_frame()
            if op == 0x9:  # ping
                self.send_frame(0xA, payload)
                continue
            if op == 0xA:
                continue
            if op == 0x8:
                self.close_code = struct.unpack(">H", payload[:2])[0] if len(payload) >= 2 else 1005
                self.close_reason = payload[2:].decode("utf-8")
                try:
                    self.send_frame(0x8, payload[:2])
                except OSError:
                    pass
                return None
            parts.append(payload)
            if fin:
                return b"".join(parts).decode("utf-8")

    def messages(self):
        """Every message until the server's close, as parsed JSON."""
        out = []
        while True:
            m = self.recv()
            if m is None:
                return out
            out.append(json.loads(m))

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


# ---- the OpenAPI document ------------------------------------------------

def load_openapi(path=OPENAPI_PATH):
    with open(path, encoding="utf-8") as f:
        text = f.read()
    try:
        import yaml
    except ImportError:
        raise AssertionError("PyYAML is missing (Debian: python3-yaml, in deploy/setup.sh's packages)")
    return yaml.safe_load(text)


def _date_time(value):
    if not isinstance(value, str):
        return True
    import datetime
    if not re.match(r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$", value):
        return False
    datetime.datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    return True


def _byte(value):
    if not isinstance(value, str):
        return True
    base64.b64decode(value, validate=True)
    return True


class OpenApi:
    """The document, and checks of live answers against it."""

    def __init__(self, doc=None):
        import jsonschema
        self.jsonschema = jsonschema
        self.doc = doc or load_openapi()
        self.resolver = jsonschema.RefResolver.from_schema(self.doc)
        self.formats = jsonschema.FormatChecker()
        self.formats.checks("date-time", raises=(ValueError,))(_date_time)
        self.formats.checks("byte", raises=(ValueError, base64.binascii.Error))(_byte)

    def resolve(self, node):
        while isinstance(node, dict) and "$ref" in node:
            node = self.resolver.resolve(node["$ref"])[1]
        return node

    def validate(self, instance, schema):
        """Raises AssertionError naming what does not fit."""
        v = self.jsonschema.Draft202012Validator(schema, resolver=self.resolver, format_checker=self.formats)
        errors = sorted(v.iter_errors(instance), key=lambda e: list(e.path))
        if errors:
            raise AssertionError("%d schema error(s): %s\nin %s" % (
                len(errors), "; ".join("%s at %s" % (e.message, "/".join(map(str, e.absolute_path)) or "(root)")
                                       for e in errors[:5]), json.dumps(instance)[:600]))

    def schema(self, name):
        return {"$ref": "#/components/schemas/" + name}

    def operation(self, method, path):
        op = self.doc["paths"].get(path, {}).get(method.lower())
        if op is None:
            raise AssertionError("the document has no %s %s" % (method, path))
        return op

    def response(self, method, path, status):
        """The documented response object; AssertionError when the status is not documented."""
        responses = self.operation(method, path)["responses"]
        r = responses.get(str(status))
        if r is None:
            raise AssertionError("%s %s answered %d, which the document does not list (it lists %s)" % (
                method, path, status, ", ".join(sorted(responses))))
        return self.resolve(r)

    def check(self, method, path, resp):
        """resp (a Response) fits the documented answer of method path: a listed
        status, a listed content type, a body that validates. Returns the body
        parsed (JSON) or None."""
        r = self.response(method, path, resp.status)
        content = r.get("content")
        if not content:
            return None
        if resp.content_type not in content:
            raise AssertionError("%s %s %d: Content-Type %r, the document says %s" % (
                method, path, resp.status, resp.content_type, ", ".join(content)))
        if resp.content_type != "application/json":
            return None
        body = resp.json()
        self.validate(body, content["application/json"]["schema"])
        return body

    def check_event(self, event):
        self.validate(event, self.schema("StreamEvent"))

    def check_error(self, resp):
        """An answer outside any path (an unknown one): the Error schema."""
        if resp.content_type != "application/json":
            raise AssertionError("Content-Type %r for %r" % (resp.content_type, resp))
        self.validate(resp.json(), self.schema("Error"))
        return resp.json()


# ---- raw requests ----------------------------------------------------------

def raw_request(port, data, timeout=5, shut=False):
    """Sends bytes as they are (the server may stop reading and answer
    early: a send it cuts short is not an error); (Response or None when
    the connection closed without an answer, seconds to the answer)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    start = time.monotonic()
    try:
        try:
            s.sendall(data)
            if shut:
                s.shutdown(socket.SHUT_WR)
        except (BrokenPipeError, ConnectionResetError):
            pass
        got = b""
        try:
            while b"\r\n\r\n" not in got:
                chunk = s.recv(65536)
                if not chunk:
                    return None, time.monotonic() - start
                got += chunk
        except ConnectionResetError:
            if b"\r\n\r\n" not in got:
                raise
        elapsed = time.monotonic() - start
        head, _, body = got.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        headers = {}
        for line in lines[1:]:
            k, _, v = line.partition(":")
            headers[k.strip().lower()] = v.strip()
        n = int(headers.get("content-length", "0"))
        while len(body) < n:
            chunk = s.recv(65536)
            if not chunk:
                break
            body += chunk
        return Response(int(lines[0].split()[1]), lines[0].split(" ", 2)[-1], headers, body[:n]), elapsed
    finally:
        s.close()


# ---- misc -----------------------------------------------------------------

def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_for(predicate, timeout, interval=0.05):
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = predicate()
        if v:
            return v
        time.sleep(interval)
    return predicate()

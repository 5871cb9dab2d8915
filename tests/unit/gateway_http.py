"""The gateway's HTTP layer against a fake libisol8 (fake_isol8.c): status
codes and bodies, auth, SSE framing, keep-alives, backpressure and client
disconnects, WebSocket, body/header/URL limits, slow senders, many streams.
Needs $GATEWAY (isol8-gateway linked with the fake)."""
import base64
import hashlib
import http.client
import json
import shutil
import os
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time

GATEWAY = os.environ["GATEWAY"]
GOOD = {"Authorization": "Bearer good"}
failures = []
DIRS = []  # the gateways' folders, removed when every check passed


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what, flush=True)
    return cond


class Gateway:
    def __init__(self, *flags, env=None):
        self.dir = tempfile.mkdtemp(prefix="gw-http-")
        self.cancel_file = os.path.join(self.dir, "cancel")
        r, w = os.pipe()
        full = dict(os.environ, FAKE_CANCEL_FILE=self.cancel_file)
        full.update(env or {})
        self.log = open(os.path.join(self.dir, "gw.log"), "w")
        self.proc = subprocess.Popen([GATEWAY, "--listen", "127.0.0.1:0", "--ready-fd", str(w), *flags],
                                     pass_fds=(w,), stderr=self.log, env=full)
        os.close(w)
        with os.fdopen(r) as f:
            line = f.readline()
        if not line.strip().isdigit():
            raise AssertionError("no port on --ready-fd: %r" % line)
        self.port = int(line)

    def request(self, method, path, body=None, headers=None, timeout=30):
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        if isinstance(body, (dict, list)):
            body = json.dumps(body)
        c.request(method, path, body=body, headers=headers or {})
        r = c.getresponse()
        data = r.read()
        c.close()
        return r.status, dict(r.getheaders()), data

    def json(self, method, path, body=None, headers=GOOD):
        status, hdrs, data = self.request(method, path, body, headers)
        try:
            return status, json.loads(data)
        except ValueError:
            return status, {"raw": data.decode(errors="replace")}

    def cancels(self):
        try:
            with open(self.cancel_file) as f:
                return len(f.read().splitlines())
        except FileNotFoundError:
            return 0

    def rss_kb(self):
        with open("/proc/%d/status" % self.proc.pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        return -1

    def stop(self):
        self.proc.terminate()
        status = self.proc.wait(timeout=20)
        self.log.close()
        DIRS.append(self.dir)
        return status


def raw(port, data, read_timeout=5):
    """Sends bytes on a fresh connection; what came back until close or timeout."""
    s = socket.create_connection(("127.0.0.1", port))
    s.settimeout(read_timeout)
    try:
        s.sendall(data)
    except OSError:
        pass
    out = b""
    try:
        while True:
            d = s.recv(65536)
            if not d:
                break
            out += d
    except (socket.timeout, ConnectionResetError):
        pass
    s.close()
    return out


def sse_events(data):
    events, comments = [], 0
    for block in data.decode().split("\n\n"):
        for line in block.split("\n"):
            if line.startswith("data: "):
                events.append(json.loads(line[6:]))
            elif line.startswith(":"):
                comments += 1
    return events, comments


def test_basics(g):
    status, hdrs, data = g.request("GET", "/health")
    check(status == 200 and json.loads(data) == {"status": "ok", "version": json.loads(data)["version"]},
          "health 200: %r" % data)
    check(hdrs.get("Content-Type") == "application/json", "health content type")
    check(g.json("POST", "/execute", {"request": {}}, headers={}) == (401, {"error": "Missing Authorization header"}),
          "401 without a header")
    check(g.json("POST", "/execute", {}, headers={"Authorization": "Basic x"})[0] == 401, "401 for Basic")
    check(g.json("POST", "/execute", {"request": {"code": "x"}}, headers={"Authorization": "Bearer nope"}) ==
          (403, {"error": "Invalid API key"}), "403 forwarded key")
    st, res = g.json("POST", "/execute", {"request": {"code": "hi", "runtime": "python"}})
    check(st == 200 and res["stdout"] == "hi" and res["exitCode"] == 0 and res["executionId"] == "fake-exec",
          "execute 200: %r" % (res,))
    check(g.json("POST", "/execute", "{nope") == (400, {"error": "body: not valid JSON"}), "malformed JSON 400")
    st, res = g.json("POST", "/execute", {"options": {}})
    check(st == 400 and res["error"].startswith("request: required"), "missing request 400: %r" % res)
    check(g.json("POST", "/execute", {"request": {"timeoutMs": "5"}}) ==
          (400, {"error": "request.timeoutMs: expected a number"}), "wrong type 400")
    st, res = g.json("POST", "/execute", {"request": {"runtime": "agent", "code": "x"}})
    check(st == 400 and "valid: python, node, bun, deno, bash" in res["error"], "agent runtime 400")
    check(g.json("POST", "/execute", {"request": {"code": "fail:3"}}) ==
          (429, {"error": "options.memoryLimit: fake failure"}), "EXHAUSTED 429, field renamed")
    check(g.json("POST", "/execute", {"request": {"code": "fail:2"}})[0] == 404, "NOT_FOUND 404")
    check(g.json("POST", "/execute", {"request": {"code": "fail:15"}})[0] == 409, "ABORTED 409")
    check(g.json("POST", "/execute", {"request": {"code": "fail:5"}})[0] == 503, "UNAVAILABLE 503")
    st, hdrs, data = g.request("GET", "/nope", headers=GOOD)
    check(st == 404 and json.loads(data)["error"] == "Not found: GET /nope", "404 JSON")
    st, hdrs, data = g.request("PUT", "/file", headers=GOOD)
    check(st == 405 and hdrs.get("Allow") == "POST, GET" and "error" in json.loads(data), "405 with Allow")
    check(g.json("GET", "/nope", headers={})[0] == 401, "unknown route needs a key first")


def test_sessions_files(g):
    check(g.json("GET", "/sessions")[1]["sessions"][0]["id"] == "s1", "sessions list")
    s = g.json("GET", "/sessions")[1]["sessions"][0]
    check(set(s) >= {"id", "isActive", "lastAccessedAt"}, "session fields")
    check(g.json("DELETE", "/session/nope") == (200, {"ok": True}), "delete idempotent")
    payload = bytes(range(256)) * 4096  # 1 MiB
    check(g.json("POST", "/file", {"sessionId": "s1", "path": "/sandbox/a", "content":
                                   base64.b64encode(payload).decode()}) == (200, {"ok": True}), "put 1 MiB")
    st, res = g.json("GET", "/file?sessionId=s1&path=/sandbox/a")
    check(st == 200 and base64.b64decode(res["content"]) == payload, "get it back")
    check(g.json("GET", "/file?sessionId=s1") == (400, {"error": "Missing sessionId or path"}), "missing path")
    check(g.json("POST", "/file", {"sessionId": "zz", "path": "/sandbox/a", "content": ""})[0] == 404,
          "put to unknown session 404")
    check(g.json("POST", "/file", {"sessionId": "s1", "path": "/sandbox/a", "content": "!!"}) ==
          (400, {"error": "content: not valid base64"}), "bad base64")
    check(g.json("POST", "/file", {"path": "/a", "content": ""}) == (400, {"error": "sessionId: required"}),
          "put without session")
    st, res = g.json("POST", "/cleanup")
    check(st == 200 and res["ok"] and res["sessions"]["removed"] == 1 and "images" not in res,
          "cleanup default: %r" % res)
    st, res = g.json("POST", "/cleanup", {"images": True})
    check(st == 200 and res["images"]["removed"] == 3, "cleanup images")


def test_sse(g):
    st, hdrs, data = g.request("POST", "/execute/stream", {"request": {"code": "lines:3"}}, GOOD)
    events, _ = sse_events(data)
    check(st == 200 and hdrs.get("Content-Type") == "text/event-stream", "sse headers")
    check([e["type"] for e in events] == ["stdout"] * 3 + ["exit"] and events[-1]["data"] == "0" and
          events[0] == {"type": "stdout", "data": "line 0\n", "phase": "code"}, "sse events: %r" % events)
    check(g.json("POST", "/execute/stream", {"request": {"code": "fail:5"}})[0] == 503,
          "stream failing before events answers its status")
    check(g.json("POST", "/execute/stream", {"request": {"timeoutMs": True}}) ==
          (400, {"error": "request.timeoutMs: expected a number"}), "stream 400")
    # a client that leaves a silent stream cancels it (the ticker sees the hang-up)
    before = g.cancels()
    s = socket.create_connection(("127.0.0.1", g.port))
    body = json.dumps({"request": {"code": "sleep:60000"}}).encode()
    s.sendall(b"POST /execute/stream HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer good\r\nContent-Length: %d\r\n\r\n"
              % len(body) + body)
    time.sleep(0.5)
    s.close()
    deadline = time.time() + 5
    while time.time() < deadline and g.cancels() == before:
        time.sleep(0.1)
    check(g.cancels() == before + 1, "disconnect cancels the execution")


def test_keepalive(g):
    t0 = time.time()
    st, hdrs, data = g.request("POST", "/execute/stream", {"request": {"code": "sleep:16500"}}, GOOD, timeout=40)
    events, comments = sse_events(data)
    check(st == 200 and comments >= 1 and events and events[-1]["type"] == "exit",
          "keep-alive comment in silence: %r (%.1fs)" % (data[:200], time.time() - t0))


def test_backpressure(g):
    rss0 = g.rss_kb()
    s = socket.create_connection(("127.0.0.1", g.port))
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
    body = json.dumps({"request": {"code": "big:400"}}).encode()  # 400 x 64 KiB = 25 MiB of output
    s.sendall(b"POST /execute/stream HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer good\r\nContent-Length: %d\r\n\r\n"
              % len(body) + body)
    time.sleep(2)  # not reading
    rss_stalled = g.rss_kb()
    total, tail = 0, b""
    s.settimeout(30)
    while True:
        d = s.recv(1 << 20)
        if not d:
            break
        total += len(d)
        tail = (tail + d)[-200:]
        if b'"type":"exit"' in tail:
            break
    s.close()
    check(total > 25 * 1024 * 1024, "all output arrives (%d bytes)" % total)
    check(rss_stalled - rss0 < 16 * 1024, "a reader that stalls holds little memory: %d -> %d kB" % (rss0, rss_stalled))


def ws_connect(port, key=b"dGhlIHNhbXBsZSBub25jZQ==", auth=b"Bearer good"):
    s = socket.create_connection(("127.0.0.1", port))
    s.settimeout(10)
    s.sendall(b"GET /execute/ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
              b"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: " + key + b"\r\nAuthorization: " + auth + b"\r\n\r\n")
    head = b""
    while b"\r\n\r\n" not in head:
        d = s.recv(1)
        if not d:
            break
        head += d
    return s, head


def ws_send(s, opcode, payload):
    mask = os.urandom(4)
    n = len(payload)
    hdr = bytes([0x80 | opcode])
    if n < 126:
        hdr += bytes([0x80 | n])
    elif n < 65536:
        hdr += bytes([0x80 | 126]) + struct.pack(">H", n)
    else:
        hdr += bytes([0x80 | 127]) + struct.pack(">Q", n)
    s.sendall(hdr + mask + bytes(b ^ mask[i & 3] for i, b in enumerate(payload)))


def ws_recv(s):
    def exact(n):
        b = b""
        while len(b) < n:
            d = s.recv(n - len(b))
            if not d:
                raise EOFError
            b += d
        return b
    h = exact(2)
    n = h[1] & 0x7f
    if n == 126:
        n = struct.unpack(">H", exact(2))[0]
    elif n == 127:
        n = struct.unpack(">Q", exact(8))[0]
    return h[0] & 0x0f, exact(n)


def ws_until_close(s):
    msgs = []
    while True:
        op, data = ws_recv(s)
        if op == 8:
            return msgs, struct.unpack(">H", data[:2])[0] if len(data) >= 2 else None
        if op == 1:
            msgs.append(json.loads(data))


def test_ws(g):
    s, head = ws_connect(g.port)
    accept = base64.b64encode(hashlib.sha1(b"dGhlIHNhbXBsZSBub25jZQ==258EAFA5-E914-47DA-95CA-C5AB0DC85B11").digest())
    check(head.startswith(b"HTTP/1.1 101") and b"Sec-WebSocket-Accept: " + accept in head, "ws handshake: %r" % head)
    ws_send(s, 9, b"ping!")
    op, data = ws_recv(s)
    check(op == 10 and data == b"ping!", "ping answered with pong")
    ws_send(s, 1, json.dumps({"type": "bogus"}).encode())
    op, data = ws_recv(s)
    check(json.loads(data) == {"type": "error", "data": "Unknown message type: bogus"}, "unknown type")
    ws_send(s, 1, json.dumps({"data": 1}).encode())
    op, data = ws_recv(s)
    check(json.loads(data) == {"type": "error", "data": "Unknown message type: undefined"}, "no type, as JS says it")
    ws_send(s, 1, json.dumps({"type": "execute", "request": {"code": "echo"}}).encode())
    ws_send(s, 1, json.dumps({"type": "stdin", "data": "hello"}).encode())
    ws_send(s, 1, json.dumps({"type": "stdin", "eof": True}).encode())
    msgs, code = ws_until_close(s)
    check("".join(m["data"] for m in msgs if m["type"] == "stdout") == "hello" and msgs[-1]["type"] == "exit" and
          code == 1000, "ws execute with stdin: %r %r" % (msgs, code))
    ws_send(s, 8, struct.pack(">H", 1000))
    s.close()
    # the request's stdin is written and closed at once
    s, head = ws_connect(g.port)
    ws_send(s, 1, json.dumps({"type": "execute", "request": {"code": "echo", "stdin": "abc"}}).encode())
    msgs, code = ws_until_close(s)
    check([m["data"] for m in msgs] == ["abc", "0"], "request stdin: %r" % msgs)
    s.close()
    # a message larger than the first buffer grows it; one past the maximum is 1009
    s, head = ws_connect(g.port)
    ws_send(s, 1, json.dumps({"type": "execute", "request": {"code": "echo", "stdin": "q" * 100000}}).encode())
    msgs, code = ws_until_close(s)
    check("".join(m["data"] for m in msgs if m["type"] == "stdout") == "q" * 100000 and code == 1000,
          "a 100 KB message")
    s.close()
    s, head = ws_connect(g.port)
    ws_send(s, 1, b"x" * (1024 * 1024 + 1))
    msgs, code = ws_until_close(s)
    check(code == 1009, "a message past --max-body-size: 1009 (%r)" % code)
    s.close()
    # invalid JSON: an error event, close 1003
    s, head = ws_connect(g.port)
    ws_send(s, 1, b"{nope")
    msgs, code = ws_until_close(s)
    check(msgs == [{"type": "error", "data": "Invalid JSON message"}] and code == 1003, "invalid JSON: %r %r" %
          (msgs, code))
    s.close()
    # a signal stops the fake program; a bad execute request is an error event then close 1000
    s, head = ws_connect(g.port)
    ws_send(s, 1, json.dumps({"type": "execute", "request": {"code": "sleep:60000"}}).encode())
    ws_send(s, 1, json.dumps({"type": "signal", "signal": "SIGINT"}).encode())
    msgs, code = ws_until_close(s)
    check(code == 1000, "signal ends the run: %r %r" % (msgs, code))
    s.close()
    s, head = ws_connect(g.port)
    ws_send(s, 1, json.dumps({"type": "execute", "request": {"timeoutMs": "x"}}).encode())
    msgs, code = ws_until_close(s)
    check(msgs == [{"type": "error", "data": "request.timeoutMs: expected a number"}] and code == 1000,
          "bad request over ws: %r" % msgs)
    s.close()
    # an unmasked frame is a protocol error
    s, head = ws_connect(g.port)
    s.sendall(b"\x81\x01x")
    op, data = ws_recv(s)
    check(op == 8 and struct.unpack(">H", data[:2])[0] == 1002, "unmasked frame: 1002")
    s.close()
    # client leaves mid-run: cancelled
    before = g.cancels()
    s, head = ws_connect(g.port)
    ws_send(s, 1, json.dumps({"type": "execute", "request": {"code": "sleep:60000"}}).encode())
    time.sleep(0.3)
    s.close()
    deadline = time.time() + 5
    while time.time() < deadline and g.cancels() == before:
        time.sleep(0.1)
    check(g.cancels() == before + 1, "ws disconnect cancels")
    s, head = ws_connect(g.port, auth=b"Bearer")
    check(head.startswith(b"HTTP/1.1 401"), "ws needs a key")
    s.close()


def test_limits(g):
    out = raw(g.port, b"POST /execute HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer good\r\n"
              b"Content-Length: %d\r\n\r\n" % (1024 * 1024 + 1) + b"x" * (1024 * 1024 + 1))
    check(out.startswith(b"HTTP/1.1 413") and b'{"error":"body: 1048577 bytes, more than the 1048576 this gateway '
          b'takes (--max-body-size)"}' in out, "413 from Content-Length: %r" % out[-120:])
    # announced too large, no body sent: the answer comes before any body byte
    out = raw(g.port, b"POST /execute HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer good\r\n"
              b"Content-Length: 999999999\r\n\r\n", read_timeout=3)
    check(out.startswith(b"HTTP/1.1 413"), "413 before reading: %r" % out[:40])
    chunked = b"".join(b"%x\r\n%s\r\n" % (65536, b"y" * 65536) for _ in range(20)) + b"0\r\n\r\n"
    out = raw(g.port, b"POST /execute HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer good\r\n"
              b"Transfer-Encoding: chunked\r\n\r\n" + chunked)
    check(out.startswith(b"HTTP/1.1 413"), "413 for a chunked body: %r" % out[:40])
    # POST /file takes a file of --max-body-size, base64 encoded
    content = base64.b64encode(b"z" * (1024 * 1024)).decode()
    check(g.json("POST", "/file", {"sessionId": "s1", "path": "/a", "content": content})[0] == 200,
          "a file of max-body-size fits")
    content = base64.b64encode(b"z" * (1024 * 1024 + 1)).decode()
    check(g.json("POST", "/file", {"sessionId": "s1", "path": "/a", "content": content})[0] == 413,
          "a larger file is 413")
    out = raw(g.port, b"GET /health HTTP/1.1\r\nHost: x\r\nX-Big: " + b"h" * 40000 + b"\r\n\r\n")
    # MHD answers these itself (its own HTML body), before the gateway sees the request
    check(out[:12] == b"HTTP/1.1 431", "huge header: %r" % out[:60])
    out = raw(g.port, b"GET /health?" + b"u" * 40000 + b" HTTP/1.1\r\nHost: x\r\n\r\n")
    check(out[:12] == b"HTTP/1.1 414", "huge URL: %r" % out[:60])
    # a slow sender is cut off
    t0 = time.time()
    out = raw(g.port, b"POST /execute HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer good\r\nContent-Length: 50\r\n"
              b"\r\n{", read_timeout=10)
    check(time.time() - t0 < 5, "slow sender closed after the request timeout (%.1fs)" % (time.time() - t0))
    check(g.request("GET", "/health")[0] == 200, "still serving after the limits")


def test_many_streams(g, n=300):
    results = []
    lock = threading.Lock()

    def one():
        try:
            st, hdrs, data = g.request("POST", "/execute/stream", {"request": {"code": "sleep:3000"}}, GOOD,
                                       timeout=60)
            ok = st == 200 and sse_events(data)[0][-1]["type"] == "exit"
        except Exception as e:  # noqa: BLE001
            ok = repr(e)
        with lock:
            results.append(ok)

    rss0 = g.rss_kb()
    threads = [threading.Thread(target=one) for _ in range(n)]
    for t in threads:
        t.start()
    time.sleep(2)
    rss_peak = g.rss_kb()
    for t in threads:
        t.join()
    bad = [r for r in results if r is not True]
    check(not bad, "%d concurrent streams: %d failed (%r)" % (n, len(bad), bad[:3]))
    print("  %d streams: RSS %d kB idle, %d kB with all open" % (n, rss0, rss_peak))


def main():
    g = Gateway("--max-body-size", "1m", "--request-timeout-ms", "2000", "--max-connections", "600")
    try:
        for t in (test_basics, test_sessions_files, test_sse, test_ws, test_limits, test_backpressure,
                  test_many_streams, test_keepalive):
            print(t.__name__, flush=True)
            t(g)
    finally:
        check(g.stop() == 0, "SIGTERM: exit 0")
    # SIGTERM with streams running: they are cancelled, the gateway exits 0
    t = Gateway()
    sse = socket.create_connection(("127.0.0.1", t.port), timeout=10)
    body = json.dumps({"request": {"code": "sleep:60000"}}).encode()
    sse.sendall(b"POST /execute/stream HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer good\r\n"
                b"Content-Length: %d\r\n\r\n" % len(body) + body)
    ws, head = ws_connect(t.port)
    ws_send(ws, 1, json.dumps({"type": "execute", "request": {"code": "sleep:60000"}}).encode())
    time.sleep(1.5)  # both running (slow builds, e.g. under a sanitizer, take their time)
    t0 = time.time()
    check(t.stop() == 0 and time.time() - t0 < 8, "SIGTERM with streams: exit 0 in %.1fs" % (time.time() - t0))
    check(t.cancels() == 2, "SIGTERM cancels the running streams (%d)" % t.cancels())
    sse.close()
    ws.close()
    u = Gateway(env={"FAKE_UNHEALTHY": "1"})
    st, hdrs, data = u.request("GET", "/health")
    check(st == 503 and json.loads(data) == {"status": "unavailable", "error": "Docker is not reachable"},
          "health 503: %r" % data)
    u.stop()
    k = Gateway("--key", "good", "--cleanup-key", "admin")
    check(k.json("POST", "/execute", {"request": {"code": "x"}}, {"Authorization": "Bearer nope"}) ==
          (403, {"error": "Invalid API key"}), "--key checks callers")
    check(k.json("POST", "/cleanup")[0] == 403, "--cleanup-key refuses other keys")
    k.stop()
    n = Gateway("--no-cleanup")
    check(n.json("POST", "/cleanup")[0] == 403, "--no-cleanup")
    n.stop()
    if not failures:
        for d in DIRS:
            shutil.rmtree(d, ignore_errors=True)
    print("%d failed" % len(failures) if failures else "all passed")
    print("%d passed, %d failed" % (0 if failures else 1, 1 if failures else 0))
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()

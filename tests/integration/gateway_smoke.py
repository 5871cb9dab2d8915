"""First integration check of isol8-gateway: a private isol8d (with a key)
on its own socket, the gateway on a free port (--ready-fd), and each
endpoint once with curl: health, execute, stream, WebSocket, sessions,
files, delete, cleanup, and the auth errors. Needs $ISOL8D, $GATEWAY and
Docker with the runtime images (isol8 setup)."""
import base64
import json
import shutil
import os
import socket
import struct
import subprocess
import sys
import tempfile
import time

ISOL8D, GATEWAY = os.environ["ISOL8D"], os.environ["GATEWAY"]
KEY = "smoke-key"
failures = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what, flush=True)
    if not cond:
        failures.append(what)


def curl(port, method, path, body=None, key=KEY, stream=False):
    """(status, body text) of one curl call; the status is curl's %{http_code}."""
    cmd = ["curl", "-sS", "-o", "-", "-w", "\n%{http_code}", "-X", method, "http://127.0.0.1:%d%s" % (port, path)]
    if stream:
        cmd.insert(1, "-N")
    if key is not None:
        cmd += ["-H", "Authorization: Bearer " + key]
    if body is not None:
        cmd += ["-H", "Content-Type: application/json", "--data-binary", "@-"]
    r = subprocess.run(cmd, input=json.dumps(body).encode() if body is not None else None, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=120)
    if r.returncode != 0:
        raise AssertionError("curl %s %s failed (%d): %s" % (method, path, r.returncode, r.stderr.decode()))
    text, _, status = r.stdout.decode().rpartition("\n")
    return int(status), text


def start_gateway(tmp, socket_path, *flags):
    r, w = os.pipe()
    log = open(os.path.join(tmp, "gateway%d.log" % len(os.listdir(tmp))), "w")
    p = subprocess.Popen([GATEWAY, "--listen", "127.0.0.1:0", "--ready-fd", str(w), "--upstream",
                          "unix:" + socket_path, "--debug", *flags], pass_fds=(w,), stderr=log)
    os.close(w)
    with os.fdopen(r) as f:
        port = f.readline().strip()
    if not port.isdigit():
        raise AssertionError("the gateway wrote no port on --ready-fd (see %s)" % log.name)
    return p, int(port)


def ws_run(port, message):
    """The events of one WebSocket execution and its close code."""
    s = socket.create_connection(("127.0.0.1", port), timeout=60)
    s.sendall(b"GET /execute/ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
              b"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
              b"Authorization: Bearer " + KEY.encode() + b"\r\n\r\n")
    buf = b""
    while b"\r\n\r\n" not in buf:
        d = s.recv(4096)
        if not d:
            raise AssertionError("no handshake answer")
        buf += d
    head, _, rest = buf.partition(b"\r\n\r\n")
    if not head.startswith(b"HTTP/1.1 101"):
        raise AssertionError("handshake: %r" % head)
    payload = json.dumps(message).encode()
    mask = os.urandom(4)
    s.sendall(bytes([0x81, 0x80 | 126]) + struct.pack(">H", len(payload)) + mask +
              bytes(b ^ mask[i & 3] for i, b in enumerate(payload)))
    events = []
    while True:
        while len(rest) < 4:
            rest += s.recv(65536)
        n = rest[1] & 0x7f
        off = 2
        if n == 126:
            n, off = struct.unpack(">H", rest[2:4])[0], 4
        while len(rest) < off + n:
            rest += s.recv(65536)
        op, data, rest = rest[0] & 0x0f, rest[off:off + n], rest[off + n:]
        if op == 8:
            s.close()
            return events, struct.unpack(">H", data[:2])[0]
        events.append(json.loads(data))


def main():
    tmp = tempfile.mkdtemp(prefix="gw-smoke-")
    sock = os.path.join(tmp, "isol8.sock")
    dlog = open(os.path.join(tmp, "isol8d.log"), "w")
    daemon = subprocess.Popen([ISOL8D, "--socket", sock, "--key", KEY, "--prewarm", "0"], stdout=dlog,
                              stderr=subprocess.STDOUT)
    gw = keyed = None
    try:
        gw, port = start_gateway(tmp, sock)
        deadline, status = time.time() + 60, 0
        while time.time() < deadline:
            status, text = curl(port, "GET", "/health", key=None)
            if status == 200:
                break
            time.sleep(0.3)
        check(status == 200 and json.loads(text)["status"] == "ok", "GET /health 200: %s" % text)

        status, text = curl(port, "POST", "/execute", {"request": {"runtime": "python", "code": "print(6*7)"}})
        res = json.loads(text)
        check(status == 200 and res["stdout"].strip() == "42" and res["exitCode"] == 0 and res["runtime"] == "python"
              and res["executionId"], "POST /execute: %s" % text[:300])
        status, text = curl(port, "POST", "/execute", {"request": {"runtime": "bash", "code": "exit 3"}})
        check(status == 200 and json.loads(text)["exitCode"] == 3, "a non-zero exit is still 200")

        status, text = curl(port, "POST", "/execute/stream", {"request": {"runtime": "python", "code":
                                                                          "print('a'); print('b')"}}, stream=True)
        events = [json.loads(l[6:]) for l in text.split("\n") if l.startswith("data: ")]
        check(status == 200 and events and events[-1] == {"type": "exit", "data": "0", "phase": "code"} and
              "".join(e["data"] for e in events if e["type"] == "stdout") == "a\nb\n", "POST /execute/stream: %r"
              % events)

        events, code = ws_run(port, {"type": "execute", "request": {"runtime": "python", "code":
                                                                     "print(input()[::-1])", "stdin": "abc\n"}})
        check(code == 1000 and events[-1]["type"] == "exit" and
              "".join(e["data"] for e in events if e["type"] == "stdout").strip() == "cba",
              "GET /execute/ws: %r %r" % (events, code))

        status, text = curl(port, "POST", "/execute", {"request": {"runtime": "python", "code": "x = 1"},
                                                        "sessionId": "smoke"})
        check(status == 200, "a session starts: %s" % text[:200])
        status, text = curl(port, "GET", "/sessions")
        check(status == 200 and any(s["id"] == "smoke" for s in json.loads(text)["sessions"]), "GET /sessions: %s"
              % text)
        content = base64.b64encode(b"hello file\n").decode()
        status, text = curl(port, "POST", "/file", {"sessionId": "smoke", "path": "/sandbox/f.txt",
                                                     "content": content})
        check(status == 200 and json.loads(text) == {"ok": True}, "POST /file: %s" % text)
        status, text = curl(port, "GET", "/file?sessionId=smoke&path=/sandbox/f.txt")
        check(status == 200 and json.loads(text) == {"content": content}, "GET /file: %s" % text)
        status, text = curl(port, "GET", "/file?sessionId=smoke&path=/sandbox/none")
        check(status == 404 and "error" in json.loads(text), "GET /file of a missing file 404: %s" % text)
        status, text = curl(port, "DELETE", "/session/smoke")
        check(status == 200 and json.loads(text) == {"ok": True}, "DELETE /session/:id")
        status, text = curl(port, "DELETE", "/session/smoke")
        check(status == 200, "DELETE again is still ok")

        check(curl(port, "POST", "/execute", {"request": {}}, key=None) ==
              (401, '{"error":"Missing Authorization header"}'), "401 without a key")
        status, text = curl(port, "POST", "/execute", {"request": {"runtime": "cobol", "code": "x"}})
        check(status == 400 and "request.runtime" in json.loads(text)["error"], "400 unknown runtime: %s" % text)
        status, text = curl(port, "POST", "/execute", {"request": {"runtime": "python", "code": "1"},
                                                        "options": {"memoryLimit": "lots"}})
        check(status == 400 and json.loads(text)["error"].startswith("options.memoryLimit"),
              "isol8d's field names come back as JSON paths: %s" % text)
        status, text = curl(port, "POST", "/execute", {"request": {"runtime": "python", "code": "1"}}, key="wrong")
        if status == 200:
            print("skip forwarded wrong key: this isol8d takes any key on its unix socket")
        else:
            check((status, text) == (403, '{"error":"Invalid API key"}'), "forwarded wrong key 403: %s" % text)

        keyed, kport = start_gateway(tmp, sock, "--key", KEY)
        check(curl(kport, "GET", "/sessions", key="wrong") == (403, '{"error":"Invalid API key"}'),
              "--key: a wrong key is 403")
        check(curl(kport, "GET", "/sessions")[0] == 200, "--key: the right key passes")

        status, text = curl(port, "POST", "/cleanup", {})
        res = json.loads(text)
        check(status == 200 and res["ok"] is True and set(res) >= {"sessions", "containers"} and "images" not in res,
              "POST /cleanup: %s" % text)
    finally:
        for p in (keyed, gw):
            if p is not None:
                p.terminate()
                check(p.wait(timeout=30) == 0, "the gateway exits 0 on SIGTERM")
        daemon.terminate()
        daemon.wait(timeout=60)
        dlog.close()
    if not failures:
        shutil.rmtree(tmp, ignore_errors=True)
    print("%d passed, %d failed" % (0 if failures else 1, 1 if failures else 0))
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()

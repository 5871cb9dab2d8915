#!/usr/bin/python3
"""`isol8 mcp` driven the way an MCP client drives it: JSON-RPC lines on its
stdin, replies read from its stdout, against a private isol8d. initialize,
tools/list, execute, a session with put_file and get_file, bad tool calls,
malformed and oversized messages (the server keeps serving), and the end of
input ending it."""
import base64
import json
import os
import queue
import subprocess
import sys
import tempfile
import threading
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
import isol8d  # noqa: E402

SOURCE = os.environ["ISOL8_SOURCE_DIR"]
ISOL8D = os.environ["ISOL8D"]
ISOL8 = os.environ["ISOL8"]
TMP = tempfile.mkdtemp(prefix="isol8-mcp.")
PB, ADMIN, HEALTH = isol8d.messages(TMP, SOURCE)


class Server:
    """isol8 mcp on pipes; its stdout lines parsed as they come."""

    def __init__(self, socket):
        env = dict(os.environ, ISOL8_SOCKET=socket)
        self.stderr = open(os.path.join(TMP, "mcp.stderr"), "w")
        self.proc = subprocess.Popen([ISOL8, "mcp"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=self.stderr, env=env)
        self.lines = queue.Queue()
        self.raw = []
        threading.Thread(target=self._read, daemon=True).start()
        self.next_id = 0

    def _read(self):
        for line in self.proc.stdout:
            self.raw.append(line)
            self.lines.put(line)
        self.lines.put(None)

    def send_raw(self, data):
        self.proc.stdin.write(data)
        self.proc.stdin.flush()

    def send(self, msg):
        self.send_raw(json.dumps(msg).encode() + b"\n")

    def reply(self, timeout=120):
        line = self.lines.get(timeout=timeout)
        if line is None:
            raise AssertionError("isol8 mcp closed its stdout")
        return json.loads(line)

    def request(self, method, params=None, timeout=120):
        self.next_id += 1
        msg = {"jsonrpc": "2.0", "id": self.next_id, "method": method}
        if params is not None:
            msg["params"] = params
        self.send(msg)
        r = self.reply(timeout)
        if r.get("id") != self.next_id:
            raise AssertionError("reply %r is not to request %d" % (r, self.next_id))
        return r

    def tool(self, name, arguments, timeout=120):
        r = self.request("tools/call", {"name": name, "arguments": arguments}, timeout)
        if "result" not in r:
            raise AssertionError("tools/call %s: %r" % (name, r))
        return r["result"]

    def close(self):
        self.proc.stdin.close()
        code = self.proc.wait(timeout=30)
        self.stderr.close()
        return code


class Mcp(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.d = isol8d.Daemon(ISOL8D, os.path.join(TMP, "d"), PB, ADMIN, HEALTH, flags=("--prewarm", "0"))
        cls.s = Server(cls.d.socket)
        r = cls.s.request("initialize", {"protocolVersion": "2025-06-18", "capabilities": {},
                                         "clientInfo": {"name": "mcp.py", "version": "1"}})
        cls.init = r["result"]
        cls.s.send({"jsonrpc": "2.0", "method": "notifications/initialized"})

    @classmethod
    def tearDownClass(cls):
        code = cls.s.close()
        # every line it wrote was one JSON-RPC message
        for line in cls.s.raw:
            json.loads(line)
        assert code == 0, "isol8 mcp exited %d" % code
        assert cls.d.stop() == 0

    def test_initialize(self):
        self.assertEqual(self.init["protocolVersion"], "2025-06-18")
        self.assertEqual(self.init["serverInfo"]["name"], "isol8")
        self.assertIn("tools", self.init["capabilities"])
        r = self.s.request("initialize", {"protocolVersion": "1999-01-01", "capabilities": {}})
        self.assertEqual(r["result"]["protocolVersion"], "2025-11-25")
        self.assertEqual(self.s.request("ping")["result"], {})

    def test_tools_list(self):
        tools = self.s.request("tools/list")["result"]["tools"]
        self.assertEqual([t["name"] for t in tools],
                         ["execute", "list_sessions", "destroy_session", "put_file", "get_file"])
        execute = tools[0]["inputSchema"]
        self.assertEqual(execute["required"], ["runtime", "code"])
        self.assertEqual(execute["properties"]["runtime"]["enum"], ["python", "node", "bun", "deno", "bash"])

    def test_execute_python(self):
        r = self.s.tool("execute", {"runtime": "python", "code": "import sys\nprint('hello mcp')\n"
                                                                 "print('oops', file=sys.stderr)\nsys.exit(3)"})
        self.assertFalse(r["isError"])
        self.assertEqual(r["content"], [{"type": "text", "text": "hello mcp\nstderr:\noops\nexit code: 3"}])
        sc = r["structuredContent"]
        self.assertEqual((sc["stdout"], sc["stderr"], sc["exitCode"], sc["timedOut"]), ("hello mcp", "oops", 3, False))
        self.assertGreaterEqual(sc["durationMs"], 0)

    def test_execute_options(self):
        r = self.s.tool("execute", {"runtime": "bash", "code": "read line; echo \"$line $GREETING\"",
                                    "stdin": "from stdin\n", "env": {"GREETING": "hi"}})
        self.assertEqual(r["structuredContent"]["stdout"], "from stdin hi")
        r = self.s.tool("execute", {"runtime": "python", "code": "while True: pass", "timeoutMs": 1000})
        self.assertTrue(r["structuredContent"]["timedOut"])
        self.assertTrue(r["content"][0]["text"].endswith("exit code: 137 (timed out)"), r["content"][0]["text"])

    def test_session_and_files(self):
        sid = "mcp-session"
        r = self.s.tool("execute", {"runtime": "python", "code": "x = 42", "sessionId": sid})
        self.assertFalse(r["isError"], r)
        r = self.s.tool("put_file", {"sessionId": sid, "path": "data.csv", "content": "a,b\n1,2\n3,4\n"})
        self.assertEqual(r["content"][0]["text"], "wrote 12 bytes to /sandbox/data.csv in session mcp-session")
        blob = bytes(range(256))
        r = self.s.tool("put_file", {"sessionId": sid, "path": "/tmp/blob", "contentBase64":
                                     base64.b64encode(blob).decode()})
        self.assertFalse(r["isError"], r)
        code = ("import csv\nrows = list(csv.DictReader(open('/sandbox/data.csv')))\n"
                "open('/sandbox/out.txt', 'w').write(str(x + sum(int(r['b']) for r in rows)))\n"
                "print(len(open('/tmp/blob', 'rb').read()))")
        r = self.s.tool("execute", {"runtime": "python", "code": code, "sessionId": sid})
        self.assertEqual(r["structuredContent"]["stdout"], "256", r)
        r = self.s.tool("get_file", {"sessionId": sid, "path": "/sandbox/out.txt"})
        self.assertEqual(r["content"][0]["text"], "48")
        self.assertEqual(r["structuredContent"]["encoding"], "utf-8")
        r = self.s.tool("get_file", {"sessionId": sid, "path": "/tmp/blob"})
        self.assertEqual(r["structuredContent"]["encoding"], "base64")
        self.assertEqual(base64.b64decode(r["structuredContent"]["content"]), blob)
        sessions = self.s.tool("list_sessions", {})["structuredContent"]["sessions"]
        self.assertIn(sid, [s["id"] for s in sessions])
        r = self.s.tool("destroy_session", {"sessionId": sid})
        self.assertEqual(r["content"][0]["text"], "session mcp-session destroyed")
        r = self.s.tool("get_file", {"sessionId": sid, "path": "/sandbox/out.txt"})
        self.assertTrue(r["isError"])
        self.assertIn("mcp-session", r["content"][0]["text"])

    def test_bad_tool_calls(self):
        r = self.s.request("tools/call", {"name": "format_disk", "arguments": {}})
        self.assertEqual(r["error"], {"code": -32602, "message": "Unknown tool: format_disk"})
        r = self.s.tool("execute", {"runtime": "python"})
        self.assertTrue(r["isError"])
        self.assertEqual(r["content"][0]["text"], "code: required, a non-empty string")
        r = self.s.tool("execute", {"runtime": "ruby", "code": "puts 1"})
        self.assertTrue(r["isError"])
        self.assertIn("python, node, bun, deno, bash", r["content"][0]["text"])
        r = self.s.request("resources/list")
        self.assertEqual(r["error"]["code"], -32601)

    def test_malformed_messages(self):
        self.s.send_raw(b'{"jsonrpc":"2.0","id":1,"method":\n')
        r = self.s.reply()
        self.assertEqual((r["id"], r["error"]["code"]), (None, -32700))
        self.s.send_raw(b"\n\r\n")  # blank lines: nothing
        self.s.send_raw(b"x" * (17 << 20) + b"\n")
        r = self.s.reply()
        self.assertEqual(r["error"], {"code": -32600,
                                      "message": "Invalid Request: the message is longer than 16777216 bytes"})
        self.s.send_raw(b'[{"jsonrpc":"2.0","id":9,"method":"ping"}]\n')
        self.assertEqual(self.s.reply()["error"]["code"], -32600)
        # and it keeps serving
        self.assertEqual(self.s.request("ping")["result"], {})


if __name__ == "__main__":
    result = unittest.main(exit=False, verbosity=2).result
    failed = len(result.failures) + len(result.errors)
    print("%d passed, %d failed" % (result.testsRun - failed, failed))
    sys.exit(1 if failed or result.testsRun == 0 else 0)

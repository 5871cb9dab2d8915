#!/usr/bin/python3
"""ExecuteInteractive against the real Docker engine and the real binaries:
a program answers each line as it is sent, SIGINT reaches it as Python's
KeyboardInterrupt, the client's end of stream is the end of stdin, a tty
run has a /dev/pts terminal of the window's size that a resize changes,
session calls take input too (a driver's state kept, a shell on a tty),
and bad messages (not the request first, a second request, an unknown
signal) are INVALID_ARGUMENT naming what was wrong.
"""
import os
import queue
import sys
import tempfile
import time
import unittest

import grpc

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
import isol8d  # noqa: E402

SOURCE = os.environ["ISOL8_SOURCE_DIR"]
ISOL8D = os.environ["ISOL8D"]
TMP = tempfile.mkdtemp(prefix="isol8-interactive.")
PB, ADMIN, HEALTH = isol8d.messages(TMP, SOURCE)
END = object()


class Session:
    """One ExecuteInteractive call: send() input messages, read events."""

    def __init__(self, d, first):
        self.inbox = queue.Queue()
        self.inbox.put(first)
        call = d.channel.stream_stream("/isol8.v1.Isol8/ExecuteInteractive",
                                       request_serializer=PB.InteractiveInput.SerializeToString,
                                       response_deserializer=PB.ExecuteEvent.FromString)
        self.events = call(self.requests(), timeout=60)
        self.out = b""
        self.err = b""
        self.exit = None

    def requests(self):
        while True:
            msg = self.inbox.get()
            if msg is END:
                return
            yield msg

    def send(self, **fields):
        self.inbox.put(PB.InteractiveInput(**fields))

    def close(self):
        self.inbox.put(END)

    def read_until(self, text=None):
        """Events until stdout+stderr holds text (None: until the exit)."""
        for ev in self.events:
            kind = ev.WhichOneof("event")
            if kind == "stdout":
                self.out += ev.stdout
            elif kind == "stderr":
                self.err += ev.stderr
            elif kind == "exit":
                self.exit = ev.exit
                return
            if text is not None and text in self.out + self.err:
                return
        if text is not None:
            raise AssertionError("the stream ended before %r; got %r / %r" % (text, self.out, self.err))


class Interactive(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.d = isol8d.Daemon(ISOL8D, os.path.join(TMP, "d"), PB, ADMIN, HEALTH, flags=("--prewarm", "1"))

    @classmethod
    def tearDownClass(cls):
        assert cls.d.stop() == 0

    def start(self, runtime, code, **fields):
        s = Session(self.d, PB.InteractiveInput(request=PB.ExecuteRequest(runtime=runtime, code=code,
                                                                          timeout_ms=30000, **fields)))
        self.addCleanup(s.close)
        return s

    def test_answers_each_line_as_sent(self):
        s = self.start("python", "while True:\n"
                                 "    try:\n"
                                 "        line = input()\n"
                                 "    except EOFError:\n"
                                 "        break\n"
                                 "    print(line.upper())\n"
                                 "print('bye')\n")
        for word in (b"hello", b"world", b"again"):
            s.send(stdin=word + b"\n")
            s.read_until(word.upper() + b"\n")
        s.send(stdin_eof=True)
        s.read_until()
        self.assertEqual(s.out, b"HELLO\nWORLD\nAGAIN\nbye\n")
        self.assertEqual(s.exit.exit_code, 0)

    def test_sigint_is_keyboard_interrupt(self):
        s = self.start("python", "import time\nprint('ready')\nwhile True:\n    time.sleep(0.05)\n")
        s.read_until(b"ready")
        s.send(signal="SIGINT")
        s.read_until()
        self.assertIn(b"KeyboardInterrupt", s.err)
        # Python exits by SIGINT itself after the traceback of an uncaught one
        self.assertEqual((s.exit.exit_code, s.exit.signal), (130, 2))

    def test_end_of_stream_is_end_of_stdin(self):
        s = self.start("python", "import sys\nprint(sys.stdin.read().upper())")
        s.send(stdin=b"abc")
        s.close()
        s.read_until()
        self.assertEqual(s.out, b"ABC\n")
        self.assertEqual(s.exit.exit_code, 0)

    def test_tty_window_and_resize(self):
        s = self.start("bash", "tty; stty size; read x; stty size", tty=True, window=PB.WindowSize(rows=30, cols=100))
        s.read_until(b"30 100")
        self.assertIn(b"/dev/pts/", s.out)
        s.send(resize=PB.WindowSize(rows=50, cols=132))
        s.send(stdin=b"go\n")
        s.read_until()
        self.assertIn(b"50 132", s.out)
        self.assertEqual(s.err, b"")  # a terminal has one output
        self.assertEqual(s.exit.exit_code, 0)

    def test_tty_program_sees_a_terminal(self):
        s = self.start("python", "import sys, os\nprint(sys.stdin.isatty(), sys.stdout.isatty(), os.get_terminal_size())",
                       tty=True)
        s.send(stdin_eof=True)
        s.read_until()
        self.assertIn(b"True True os.terminal_size(columns=80, lines=24)", s.out)

    def test_session_call_takes_input_and_keeps_state(self):
        s = self.start("python", "name = input()\nprint('hi ' + name)", session_id="it-session")
        self.addCleanup(self.d.channel.unary_unary("/isol8.v1.Isol8/DestroySession",
                                                   request_serializer=PB.DestroySessionRequest.SerializeToString,
                                                   response_deserializer=PB.DestroySessionResult.FromString),
                        PB.DestroySessionRequest(session_id="it-session"), timeout=60)
        s.send(stdin=b"ada\n")
        s.read_until()
        self.assertEqual((s.out, s.exit.exit_code), (b"hi ada\n", 0), s.err)
        r = self.d.execute(PB.ExecuteRequest(runtime="python", code="print(name.upper())", session_id="it-session"),
                           timeout=60)
        self.assertEqual((r.stdout, r.exit_code, r.state_reset), (b"ADA", 0, False), r.stderr)

    def test_session_shell_on_a_tty(self):
        s = self.start("bash", "", cmd="bash -i", tty=True, session_id="it-shell")
        self.addCleanup(self.d.channel.unary_unary("/isol8.v1.Isol8/DestroySession",
                                                   request_serializer=PB.DestroySessionRequest.SerializeToString,
                                                   response_deserializer=PB.DestroySessionResult.FromString),
                        PB.DestroySessionRequest(session_id="it-shell"), timeout=60)
        s.send(stdin=b"echo in-$((6*7)); tty\n")
        s.read_until(b"in-42")
        s.send(stdin=b"exit 3\n")
        s.read_until()
        self.assertIn(b"/dev/pts/", s.out)
        self.assertEqual(s.exit.exit_code, 3)

    def refused(self, s, text):
        with self.assertRaises(grpc.RpcError) as cm:
            s.read_until()
        self.assertEqual(cm.exception.code(), grpc.StatusCode.INVALID_ARGUMENT, cm.exception.details())
        self.assertIn(text, cm.exception.details())

    def test_first_message_must_be_the_request(self):
        s = Session(self.d, PB.InteractiveInput(stdin=b"early"))
        self.addCleanup(s.close)
        self.refused(s, "request: the first message must be the request, not stdin")

    def test_second_request_is_refused(self):
        s = self.start("bash", "sleep 20")
        s.send(request=PB.ExecuteRequest(runtime="bash", code="true"))
        self.refused(s, "request: only the first message may be the request")

    def test_unknown_signal_is_refused(self):
        start = time.time()
        s = self.start("bash", "echo ready; sleep 20")
        s.read_until(b"ready")
        s.send(signal="SIGFOO")
        self.refused(s, '"SIGFOO"')
        self.assertLess(time.time() - start, 10)

    def test_tty_needs_an_interactive_call(self):
        with self.assertRaises(grpc.RpcError) as cm:
            list(self.d.execute_stream(PB.ExecuteRequest(runtime="bash", code="tty", tty=True), timeout=60))
        self.assertEqual(cm.exception.code(), grpc.StatusCode.INVALID_ARGUMENT)
        self.assertIn("tty", cm.exception.details())

    def test_cancel_ends_the_run(self):
        s = self.start("bash", "echo ready; exec sleep 300")
        s.read_until(b"ready")
        s.events.cancel()
        deadline = time.time() + 10
        while time.time() < deadline and self.d.info(ADMIN.InfoRequest(), timeout=10).active_executions:
            time.sleep(0.01)
        self.assertEqual(self.d.info(ADMIN.InfoRequest(), timeout=10).active_executions, 0)


if __name__ == "__main__":
    unittest.main(verbosity=2)

#!/usr/bin/python3
"""What a run does and what its result says, as the original's users know
it, against the real Docker engine and the real binaries: when a run ends
(background output, stdin at EOF, the end kill), the timeout, truncation and
OOM markers, trimming, streamed error events and phases, files and
output_paths (paths that stay inside /sandbox, links never followed), cmd,
the setup script, workdir, and secrets masked after the cap.
"""
import os
import sys
import time
import unittest

import grpc

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pool import PB, Daemon  # noqa: E402


class RunSemantics(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.d = Daemon("--prewarm", "1")

    @classmethod
    def tearDownClass(cls):
        cls.d.stop()

    def req(self, runtime="bash", code="", **fields):
        options = fields.pop("options", {})
        files = fields.pop("files", {})
        modes = fields.pop("file_modes", {})
        secrets = options.pop("secrets", {})
        env = fields.pop("env", {})
        r = PB.ExecuteRequest(runtime=runtime, code=code, **fields)
        for k, v in env.items():
            r.env[k] = v
        for k, v in files.items():
            r.files[k] = v
        for k, v in modes.items():
            r.file_modes[k] = v
        for k, v in secrets.items():
            r.options.secrets[k] = v
        for k, v in options.items():
            setattr(r.options, k, v)
        return r

    def run_(self, *args, **kw):
        return self.d.execute(self.req(*args, **kw), timeout=60)

    def stream(self, *args, **kw):
        return list(self.d.execute_stream(self.req(*args, **kw), timeout=60))

    def refused(self, code, text, *args, **kw):
        with self.assertRaises(grpc.RpcError) as cm:
            self.run_(*args, **kw)
        self.assertEqual(cm.exception.code(), code, cm.exception.details())
        self.assertIn(text, cm.exception.details())

    # --- when a run ends

    def test_background_output_is_delivered(self):
        r = self.run_("bash", "(sleep 1; echo late) & echo early")
        self.assertEqual(r.stdout, b"early\nlate")
        self.assertEqual(r.exit_code, 0)

    def test_stdin_is_at_eof_when_none_was_given(self):
        start = time.time()
        r = self.run_("python", "import sys; print(repr(sys.stdin.read()))", timeout_ms=10000)
        self.assertEqual(r.stdout, b"''")
        self.assertFalse(r.timed_out)
        self.assertLess(time.time() - start, 5)

    def test_detached_process_is_killed_at_the_end(self):
        # nohup'd with its output elsewhere: the run ends at once, and the
        # process does not outlive it (the next run in the pool sees none)
        r = self.run_("bash", "nohup sleep 300 >/dev/null 2>&1 & echo started")
        self.assertEqual(r.stdout, b"started")
        r = self.run_("bash", "ps -eo user,comm | grep -c '^sandbox.*sleep' || true")
        self.assertEqual(r.stdout, b"0")

    # --- what a result says

    def test_timeout_as_the_original_says_it(self):
        r = self.run_("bash", "echo before; sleep 30", timeout_ms=1000)
        self.assertTrue(r.timed_out)
        self.assertEqual(r.exit_code, 137)
        self.assertEqual(r.stdout, b"before")
        self.assertTrue(r.stderr.endswith(b"--- EXECUTION TIMED OUT ---"), r.stderr)

    def test_timeout_with_a_background_holder_still_137(self):
        # the main process exits 0 but a child keeps the output open
        r = self.run_("bash", "sleep 30 & exit 0", timeout_ms=1000)
        self.assertTrue(r.timed_out)
        self.assertEqual(r.exit_code, 137)

    def test_streamed_timeout_is_an_error_event_then_the_exit(self):
        events = self.stream("bash", "echo hi; sleep 30", timeout_ms=1000)
        kinds = [e.WhichOneof("event") for e in events]
        self.assertEqual(kinds[-2:], ["error", "exit"])
        self.assertEqual(events[-2].error, "EXECUTION TIMED OUT")
        self.assertEqual(events[-1].exit.exit_code, 137)
        self.assertEqual(events[0].phase, "code")

    def test_truncation_marker(self):
        r = self.run_("python", "print('x' * 5000)", options={"max_output_size": 1000})
        self.assertTrue(r.truncated)
        self.assertTrue(r.stdout.startswith(b"x" * 1000 + b"\n\n--- OUTPUT TRUNCATED ("), r.stdout[:1100])
        self.assertTrue(r.stdout.endswith(b"bytes, limit: 1000) ---"), r.stdout[-60:])
        self.assertIn(b"(5001 bytes", r.stdout)

    def test_buffered_is_trimmed_streamed_is_not(self):
        r = self.run_("bash", "printf 'a  \\n\\n'; printf 'e \\n' >&2")
        self.assertEqual((r.stdout, r.stderr), (b"a", b"e"))
        events = self.stream("bash", "printf 'a  \\n\\n'")
        self.assertEqual(b"".join(e.stdout for e in events if e.WhichOneof("event") == "stdout"), b"a  \n\n")

    def test_memory_limit_is_an_oom_kill_not_a_timeout(self):
        start = time.time()
        r = self.run_("python", "b = []\nwhile True: b.append(bytearray(16 << 20))",
                      options={"memory_limit": "64m"}, timeout_ms=20000)
        self.assertLess(time.time() - start, 10)
        self.assertTrue(r.oom_killed)
        self.assertFalse(r.timed_out)
        self.assertEqual(r.exit_code, 137)
        self.assertTrue(r.stderr.endswith(b"--- OUT OF MEMORY (limit 64m) ---"), r.stderr[-200:])
        self.assertNotIn(b"TIMED OUT", r.stderr)

    def test_masking_past_the_cap_truncates_never_fails(self):
        # every "a" becomes "***": masked output is three times the cap
        r = self.run_("bash", "printf 'a%.0s' {1..900}", options={"max_output_size": 1000, "secrets": {"S": "a"}})
        self.assertTrue(r.truncated)
        self.assertTrue(r.stdout.startswith(b"*" * 1000 + b"\n\n--- OUTPUT TRUNCATED"), r.stdout[:80])

    def test_secret_split_across_writes_is_masked(self):
        code = "import os, time\nos.write(1, b'tok-12')\ntime.sleep(0.3)\nos.write(1, b'34-end\\n')\n"
        r = self.run_("python", code, options={"secrets": {"T": "tok-1234"}})
        self.assertEqual(r.stdout, b"***-end")

    # --- inputs

    def test_files_and_output_paths(self):
        r = self.run_("bash", "cat in/a.txt; tr a-z A-Z < in/a.txt > out.txt; echo secret-v > s.txt",
                      files={"in/a.txt": b"hello", "/sandbox/b.bin": b"\x00\x01"},
                      output_paths=["out.txt", "/sandbox/b.bin", "missing.txt", "s.txt"],
                      options={"secrets": {"K": "secret-v"}})
        self.assertEqual(r.stdout, b"hello")
        self.assertEqual(dict(r.files), {"out.txt": b"HELLO", "/sandbox/b.bin": b"\x00\x01", "s.txt": b"***\n"})

    def test_file_modes(self):
        r = self.run_("bash", "./tool.sh; stat -c '%a %U' tool.sh data.txt",
                      files={"tool.sh": b"#!/bin/bash\necho tool ran\n", "data.txt": b"x"},
                      file_modes={"tool.sh": 0o750})
        self.assertEqual(r.stdout, b"tool ran\n750 sandbox\n644 sandbox")
        self.refused(grpc.StatusCode.INVALID_ARGUMENT, "file_modes: \"other\" names no files entry", "bash", "true",
                     files={"a": b""}, file_modes={"other": 0o755})
        self.refused(grpc.StatusCode.INVALID_ARGUMENT, "file_modes: 04755", "bash", "true",
                     files={"a": b""}, file_modes={"a": 0o4755})

    def test_paths_outside_the_sandbox_are_refused(self):
        for bad in ["../etc/passwd", "/etc/passwd", "a/../../x", "/tmp/x", "/sandbox/../etc/x", ""]:
            self.refused(grpc.StatusCode.INVALID_ARGUMENT, "files", "bash", "true", files={bad: b"x"})
            self.refused(grpc.StatusCode.INVALID_ARGUMENT, "output_paths", "bash", "true", output_paths=[bad])

    def test_links_out_are_never_followed(self):
        self.refused(grpc.StatusCode.INVALID_ARGUMENT, "output_paths", "bash",
                     "ln -s /etc/passwd out", output_paths=["out"])
        self.refused(grpc.StatusCode.INVALID_ARGUMENT, "output_paths", "bash",
                     "ln -s /etc d", output_paths=["d/passwd"])

    def test_node_esm_by_default_cjs_by_extension(self):
        r = self.run_("node", "console.log(typeof require, import.meta.url)")
        self.assertEqual(r.stdout, b"undefined file:///sandbox/main.mjs")
        r = self.run_("node", "console.log(typeof require)", file_extension="cjs")
        self.assertEqual(r.stdout, b"function")

    def test_bun_and_deno_run_typescript(self):
        for rt in ("bun", "deno"):
            r = self.run_(rt, "const n: number = 2 * 21;\nconsole.log(n);")
            self.assertEqual((r.stdout, r.exit_code), (b"42", 0), (rt, r.stderr))

    def test_cmd_runs_with_bash_in_any_image(self):
        r = self.run_("python", cmd="echo $0; python3 -c 'print(6*7)'")
        self.assertEqual(r.stdout, b"bash\n42")
        self.refused(grpc.StatusCode.INVALID_ARGUMENT, "code and cmd", "python", "print(1)", cmd="echo")
        self.refused(grpc.StatusCode.INVALID_ARGUMENT, "code", "python", "")

    def test_a_path_without_the_interpreter_is_named(self):
        for rt in ("python", "bash"):
            self.refused(grpc.StatusCode.INVALID_ARGUMENT, "env: the interpreter", rt, "true", env={"PATH": "/x"})

    def test_custom_seccomp_profile_that_is_not_json(self):
        self.refused(grpc.StatusCode.INVALID_ARGUMENT, "options.seccomp_profile: not valid JSON", "bash", "true",
                     options={"seccomp": "custom", "seccomp_profile": "{nope"})

    def test_setup_script_runs_first_in_the_same_sandbox(self):
        r = self.run_("python", "print(open('made.txt').read().strip())", setup_script="echo ready > made.txt; echo set")
        self.assertEqual((r.stdout, r.exit_code), (b"set\nready", 0))

    def test_failed_setup_stops_the_run(self):
        r = self.run_("python", "print('never')", setup_script="echo oops >&2; exit 3")
        self.assertEqual(r.exit_code, 3)
        self.assertNotIn(b"never", r.stdout)
        self.assertTrue(r.stderr.startswith(b"oops"))
        self.assertTrue(r.stderr.endswith(b"Setup script failed (exit code 3)"), r.stderr)
        events = self.stream("python", "print('never')", setup_script="echo s; exit 3")
        self.assertEqual([(e.WhichOneof("event"), e.phase) for e in events],
                         [("stdout", "setup"), ("error", "setup"), ("exit", "setup")])
        self.assertEqual(events[1].error, "Setup script failed (exit code 3)")

    def test_what_the_setup_detaches_lives_on_for_the_code(self):
        # a background job of bash, in bash's group, that let go of the output
        r = self.run_("bash", "ps -eo user,args | grep -c '^sandbox *sleep 77' || true",
                      setup_script="nohup sleep 77 </dev/null >/dev/null 2>&1 &")
        self.assertEqual(r.stdout, b"1")
        # and the code's end takes it: the next run in the pool sees none
        r = self.run_("bash", "ps -eo user,args | grep -c '^sandbox *sleep 77' || true")
        self.assertEqual(r.stdout, b"0")

    def test_timed_out_setup_says_137(self):
        r = self.run_("bash", "echo never", setup_script="sleep 30", timeout_ms=1000)
        self.assertEqual((r.exit_code, r.timed_out), (137, True))
        self.assertTrue(r.stderr.endswith(b"Setup script failed (exit code 137)"), r.stderr)

    def test_a_child_killed_for_memory_is_not_the_program(self):
        code = ("import subprocess\n"
                "r = subprocess.run(['python3', '-c', 'b = bytearray(600 << 20)'])\n"
                "print('child', r.returncode)\n")
        r = self.run_("python", code, options={"memory_limit": "128m"})
        self.assertEqual((r.stdout, r.exit_code, r.oom_killed), (b"child -9", 0, False), r.stderr)
        self.assertNotIn(b"OUT OF MEMORY", r.stderr)

    def test_output_files_past_the_room_are_left_out_not_the_result(self):
        # 33 MB of "a" is past the 32 MiB the files may take; masked with a
        # one-letter secret it would be three times that
        r = self.run_("bash", "head -c 34000000 /dev/zero | tr '\\0' a > big; echo small > small; echo kept",
                      output_paths=["big", "small"], options={"secrets": {"S": "zz"}})
        self.assertEqual(r.stdout, b"kept")
        self.assertEqual(dict(r.files), {"small": b"small\n"})
        self.assertTrue(r.truncated)
        self.assertIn(b'--- OUTPUT FILES TRUNCATED ("big"', r.stderr)
        r = self.run_("bash", "head -c 20000000 /dev/zero | tr '\\0' a > big; echo kept",
                      output_paths=["big"], options={"secrets": {"S": "a"}})
        self.assertEqual((r.stdout, dict(r.files), r.truncated), (b"kept", {}, True))

    def test_streamed_phases(self):
        events = self.stream("bash", "echo code", setup_script="echo setup")
        self.assertEqual([(e.WhichOneof("event"), e.phase) for e in events],
                         [("stdout", "setup"), ("stdout", "code"), ("exit", "code")])

    def test_workdir_as_the_original_resolves_it(self):
        r = self.run_("bash", "pwd", workdir="sub")
        self.assertEqual(r.stdout, b"/sandbox/sub")
        r = self.run_("bash", "pwd", workdir="/sandbox/a/../b")
        self.assertEqual(r.stdout, b"/sandbox/b")
        r = self.run_("python", "import os; print(os.getcwd())", workdir="/sandbox")
        self.assertEqual(r.stdout, b"/sandbox")
        for bad in ["..", "/etc", "/sandbox/../tmp", "a/../../x"]:
            self.refused(grpc.StatusCode.INVALID_ARGUMENT, "Working directory must be inside /sandbox",
                         "bash", "pwd", workdir=bad)


if __name__ == "__main__":
    unittest.main(verbosity=2)

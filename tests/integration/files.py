#!/usr/bin/python3
"""PutFile, GetFile and `isol8 cp` against the real Docker engine and the
real binaries: round trips that keep the mode (and a 200 MiB one whose
daemon memory stays about one chunk), paths outside /sandbox and /tmp or
through a link planted by the code, missing files and sessions, a full
tmpfs that leaves the session working, chunks that disagree with the
first, a session destroyed during an upload, and the CLI's copies both ways.
"""
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import unittest

import grpc

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
import isol8d  # noqa: E402

SOURCE = os.environ["ISOL8_SOURCE_DIR"]
ISOL8D = os.environ["ISOL8D"]
ISOL8 = os.environ["ISOL8"]
TMP = tempfile.mkdtemp(prefix="isol8-files.")
PB, ADMIN, HEALTH = isol8d.messages(TMP, SOURCE)
MIB = 1 << 20

INVALID = grpc.StatusCode.INVALID_ARGUMENT
NOT_FOUND = grpc.StatusCode.NOT_FOUND


def blocks(total, size=MIB, seed=b"isol8"):
    """total bytes of deterministic, incompressible data in blocks of size."""
    counter = 0
    sent = 0
    while sent < total:
        block = bytearray()
        while len(block) < size:
            block += hashlib.sha512(seed + counter.to_bytes(8, "big")).digest()
            counter += 1
        block = bytes(block[:min(size, total - sent)])
        sent += len(block)
        yield block


class Files(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.d = isol8d.Daemon(ISOL8D, os.path.join(TMP, "d"), PB, ADMIN, HEALTH, flags=("--prewarm", "0"))
        ch = cls.d.channel
        cls.put_rpc = ch.stream_unary("/isol8.v1.Isol8/PutFile", request_serializer=PB.PutFileChunk.SerializeToString,
                                      response_deserializer=PB.PutFileResult.FromString)
        cls.get_rpc = ch.unary_stream("/isol8.v1.Isol8/GetFile",
                                      request_serializer=PB.GetFileRequest.SerializeToString,
                                      response_deserializer=PB.FileChunk.FromString)
        cls.destroy_rpc = ch.unary_unary("/isol8.v1.Isol8/DestroySession",
                                         request_serializer=PB.DestroySessionRequest.SerializeToString,
                                         response_deserializer=PB.DestroySessionResult.FromString)
        cls.sessions = set()

    @classmethod
    def tearDownClass(cls):
        for sid in cls.sessions:
            try:
                cls.destroy(sid)
            except grpc.RpcError:
                pass
        status = cls.d.stop()
        assert status == 0, "isol8d exited %d (log: %s)" % (status, cls.d.log_path)
        shutil.rmtree(TMP, ignore_errors=True)

    # --- helpers

    @classmethod
    def destroy(cls, sid):
        return cls.destroy_rpc(PB.DestroySessionRequest(session_id=sid), timeout=60).destroyed

    def run_in(self, sid, cmd, **options):
        """Runs bash cmd in session sid (made on first use); its ExecuteResult."""
        req = PB.ExecuteRequest(runtime="bash", code=cmd, session_id=sid)
        for k, v in options.items():
            setattr(req.options, k, v)
        self.sessions.add(sid)
        r = self.d.execute(req, timeout=120)
        return r

    def sh(self, sid, cmd):
        r = self.run_in(sid, cmd)
        self.assertEqual(r.exit_code, 0, "%r: %s" % (cmd, r.stderr))
        return r.stdout.decode()

    def put(self, sid, path, data, mode=0, chunk=MIB):
        """PutFile of data (bytes, or an iterable of chunks); its size."""
        chunks = data if not isinstance(data, bytes) else [data[i:i + chunk] for i in range(0, len(data), chunk)]

        def messages():
            first = True
            for c in chunks:
                if first:
                    yield PB.PutFileChunk(session_id=sid, path=path, mode=mode, data=c)
                    first = False
                else:
                    yield PB.PutFileChunk(data=c)
            if first:
                yield PB.PutFileChunk(session_id=sid, path=path, mode=mode)

        return self.put_rpc(messages(), timeout=600).size

    def get_chunks(self, sid, path):
        return [c.data for c in self.get_rpc(PB.GetFileRequest(session_id=sid, path=path), timeout=600)]

    def get(self, sid, path):
        return b"".join(self.get_chunks(sid, path))

    def refused(self, code, text, fn, *args):
        try:
            fn(*args)
        except grpc.RpcError as e:
            if e.code() != code or text not in e.details():
                raise AssertionError("got %s %r, want %s with %r" % (e.code(), e.details(), code, text))
            return e.details()
        raise AssertionError("the call succeeded; want %s with %r" % (code, text))

    # --- cases

    def test_small_round_trip_keeps_mode_and_owner(self):
        self.sh("s1", "true")
        text = b"#!/bin/sh\necho hello from a put file\n"
        self.assertEqual(self.put("s1", "/sandbox/bin/hello.sh", text, mode=0o755), len(text))
        self.assertEqual(self.sh("s1", "stat -c '%a %u %g' /sandbox/bin/hello.sh"), "755 1000 1000")
        self.assertEqual(self.sh("s1", "/sandbox/bin/hello.sh"), "hello from a put file")
        self.assertEqual(self.get("s1", "/sandbox/bin/hello.sh"), text)
        # the default mode, /tmp, an empty file, and a file the code wrote
        self.put("s1", "/tmp/plain.txt", b"plain")
        self.assertEqual(self.sh("s1", "stat -c %a /tmp/plain.txt"), "644")
        self.assertEqual(self.get("s1", "/tmp/plain.txt"), b"plain")
        self.assertEqual(self.put("s1", "/sandbox/empty", b""), 0)
        self.assertEqual(self.get("s1", "/sandbox/empty"), b"")
        self.sh("s1", "printf 'from code' > /sandbox/made.txt")
        self.assertEqual(self.get("s1", "/sandbox/made.txt"), b"from code")
        # an upload replaces a file, and a mode beyond 0777 is refused
        self.put("s1", "/sandbox/bin/hello.sh", b"short", mode=0o700)
        self.assertEqual(self.get("s1", "/sandbox/bin/hello.sh"), b"short")
        self.assertEqual(self.sh("s1", "stat -c %a /sandbox/bin/hello.sh"), "700")
        self.refused(INVALID, "mode: 04755", self.put, "s1", "/sandbox/suid", b"x", 0o4755)
        self.assertEqual(self.sh("s1", "ls /sandbox/suid 2>/dev/null || echo absent"), "absent")

    def test_big_round_trip_in_bounded_memory(self):
        size = 200 * MIB
        self.sh("big", "true")
        pid = self.d.proc.pid
        base = isol8d.vm_rss_kb(pid)
        peak = [base]
        done = threading.Event()

        def sample():
            while not done.is_set():
                peak[0] = max(peak[0], isol8d.vm_rss_kb(pid))
                time.sleep(0.02)

        sampler = threading.Thread(target=sample)
        sampler.start()
        try:
            want = hashlib.sha256()
            started = time.time()

            def source():
                for b in blocks(size):
                    want.update(b)
                    yield b

            self.assertEqual(self.put("big", "/sandbox/big.bin", source()), size)
            put_s = time.time() - started
            got = hashlib.sha256()
            n = 0
            sizes = []
            started = time.time()
            for c in self.get_rpc(PB.GetFileRequest(session_id="big", path="/sandbox/big.bin"), timeout=600):
                got.update(c.data)
                n += len(c.data)
                sizes.append(len(c.data))
            get_s = time.time() - started
        finally:
            done.set()
            sampler.join()
        self.assertEqual(n, size)
        self.assertEqual(got.hexdigest(), want.hexdigest())
        # the sandbox has the same bytes
        self.assertEqual(self.sh("big", "sha256sum /sandbox/big.bin | cut -d' ' -f1"), want.hexdigest())
        # FileChunks of 256 KiB to 1 MiB (the last may be shorter)
        self.assertTrue(all(256 * 1024 <= s <= MIB for s in sizes[:-1]), sorted(set(sizes)))
        growth_mib = (peak[0] - base) / 1024.0
        print("\n  200 MiB: put %.1f s, get %.1f s, isol8d VmRSS %d KiB -> peak %d KiB (+%.1f MiB)" %
              (put_s, get_s, base, peak[0], growth_mib), file=sys.stderr)
        self.assertLess(growth_mib, 64, "isol8d grew by %.1f MiB during a 200 MiB round trip" % growth_mib)
        self.sh("big", "rm /sandbox/big.bin")

    def test_paths_outside_refused(self):
        self.sh("paths", "true")
        for path, text in (("/sandbox/../etc/passwd", "is not normalized"), ("/etc/passwd", "outside /sandbox and /tmp"),
                           ("relative", "is not absolute"), ("/sandbox/", "is not normalized"),
                           ("/sandbox", "outside /sandbox and /tmp"), ("", "path: empty")):
            d = self.refused(INVALID, text, self.get, "paths", path)
            self.assertTrue(d.startswith("path: "), d)
            d = self.refused(INVALID, text if path else "path: empty in the first PutFileChunk", self.put, "paths",
                             path, b"x")
            self.assertTrue(d.startswith("path: "), d)

    def test_planted_links_refused(self):
        self.sh("links", "ln -s /etc /sandbox/link && ln -s /etc/passwd /sandbox/plink && "
                "mkdir -p /sandbox/d && ln -s /tmp /sandbox/d/tmplink")
        for path in ("/sandbox/link/passwd", "/sandbox/plink", "/sandbox/d/tmplink/x"):
            self.refused(INVALID, "symbolic link", self.get, "links", path)
        for path in ("/sandbox/link/x", "/sandbox/plink", "/sandbox/link/sub/x", "/sandbox/d/tmplink/x"):
            self.refused(INVALID, "symbolic link", self.put, "links", path, b"planted")
        # the link still points where it did, and nothing went through it
        self.assertEqual(self.sh("links", "readlink /sandbox/plink; ls /tmp/x 2>/dev/null || echo none"),
                         "/etc/passwd\nnone")

    def test_missing_file_and_session(self):
        self.sh("missing", "mkdir /sandbox/dir")
        self.refused(NOT_FOUND, "/sandbox/nope", self.get, "missing", "/sandbox/nope")
        self.refused(NOT_FOUND, "/sandbox/nope/deeper", self.get, "missing", "/sandbox/nope/deeper")
        self.refused(INVALID, "/sandbox/dir", self.get, "missing", "/sandbox/dir")
        for fn, args in ((self.get, ()), (self.put, (b"x",))):
            d = self.refused(NOT_FOUND, 'no session "ghost"', fn, "ghost", "/sandbox/x", *args)
            self.assertIn("Execute", d)
        self.refused(INVALID, "session_id", self.get, "bad id!", "/sandbox/x")

    def test_full_tmpfs_then_session_works(self):
        r = self.run_in("full", "df -m /sandbox | tail -1", sandbox_size="16m")
        self.assertEqual(r.exit_code, 0, r.stderr)
        d = self.refused(grpc.StatusCode.RESOURCE_EXHAUSTED, "tmpfs is full", self.put, "full", "/sandbox/big",
                         blocks(32 * MIB))
        self.assertIn("/sandbox/big", d)
        # the partial file is gone, the space is back, the session answers
        self.assertEqual(self.sh("full", "ls /sandbox/big 2>/dev/null || echo gone"), "gone")
        self.assertEqual(self.put("full", "/sandbox/small", b"fits"), 4)
        self.assertEqual(self.sh("full", "cat /sandbox/small"), "fits")
        self.assertEqual(self.get("full", "/sandbox/small"), b"fits")

    def test_chunks_must_agree_with_the_first(self):
        self.sh("agree", "true")

        def send(*msgs):
            return self.put_rpc(iter(msgs), timeout=60)

        self.refused(INVALID, "session_id: empty in the first PutFileChunk", send, PB.PutFileChunk(path="/sandbox/a"))
        self.refused(INVALID, "path: empty in the first PutFileChunk", send, PB.PutFileChunk(session_id="agree"))
        self.refused(INVALID, "session_id: no PutFileChunk came", send)
        self.refused(INVALID, 'path: PutFileChunk 1 names "/sandbox/b"', send,
                     PB.PutFileChunk(session_id="agree", path="/sandbox/a", data=b"1"),
                     PB.PutFileChunk(path="/sandbox/b", data=b"2"))
        self.refused(INVALID, 'session_id: PutFileChunk 2 names "other"', send,
                     PB.PutFileChunk(session_id="agree", path="/sandbox/a", data=b"1"),
                     PB.PutFileChunk(session_id="agree", path="/sandbox/a", data=b"2"),
                     PB.PutFileChunk(session_id="other", data=b"3"))
        self.assertEqual(self.sh("agree", "ls /sandbox/a 2>/dev/null || echo absent"), "absent")
        # repeating the same names is fine
        self.assertEqual(send(PB.PutFileChunk(session_id="agree", path="/sandbox/a", data=b"1"),
                              PB.PutFileChunk(session_id="agree", path="/sandbox/a", data=b"2")).size, 2)

    def test_destroyed_during_upload(self):
        self.sh("doomed", "true")

        def source():
            for i, b in enumerate(blocks(64 * MIB)):
                if i == 4:
                    self.assertTrue(self.destroy("doomed"))
                yield b

        self.refused(grpc.StatusCode.CANCELLED, 'session "doomed" was destroyed', self.put, "doomed",
                     "/sandbox/x", source())
        self.refused(NOT_FOUND, 'no session "doomed"', self.get, "doomed", "/sandbox/x")

    def test_client_gone_mid_upload(self):
        self.sh("gone", "printf old > /sandbox/x")

        def source():
            for i, b in enumerate(blocks(64 * MIB)):
                if i == 4:
                    raise RuntimeError("the client stops here")
                yield b

        with self.assertRaises(grpc.RpcError) as ctx:
            self.put("gone", "/sandbox/x", source())
        # grpcio cancels the call when its request iterator raises
        self.assertIn(ctx.exception.code(), (grpc.StatusCode.UNKNOWN, grpc.StatusCode.CANCELLED))
        # the agent removes the partial file once the daemon lets go of it
        for _ in range(100):
            if self.sh("gone", "ls /sandbox/x 2>/dev/null || echo gone") == "gone":
                break
            time.sleep(0.05)
        self.assertEqual(self.sh("gone", "ls /sandbox/x 2>/dev/null || echo gone"), "gone")
        self.assertEqual(self.put("gone", "/sandbox/x", b"new"), 3)

    def test_stalled_upload_is_abandoned(self):
        self.sh("stall", "true")

        def source():
            yield b"first"
            time.sleep(31)  # past the agent's 30 s wait for the next chunk
            yield b"late"

        self.refused(grpc.StatusCode.DEADLINE_EXCEEDED, "no chunk came for 30 s", self.put, "stall", "/sandbox/s",
                     source())
        self.assertEqual(self.sh("stall", "ls /sandbox/s 2>/dev/null || echo gone"), "gone")

    # --- isol8 cp

    def cp(self, *args, stdin=None):
        r = subprocess.run([ISOL8, "cp", *args, "--host", "unix:" + self.d.socket], input=stdin,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=300)
        return r.returncode, r.stdout, r.stderr.decode()

    def test_cli_cp(self):
        self.sh("cli", "true")
        work = tempfile.mkdtemp(dir=TMP)
        src = os.path.join(work, "script.sh")
        data = b"".join(blocks(3 * MIB + 17))
        with open(src, "wb") as f:
            f.write(data)
        os.chmod(src, 0o750)
        self.assertEqual(self.cp(src, "cli:/sandbox/up/script.sh"), (0, b"", ""))
        self.assertEqual(self.sh("cli", "stat -c %a /sandbox/up/script.sh; sha256sum < /sandbox/up/script.sh"),
                         "750\n%s  -" % hashlib.sha256(data).hexdigest())
        # download to a file, into a directory, and to stdout; upload from stdin
        dst = os.path.join(work, "back.sh")
        self.assertEqual(self.cp("cli:/sandbox/up/script.sh", dst)[0], 0)
        with open(dst, "rb") as f:
            self.assertEqual(f.read(), data)
        self.assertEqual(self.cp("cli:/sandbox/up/script.sh", work + "/")[0], 0)
        with open(os.path.join(work, "script.sh"), "rb") as f:
            self.assertEqual(f.read(), data)
        status, out, err = self.cp("cli:/sandbox/up/script.sh", "-")
        self.assertEqual((status, out == data), (0, True), err)
        self.assertEqual(self.cp("-", "cli:/tmp/in.txt", stdin=b"from stdin")[0], 0)
        self.assertEqual(self.get("cli", "/tmp/in.txt"), b"from stdin")
        # a slow pipe: what it has goes on as it comes
        r = subprocess.run("(printf a; sleep 1; printf b) | \"$ISOL8\" cp - cli:/tmp/slow --host \"unix:$SOCK\"",
                           shell=True, env=dict(os.environ, SOCK=self.d.socket), stderr=subprocess.PIPE, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(self.get("cli", "/tmp/slow"), b"ab")

        # errors: exit 1, named, and no partial file left beside the destination
        before = sorted(os.listdir(work))
        status, _, err = self.cp("nope:/sandbox/x", os.path.join(work, "x"))
        self.assertEqual(status, 1)
        self.assertIn('cp: session "nope" not found', err)
        status, _, err = self.cp("cli:/sandbox/missing", os.path.join(work, "missing"))
        self.assertEqual(status, 1)
        self.assertIn('"cli:/sandbox/missing": no such file', err)
        status, _, err = self.cp(src, "cli:/etc/x")
        self.assertEqual(status, 1)
        self.assertIn("outside /sandbox and /tmp", err)
        self.assertEqual(sorted(os.listdir(work)), before)
        status, _, err = self.cp(src, os.path.join(work, "y"))
        self.assertEqual(status, 1)
        self.assertIn("names a session's file", err)
        status, _, err = self.cp(os.path.join(work, "absent"), "cli:/sandbox/x")
        self.assertEqual(status, 1)
        self.assertIn("cannot open", err)
        status, _, err = self.cp(work, "cli:/sandbox/x")
        self.assertEqual(status, 1)
        self.assertIn("is a directory", err)
        status, _, err = self.cp("cli:/sandbox/up/script.sh", os.path.join(work, "no-such-dir", "x"))
        self.assertEqual(status, 1)
        self.assertIn("cannot create a file beside", err)


if __name__ == "__main__":
    unittest.main(verbosity=2)

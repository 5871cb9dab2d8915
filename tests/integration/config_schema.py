#!/usr/bin/python3
"""The configuration file: schema/isol8.config.schema.json against the C loader.

Debian's python3-jsonschema (Draft 2020-12) and the loader, through
`isol8 config --json --config FILE` and `isol8d --check-config --config FILE`,
judge the corpus in tests/config:

  valid/     both accept; the CLI's JSON output passes the schema and reads back
             to the same output; isol8d starts with it (--check-config)
  invalid/   both refuse, the loader naming the file and the key
  semantic/  the schema accepts what only the loader can check (ranges of
             sizes, defaults within their ceilings, regexes, the profile file,
             duplicate keys, \\u0000): the loader refuses with NAME.error's text
  daemon/    the file is fine, isol8d refuses to run it (NAME.error's text)

and the defaults, the schema's own shape (every key typed, described and with
its default), the same keys in the schema and the loader, and where the CLI
finds the file. No Docker is needed.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

import jsonschema

SOURCE = os.environ["ISOL8_SOURCE_DIR"]
ISOL8 = os.environ["ISOL8"]
ISOL8D = os.environ["ISOL8D"]
CORPUS = os.path.join(SOURCE, "tests", "config")
SCHEMA_PATH = os.path.join(SOURCE, "schema", "isol8.config.schema.json")
with open(SCHEMA_PATH, encoding="utf-8") as f:
    SCHEMA = json.load(f)
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA)
TMP = tempfile.mkdtemp(prefix="isol8-config.")
# keys without a default: optional strings, and two derived from the host or other keys
NO_DEFAULT = {"$schema", "security.customProfilePath", "tls.cert", "tls.key", "pool.maxSandboxes",
              "policy.maxCpuLimit", "network.caBundle"}


def env(**extra):
    """An environment where only what a test sets can point at a file."""
    e = {k: v for k, v in os.environ.items() if k not in ("ISOL8_CONFIG", "ISOL8_API_KEY")}
    e["HOME"] = os.path.join(TMP, "no-home")
    e.update(extra)
    return e


def run(*args, cwd=TMP, **extra):
    return subprocess.run(list(args), cwd=cwd, env=env(**extra), stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, timeout=30)


def cli_config(path, cwd=TMP, **extra):
    args = [ISOL8, "config", "--json"] + (["--config", path] if path else [])
    return run(*args, cwd=cwd, **extra)


def daemon_check(path):
    # TCP listeners need a key; the socket path must not reach a real daemon's
    return run(ISOL8D, "--check-config", "--config", path, "--socket", os.path.join(TMP, "d.sock"),
               ISOL8_API_KEY="test-key")


def reject_constant(name):
    raise ValueError("not JSON: " + name)


def schema_verdict(path):
    """(True, None) when the schema accepts the file, else (False, why)."""
    with open(path, "rb") as f:
        raw = f.read()
    try:
        doc = json.loads(raw.decode("utf-8"), parse_constant=reject_constant)
    except (UnicodeDecodeError, ValueError) as e:
        return False, "not JSON: %s" % e
    errors = sorted(VALIDATOR.iter_errors(doc), key=lambda e: list(e.path))
    return (not errors), (errors[0].message if errors else None)


def corpus(kind):
    d = os.path.join(CORPUS, kind)
    return sorted(os.path.join(d, n) for n in os.listdir(d) if n.endswith(".json"))


def expected_error(path):
    with open(path[:-len(".json")] + ".error", encoding="utf-8") as f:
        return f.read().strip()


def leaves(schema, prefix=""):
    """JSON paths of the schema's keys, with their subschemas."""
    out = {}
    for name, sub in schema.get("properties", {}).items():
        path = prefix + name
        out[path] = sub
        if sub.get("type") == "object":
            out.update(leaves(sub, path + "."))
    return out


def json_leaves(doc, prefix=""):
    out = set()
    for k, v in doc.items():
        out.add(prefix + k)
        if isinstance(v, dict) and prefix + k not in ("poolSize", "pool.prewarm"):
            out |= json_leaves(v, prefix + k + ".")
    return out


class Corpus(unittest.TestCase):
    def test_corpus_is_large(self):
        for kind, least in (("valid", 12), ("invalid", 12), ("semantic", 6), ("daemon", 3)):
            self.assertGreaterEqual(len(corpus(kind)), least, kind)

    def test_valid(self):
        back = os.path.join(TMP, "back", "valid")
        os.makedirs(back, exist_ok=True)
        if not os.path.exists(os.path.join(TMP, "back", "profiles")):
            os.symlink(os.path.join(CORPUS, "profiles"), os.path.join(TMP, "back", "profiles"))
        for path in corpus("valid"):
            name = os.path.basename(path)
            with self.subTest(file=name):
                ok, why = schema_verdict(path)
                self.assertTrue(ok, "the schema refuses %s: %s" % (name, why))
                r = cli_config(path)
                self.assertEqual(r.returncode, 0, r.stderr.decode())
                self.assertEqual(r.stderr, b"")
                out = json.loads(r.stdout)
                errors = list(VALIDATOR.iter_errors(out))
                self.assertEqual(errors, [], "isol8 config --json output fails the schema")
                # read back (from a directory where the same relative profile path resolves)
                again = os.path.join(back, name)
                with open(again, "wb") as f:
                    f.write(r.stdout)
                r2 = cli_config(again)
                self.assertEqual(r2.returncode, 0, r2.stderr.decode())
                self.assertEqual(r2.stdout.decode(), r.stdout.decode())
                d = daemon_check(path)
                self.assertEqual(d.returncode, 0, d.stderr.decode())
                self.assertIn(b"Isol8 Configuration", d.stdout)

    def test_invalid(self):
        for path in corpus("invalid"):
            name = os.path.basename(path)
            with self.subTest(file=name):
                ok, _ = schema_verdict(path)
                self.assertFalse(ok, "the schema accepts %s" % name)
                r = cli_config(path)
                self.assertEqual(r.returncode, 1, "isol8 config accepts %s: %s" % (name, r.stdout[:200]))
                self.assertEqual(r.stdout, b"")
                err = r.stderr.decode()
                self.assertTrue(err.startswith("[ERR] %s: " % path), err)
                self.assertEqual(err.count("\n"), 1, "one line: %r" % err)
                d = daemon_check(path)
                self.assertEqual(d.returncode, 2, d.stdout.decode())
                self.assertEqual(d.stderr.decode(), "isol8d: " + err[len("[ERR] "):])

    def test_semantic(self):
        for path in corpus("semantic"):
            name = os.path.basename(path)
            with self.subTest(file=name):
                ok, why = schema_verdict(path)
                self.assertTrue(ok, "the schema refuses %s (%s): move it to invalid/" % (name, why))
                r = cli_config(path)
                self.assertEqual(r.returncode, 1, "isol8 config accepts %s" % name)
                self.assertIn(expected_error(path), r.stderr.decode())
                self.assertTrue(r.stderr.decode().startswith("[ERR] %s: " % path))
                d = daemon_check(path)
                self.assertEqual(d.returncode, 2)
                self.assertIn(expected_error(path), d.stderr.decode())

    def test_daemon_only(self):
        for path in corpus("daemon"):
            name = os.path.basename(path)
            with self.subTest(file=name):
                ok, why = schema_verdict(path)
                self.assertTrue(ok, why)
                r = cli_config(path)
                self.assertEqual(r.returncode, 0, r.stderr.decode())
                d = run(ISOL8D, "--check-config", "--config", path, "--socket", os.path.join(TMP, "d.sock"))
                self.assertEqual(d.returncode, 2, d.stdout.decode())
                self.assertIn(expected_error(path), d.stderr.decode())


class Schema(unittest.TestCase):
    def test_is_2020_12(self):
        self.assertEqual(SCHEMA["$schema"], "https://json-schema.org/draft/2020-12/schema")
        jsonschema.Draft202012Validator.check_schema(SCHEMA)

    def test_every_key_typed_described_and_defaulted(self):
        for path, sub in leaves(SCHEMA).items():
            with self.subTest(key=path):
                self.assertTrue("type" in sub or "anyOf" in sub, "no type")
                self.assertTrue(sub.get("description"), "no description")
                if path not in NO_DEFAULT:
                    self.assertIn("default", sub)
                    self.assertTrue(VALIDATOR.evolve(schema=sub).is_valid(sub["default"]), "default fails its schema")
                if sub.get("type") == "object":
                    self.assertIs(sub.get("additionalProperties"), False)
        self.assertIs(SCHEMA["additionalProperties"], False)

    def test_same_keys_as_the_loader(self):
        r = cli_config(os.path.join(CORPUS, "valid", "every_key.json"))
        self.assertEqual(r.returncode, 0, r.stderr.decode())
        self.assertEqual(json_leaves(json.loads(r.stdout)), set(leaves(SCHEMA)))


ORIGINAL_DEFAULTS = {
    "maxConcurrent": 10, "debug": False,
    "defaults": {"timeoutMs": 30000, "memoryLimit": "512m", "cpuLimit": 1, "network": "none",
                 "sandboxSize": "512m", "tmpSize": "256m"},
    "network": {"whitelist": [], "blacklist": []},
    "cleanup": {"autoPrune": True, "maxContainerAgeMs": 3600000},
    "poolStrategy": "fast", "poolSize": {"clean": 1, "dirty": 1},
    "security": {"seccomp": "strict"},
}


def subset(want, got):
    if isinstance(want, dict):
        return isinstance(got, dict) and all(k in got and subset(v, got[k]) for k, v in want.items())
    return want == got and type(want) is type(got)


class Resolution(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(dir=TMP)
        self.home = os.path.join(self.dir, "home")
        os.makedirs(os.path.join(self.home, ".isol8"))
        self.work = os.path.join(self.dir, "work")
        os.makedirs(self.work)

    def write(self, path, doc):
        with open(path, "w") as f:
            json.dump(doc, f)
        return path

    def config(self, *args, **extra):
        r = run(ISOL8, "config", *args, cwd=self.work, HOME=self.home, **extra)
        self.assertEqual(r.returncode, 0, r.stderr.decode())
        return r.stdout.decode()

    def test_defaults_are_the_originals(self):
        out = json.loads(self.config("--json"))
        self.assertTrue(subset(ORIGINAL_DEFAULTS, out), json.dumps(out, indent=1))
        rc = out["remoteCode"]
        self.assertEqual((rc["enabled"], rc["allowedSchemes"], rc["allowedHosts"], rc["maxCodeSize"],
                          rc["fetchTimeoutMs"], rc["requireHash"], rc["enableCache"], rc["cacheTtl"]),
                         (False, ["https"], [], 10485760, 30000, False, True, 3600))
        self.assertIn("^localhost$", rc["blockedHosts"])
        self.assertIn("dependencies", out)
        pol = out["policy"]
        self.assertEqual((pol["allowHostNetwork"], pol["allowSeccompUnconfined"], pol["allowSeccompCustom"],
                          pol["allowWritableRoot"], pol["allowedImages"], pol["localIsTrusted"]),
                         (False, False, False, False, [], True))
        self.assertEqual((pol["maxMemoryLimit"], pol["maxCpuLimit"], pol["maxPidsLimit"], pol["maxTimeoutMs"],
                          pol["maxOutputSize"], pol["maxTmpSize"]),
                         ("8g", os.cpu_count(), 4096, 3600000, 256 << 20, "8g"))
        self.assertEqual(list(VALIDATOR.iter_errors(out)), [])
        text = self.config()
        self.assertIn("Isol8 Configuration", text)
        self.assertIn("Source: defaults (no config file found)", text)
        for word in ("defaults", "30000", "512m", "none"):
            self.assertIn(word, text)

    def test_merge_and_sources(self):
        path = self.write(os.path.join(self.work, "isol8.config.json"),
                          {"defaults": {"timeoutMs": 60000, "memoryLimit": "1g"},
                           "dependencies": {"python": ["numpy", "pandas"], "node": ["lodash"]}})
        out = json.loads(self.config("--json"))
        self.assertEqual(out["defaults"]["timeoutMs"], 60000)
        self.assertEqual(out["defaults"]["memoryLimit"], "1g")
        self.assertEqual(out["defaults"]["cpuLimit"], 1)
        self.assertEqual(out["defaults"]["network"], "none")
        self.assertEqual(out["dependencies"]["python"], ["numpy", "pandas"])
        text = self.config()
        self.assertIn("Source: %s" % path, text)
        lines = {l.split()[0]: l for l in text.splitlines() if l.startswith("  ") and len(l.split()) >= 3}
        self.assertTrue(lines["defaults.timeoutMs"].rstrip().endswith(path), lines["defaults.timeoutMs"])
        self.assertTrue(lines["defaults.cpuLimit"].rstrip().endswith("default"), lines["defaults.cpuLimit"])

    def test_where_the_file_is(self):
        home = self.write(os.path.join(self.home, ".isol8", "config.json"), {"maxConcurrent": 2})
        self.assertEqual(json.loads(self.config("--json"))["maxConcurrent"], 2)
        self.assertIn("Source: %s" % home, self.config())
        self.write(os.path.join(self.work, "isol8.config.json"), {"maxConcurrent": 3})
        self.assertEqual(json.loads(self.config("--json"))["maxConcurrent"], 3)
        env_file = self.write(os.path.join(self.dir, "env.json"), {"maxConcurrent": 4})
        self.assertEqual(json.loads(self.config("--json", ISOL8_CONFIG=env_file))["maxConcurrent"], 4)
        flag_file = self.write(os.path.join(self.dir, "flag.json"), {"maxConcurrent": 5})
        self.assertEqual(json.loads(self.config("--json", "--config", flag_file, ISOL8_CONFIG=env_file))
                         ["maxConcurrent"], 5)
        r = run(ISOL8, "config", "--config", "missing.json", cwd=self.work, HOME=self.home)
        self.assertEqual(r.returncode, 1)
        self.assertEqual(r.stderr.decode(), '[ERR] --config: configuration file "missing.json" does not exist\n')
        r = run(ISOL8, "config", cwd=self.work, HOME=self.home, ISOL8_CONFIG="gone.json")
        self.assertEqual(r.returncode, 1)
        self.assertIn("ISOL8_CONFIG: configuration file \"gone.json\" does not exist", r.stderr.decode())

    def test_daemon_flags_win(self):
        self.write(os.path.join(self.work, "isol8.config.json"), {"maxConcurrent": 3, "poolStrategy": "secure"})
        r = run(ISOL8D, "--check-config", "--max-concurrent", "7", "--socket", os.path.join(self.dir, "s.sock"),
                cwd=self.work, HOME=self.home)
        self.assertEqual(r.returncode, 0, r.stderr.decode())
        lines = {l.split()[0]: l.split()[1:] for l in r.stdout.decode().splitlines() if len(l.split()) >= 3}
        self.assertEqual(lines["maxConcurrent"], ["7", "flag", "--max-concurrent"])
        self.assertEqual(lines["poolStrategy"][0], "secure")
        self.assertTrue(lines["poolStrategy"][1].endswith("isol8.config.json"))
        self.assertEqual(lines["pool.maxSandboxes"], ["23", "default"])


if __name__ == "__main__":
    try:
        unittest.main(verbosity=2)
    finally:
        shutil.rmtree(TMP, ignore_errors=True)

#!/usr/bin/python3
"""skill/isol8/SKILL.md cannot drift from the CLI: its YAML front matter has
the agent-skill fields (name, description), and every flag it mentions is
one that `isol8 run --help` lists. Needs $ISOL8 and $ISOL8_SOURCE_DIR; no
daemon."""
import os
import re
import subprocess
import sys
import unittest

SKILL = os.path.join(os.environ["ISOL8_SOURCE_DIR"], "skill", "isol8", "SKILL.md")
ISOL8 = os.environ["ISOL8"]


def front_matter(text):
    """The front matter's key: value pairs (flat YAML, as the format has it)."""
    if not text.startswith("---\n"):
        raise AssertionError("SKILL.md does not start with a --- front matter line")
    end = text.index("\n---\n", 4)
    fields = {}
    for line in text[4:end].splitlines():
        key, sep, value = line.partition(":")
        if not sep or not re.fullmatch(r"[a-z][a-z0-9_-]*", key):
            raise AssertionError("front matter line is not `key: value`: %r" % line)
        fields[key] = value.strip()
    return fields, text[end + 5:]


class SkillDoc(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        with open(SKILL, encoding="utf-8") as f:
            cls.text = f.read()
        r = subprocess.run([ISOL8, "run", "--help"], capture_output=True, text=True, timeout=30)
        assert r.returncode == 0, "isol8 run --help exited %d: %s" % (r.returncode, r.stderr)
        cls.help = r.stdout
        cls.long_flags = set(re.findall(r"(?<![\w-])(--[a-z][a-z-]*)", cls.help))
        cls.short_flags = set(re.findall(r"^\s+(-[a-zA-Z]),", cls.help, re.M))

    def test_front_matter(self):
        fields, body = front_matter(self.text)
        self.assertEqual(fields.get("name"), "isol8")
        self.assertRegex(fields.get("description", ""), r"^\S.{40,1024}$")
        self.assertNotIn("<", fields["description"])
        self.assertEqual(set(fields) - {"name", "description", "license", "allowed-tools", "metadata"}, set())
        self.assertTrue(body.lstrip().startswith("# "), "the instructions start with a heading")

    def test_the_help_was_read(self):
        # the parse below means something only if it found the real flags
        self.assertIn("--timeout", self.long_flags)
        self.assertIn("-e", self.short_flags)

    def test_every_long_flag_exists(self):
        mentioned = set(re.findall(r"(?<![\w-])(--[a-z][a-z-]*)", self.text))
        self.assertGreater(len(mentioned), 15)
        self.assertEqual(mentioned - self.long_flags, set(), "flags SKILL.md mentions that `isol8 run --help` lacks")

    def test_every_short_flag_exists(self):
        # short flags in commands: " -e ", " -r "
        mentioned = set(re.findall(r"(?<=\s)(-[a-zA-Z])(?=[\s`/])", self.text))
        self.assertEqual(mentioned - self.short_flags, set(), "short flags SKILL.md mentions that `isol8 run --help` lacks")

    def test_mentions_what_an_agent_needs(self):
        for needed in ("isol8 run", "--session", "isol8 session list", "isol8 session rm", "isol8 cp", "--timeout",
                       "--memory", "--net", "--stdin", "--files", "-e", "isol8 mcp",
                       '{"mcpServers": {"isol8": {"command": "isol8", "args": ["mcp"]}}}'):
            self.assertIn(needed, self.text)
        for runtime in ("python", "node", "bun", "deno", "bash"):
            self.assertIn(runtime, self.text)


if __name__ == "__main__":
    result = unittest.main(exit=False, verbosity=2).result
    failed = len(result.failures) + len(result.errors)
    print("%d passed, %d failed" % (result.testsRun - failed, failed))
    sys.exit(1 if failed or result.testsRun == 0 else 0)

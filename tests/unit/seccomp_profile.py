#!/usr/bin/python3
"""The built-in seccomp profile (server/docker/seccomp/strict.json) read the
way Docker reads it, without Docker: only keys and values Docker knows, every
name a real syscall (Docker skips unknown names without a word), no rule that
Docker would widen (conditions on the same argument are ORed, each becoming a
rule of its own), the calls the sandbox promises to refuse refused with EPERM,
and socket()/socketpair() allowed for AF_UNIX, AF_INET and AF_INET6 only.
tests/integration/security.py checks the same promises inside a sandbox."""
import json
import os
import re
import sys
import unittest

SOURCE = os.environ.get("ISOL8_SOURCE_DIR",
                        os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
PROFILE = os.path.join(SOURCE, "server", "docker", "seccomp", "strict.json")
SYSCALL_HEADERS = ["/usr/include/x86_64-linux-gnu/asm/unistd_64.h",
                   "/usr/include/x86_64-linux-gnu/asm/unistd_32.h",
                   "/usr/include/asm-generic/unistd.h"]

ACTIONS = {"SCMP_ACT_KILL", "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL_THREAD", "SCMP_ACT_TRAP",
           "SCMP_ACT_ERRNO", "SCMP_ACT_TRACE", "SCMP_ACT_ALLOW", "SCMP_ACT_LOG", "SCMP_ACT_NOTIFY"}
OPS = {"SCMP_CMP_NE", "SCMP_CMP_LT", "SCMP_CMP_LE", "SCMP_CMP_EQ", "SCMP_CMP_GE", "SCMP_CMP_GT",
       "SCMP_CMP_MASKED_EQ"}
ARCHES = {"SCMP_ARCH_X86", "SCMP_ARCH_X86_64", "SCMP_ARCH_X32", "SCMP_ARCH_ARM", "SCMP_ARCH_AARCH64"}
PROFILE_KEYS = {"defaultAction", "defaultErrnoRet", "architectures", "archMap", "syscalls", "flags",
                "listenerPath", "listenerMetadata"}
RULE_KEYS = {"names", "name", "action", "errnoRet", "args", "comment", "includes", "excludes"}
ARG_KEYS = {"index", "value", "valueTwo", "op"}

EPERM, EAFNOSUPPORT = 1, 97
MUST_REFUSE = ["mount", "umount2", "ptrace", "kexec_load", "kexec_file_load", "keyctl", "add_key",
               "request_key", "bpf", "perf_event_open", "userfaultfd", "unshare", "setns", "reboot",
               "swapon", "swapoff", "init_module", "finit_module", "delete_module", "open_by_handle_at",
               "process_vm_readv", "process_vm_writev", "io_uring_setup", "pidfd_getfd", "kcmp"]
FAMILIES_SERVED = {1, 2, 10}  # AF_UNIX, AF_INET, AF_INET6


def known_syscalls():
    names = set()
    for header in SYSCALL_HEADERS:
        with open(header) as f:
            names.update(re.findall(r"#define __NR(?:3264)?_(\w+)\s", f.read()))
    return names


def matches(arg, value):
    op, v, v2 = arg["op"], arg["value"], arg.get("valueTwo", 0)
    return {"SCMP_CMP_NE": value != v, "SCMP_CMP_LT": value < v, "SCMP_CMP_LE": value <= v,
            "SCMP_CMP_EQ": value == v, "SCMP_CMP_GE": value >= v, "SCMP_CMP_GT": value > v,
            "SCMP_CMP_MASKED_EQ": value & v == v2}[op]


def decide(profile, name, args):
    """(action, errno) the profile gives `name` called with `args`, as Docker
    builds it: a rule with conditions on distinct arguments needs all of
    them; one with several on the same argument fires on any of them."""
    for rule in profile["syscalls"]:
        if name not in rule.get("names", []):
            continue
        conds = rule.get("args") or []
        indexes = [c["index"] for c in conds]
        hit = (any if len(set(indexes)) < len(indexes) else all)(matches(c, args[c["index"]]) for c in conds)
        if not conds or hit:
            return rule["action"], rule.get("errnoRet")
    return profile["defaultAction"], profile.get("defaultErrnoRet")


class Profile(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        with open(PROFILE) as f:
            cls.p = json.load(f)

    def test_shape_is_dockers(self):
        self.assertLessEqual(set(self.p), PROFILE_KEYS)
        self.assertIn(self.p["defaultAction"], ACTIONS)
        arches = {a["architecture"] for a in self.p["archMap"]}
        for a in self.p["archMap"]:
            arches.update(a.get("subArchitectures", []))
        self.assertLessEqual(arches, ARCHES)
        self.assertIn("SCMP_ARCH_X86_64", arches)
        self.assertIn("SCMP_ARCH_AARCH64", arches)
        for i, rule in enumerate(self.p["syscalls"]):
            where = "syscalls[%d] %s" % (i, rule.get("names"))
            self.assertLessEqual(set(rule), RULE_KEYS, where)
            self.assertIn(rule["action"], ACTIONS, where)
            self.assertTrue(rule["names"], where)
            if rule["action"] == "SCMP_ACT_ERRNO":
                self.assertIsInstance(rule.get("errnoRet"), int, where + ": an ERRNO rule without errnoRet")
            for arg in rule.get("args", []):
                self.assertLessEqual(set(arg), ARG_KEYS, where)
                self.assertIn(arg["op"], OPS, where)
                self.assertIn(arg["index"], range(6), where)
                self.assertIsInstance(arg["value"], int, where)
            indexes = [a["index"] for a in rule.get("args", [])]
            self.assertEqual(len(indexes), len(set(indexes)),
                             where + ": Docker ORs conditions on the same argument, widening the rule")

    def test_every_name_is_a_syscall(self):
        known = known_syscalls()
        unknown = sorted({n for r in self.p["syscalls"] for n in r["names"]} - known)
        self.assertEqual(unknown, [], "names Docker would skip silently")

    def test_refused_calls_get_eperm(self):
        for name in MUST_REFUSE:
            self.assertEqual(decide(self.p, name, [0] * 6), ("SCMP_ACT_ERRNO", EPERM), name)

    def test_clone_of_namespaces_refused_threads_allowed(self):
        threads = 0x3d0f00  # CLONE_VM|FS|FILES|SIGHAND|THREAD|SYSVSEM|SETTLS|PARENT_SETTID|CHILD_CLEARTID
        self.assertEqual(decide(self.p, "clone", [threads, 0, 0, 0, 0, 0])[0], "SCMP_ACT_ALLOW")
        self.assertEqual(decide(self.p, "clone", [17, 0, 0, 0, 0, 0])[0], "SCMP_ACT_ALLOW")  # fork: SIGCHLD
        for flag in (0x20000, 0x2000000, 0x4000000, 0x8000000, 0x10000000, 0x20000000, 0x40000000):
            self.assertEqual(decide(self.p, "clone", [flag | 17, 0, 0, 0, 0, 0]), ("SCMP_ACT_ERRNO", EPERM),
                             hex(flag))

    def test_socket_families(self):
        for name in ("socket", "socketpair"):
            for family in list(range(0, 64)) + [1 << 32 | 2, (1 << 64) - 1]:
                action, errno = decide(self.p, name, [family, 1, 0, 0, 0, 0])
                if family in FAMILIES_SERVED:
                    self.assertEqual(action, "SCMP_ACT_ALLOW", "%s(%d)" % (name, family))
                else:
                    self.assertEqual((action, errno), ("SCMP_ACT_ERRNO", EAFNOSUPPORT), "%s(%#x)" % (name, family))
        self.assertEqual(decide(self.p, "socketcall", [1] * 6), ("SCMP_ACT_ERRNO", EPERM))

    def test_the_everyday_calls_are_allowed(self):
        for name in ("read", "write", "openat", "mmap", "futex", "epoll_wait", "personality", "prctl",
                     "setsid", "kill", "execve", "wait4", "pipe2", "eventfd2", "memfd_create"):
            self.assertEqual(decide(self.p, name, [0] * 6)[0], "SCMP_ACT_ALLOW", name)


if __name__ == "__main__":
    unittest.main(verbosity=2)

/*
 * Pre-started interpreters: the launcher program of each runtime that has
 * one, and the rule for when a request may use it. A launcher is the
 * runtime's interpreter started with a small program (python3 -c, node -e)
 * that says it is ready on fd 5, then waits on fd 4 for the control message (agent.proto, "prestart": argv,
 * env, cwd), then makes the process look as a fresh start of that argv
 * would: sys.argv / process.argv, the environment, the cwd, __main__ (or
 * the entry module) and its file, uncaught-error output and exit codes; the
 * launcher's own frames are left out of tracebacks.
 *
 * What a fresh start would do differently can only come from the
 * environment the interpreter starts with, so a request that sets a
 * variable read at start-up (PYTHON*, NODE_*, UV_*, LANG, LC_*, TZ, LD_*,
 * MALLOC_*) takes the normal path.
 */
#include <string.h>

#include "engine/launcher.h"
#include "engine/python_traceback.h"

/* Python: __main__'s namespace is emptied and filled as for a script. */
static const char python_launcher[] =
	"def _isol8_launch():\n"
	" import sys, os, builtins, _frozen_importlib_external as fie\n"
	ISOL8_PYTHON_TRIMMED_TRACEBACK
	" os.write(5, b'.')\n"
	" os.close(5)\n"
	" chunks = []\n"
	" while True:\n"
	"  b = os.read(4, 65536)\n"
	"  if not b: break\n"
	"  chunks.append(b)\n"
	" os.close(4)\n"
	" parts = b''.join(chunks).split(b'\\0')\n"
	" i = parts.index(b'')\n"
	" argv = [os.fsdecode(a) for a in parts[:i]]\n"
	" rest = parts[i + 1:]\n"
	" j = rest.index(b'')\n"
	" os.environ.clear()\n"
	" for kv in rest[:j]:\n"
	"  k, _, v = kv.partition(b'=')\n"
	"  os.environ[os.fsdecode(k)] = os.fsdecode(v)\n"
	" os.chdir(os.fsdecode(rest[j + 1]))\n"
	" path = argv[1]\n"
	" sys.argv[:] = argv[1:]\n"
	" sys.path[0] = os.path.dirname(path)\n"
	" with open(path, 'rb') as f:\n"
	"  src = f.read()\n"
	" g = sys.modules['__main__'].__dict__\n"
	" g.clear()\n"
	" g.update(__name__='__main__', __doc__=None, __package__=None,\n"
	"          __loader__=fie.SourceFileLoader('__main__', path), __spec__=None,\n"
	"          __annotations__={}, __builtins__=builtins, __file__=path, __cached__=None)\n"
	" try:\n"
	"  exec(compile(src, path, 'exec'), g)\n"
	" except SystemExit:\n"
	"  raise\n"
	" except BaseException as e:\n"
	"  sys.excepthook(type(e), e, trimmed_traceback(e))\n"
	"  if isinstance(e, KeyboardInterrupt):\n"
	"   import signal\n"
	"   sys.stdout.flush(); sys.stderr.flush()\n"
	"   signal.signal(signal.SIGINT, signal.SIG_DFL); os.kill(os.getpid(), signal.SIGINT)\n"
	"  sys.exit(1)\n"
	"_isol8_launch()\n";

/* Node: the globals that -e adds are removed (module, require, exports,
 * __filename, __dirname, and every builtin module by name except the three
 * that are real globals anyway), and the entry point runs as node itself
 * runs it (Module.runMain). */
static const char node_launcher[] =
	"(() => {\n"
	"const fs = require('node:fs'), Module = require('node:module');\n"
	"fs.writeSync(5, '.');\n"
	"fs.closeSync(5);\n"
	"const parts = fs.readFileSync(4).toString('latin1').split('\\0');\n"
	"fs.closeSync(4);\n"
	"const dec = (s) => Buffer.from(s, 'latin1').toString();\n"
	"const i = parts.indexOf('');\n"
	"const argv = parts.slice(0, i).map(dec);\n"
	"const rest = parts.slice(i + 1);\n"
	"const j = rest.indexOf('');\n"
	"for (const k of Object.keys(process.env)) delete process.env[k];\n"
	"for (const kv of rest.slice(0, j)) { const e = kv.indexOf('='); process.env[dec(kv.slice(0, e))] = dec(kv.slice(e + 1)); }\n"
	"process.chdir(dec(rest[j + 1]));\n"
	"process.execArgv.length = 0;\n"
	"delete process._eval;\n"
	"process.argv.length = 0;\n"
	"process.argv.push(process.execPath, ...argv.slice(1));\n"
	/* after -e's script has returned (node puts its saved globals back then) */
	"setImmediate(() => {\n"
	"const real = new Set(['console', 'crypto', 'process']);\n"
	"for (const k of Module.builtinModules) if (!k.startsWith('_') && !k.includes('/') && !real.has(k)) delete globalThis[k];\n"
	"for (const k of ['module', 'exports', '__dirname', '__filename', 'require']) delete globalThis[k];\n"
	"Module.runMain(argv[1]);\n"
	"});\n"
	"})();\n";

static const char *const python_exts[] = {"py", NULL};
static const char *const node_exts[] = {"mjs", "js", NULL};

static const struct isol8_launcher launchers[] = {
	{"python", {"python3", "-c", python_launcher, NULL}, python_exts},
	{"node", {"node", "-e", node_launcher, NULL}, node_exts},
};

/* Variables read when an interpreter starts (PATH finds the interpreter
 * itself, HOME its user site). */
static const char *const start_prefixes[] = {"PYTHON", "NODE_", "UV_", "LANG", "LC_", "TZ", "LD_", "MALLOC_",
					     "PATH", "HOME", NULL};

const struct isol8_launcher *isol8_launcher_find(const char *runtime)
{
	for (size_t i = 0; i < sizeof(launchers) / sizeof(launchers[0]); i++)
		if (strcmp(launchers[i].runtime, runtime) == 0)
			return &launchers[i];
	return NULL;
}

bool isol8_launcher_fits(const struct isol8_launcher *l, const char *code_path, const char *const *env_names,
			 size_t n_names)
{
	const char *dot = strrchr(code_path, '.');
	bool ext_ok = false;

	if (l == NULL || dot == NULL)
		return false;
	for (size_t i = 0; l->exts[i]; i++)
		ext_ok = ext_ok || strcmp(l->exts[i], dot + 1) == 0;
	if (!ext_ok)
		return false;
	for (size_t i = 0; i < n_names; i++)
		for (size_t p = 0; start_prefixes[p]; p++)
			if (env_names[i] && strncmp(env_names[i], start_prefixes[p], strlen(start_prefixes[p])) == 0)
				return false;
	return true;
}

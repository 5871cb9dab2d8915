/*
 * Session drivers: for each runtime whose state can outlive a run, the
 * interpreter started once per session (an Exec with driver set, see
 * "session" in agent.proto) with a small inline program that runs the
 * session's calls one after the other in the same interpreter, so
 * variables, functions, imports and classes persist between them.
 *
 * The protocol between the agent and a driver:
 *   fd 0/1/2  /dev/null between calls (the driver puts it there at start).
 *   fd 4      control pipe, agent -> driver: per call, the call's argv, its
 *             env (each string NUL-terminated, an empty string ending argv
 *             and env), its cwd and the call's FIFO directory, each
 *             NUL-terminated. EOF: the session is over, the driver exits.
 *   fd 5      status pipe, driver -> agent: per call one byte '.' once the
 *             FIFOs <dir>/in, <dir>/out and <dir>/err are on fds 0, 1 and 2
 *             (or '!' when they could not be put there: no status follows),
 *             then one byte, the call's exit status, once the code is done,
 *             its output flushed, /dev/null back on 0/1/2 and any other fd
 *             the code left in the driver on the FIFOs closed (so the call's
 *             pipes reach EOF unless a process the code started holds them).
 * Code that ends the interpreter (sys.exit, process.exit, exit, a crash)
 * ends the driver with that status: the agent reports it as the call's and
 * starts a fresh driver for the next call (the call's Exit says
 * state_reset). Fds 4 and 5 are close-on-exec (bash: closed while the code
 * runs), so processes the code starts do not inherit them, and code that
 * execs another program in the driver's process (bash `exec cmd`,
 * os.execv) makes the call that program's run (the agent sees fd 5 close
 * without a status), with state_reset.
 *
 * argv[1] of the call is the file to run; argv[2..] are its arguments.
 *   Python: the file is compiled with its name and exec'd in __main__'s
 *     dict, which persists; sys.argv, os.environ and the cwd come from the
 *     call; sys.stdin, sys.stdout and sys.stderr (and their __std*__) are
 *     opened anew on fds 0-2, so closing one lasts one call. The call ends
 *     as a fresh python3 exits: the non-daemon threads it started are
 *     joined (daemon threads run on between calls). An uncaught exception prints
 *     its traceback (without the driver's frames), status 1;
 *     KeyboardInterrupt (SIGINT) prints it too, status 130, and the driver
 *     lives on (a fresh python3 would die of SIGINT).
 *   Node: the file is run as a script in the main context: static imports
 *     become dynamic ones (await import(), resolved against the file's URL),
 *     exports are dropped, and the code goes through the REPL's top-level
 *     await transform, whose hoisted declarations are made `var`, so top
 *     level const/let/function/class persist (a later call may declare the
 *     same names again). The call is over as a fresh node exits: when its
 *     top-level code has settled and the work it left pending is done
 *     (process.getActiveResourcesInfo() holds no more than at the call's
 *     start: timers, immediates, fs requests, sockets, child processes).
 *     Listening servers are not waited for (a fresh node would never
 *     exit): they live on and serve later calls, as unref'd timers and
 *     handles run on between calls. An error thrown by pending work fails
 *     the call it belongs to; the agent's timeout bounds the wait. console and
 *     process.stdout/stderr write synchronously to fds 1/2, process.stdin
 *     reads fd 0; an uncaught error or unhandled rejection during the call
 *     prints its stack, status 1 (or process.exitCode when set). SIGINT
 *     ends the driver (node's default).
 *   Bash: the file is sourced in the driver's shell, so variables,
 *     functions, aliases and the cwd persist (the call's cwd is ignored
 *     after the first: a `cd` lives on), and so do shell options (set -e,
 *     shopt) and traps: that is what a shell session is. The call's env is
 *     exported on top of the shell's; $0 is the call's file (BASH_ARGV0),
 *     $1.. its arguments. The status is the file's $?. SIGINT ends the
 *     driver (bash's default).
 */
#include <string.h>

#include "engine/driver.h"
#include "engine/python_traceback.h"

static const char python_driver[] =
	"def _isol8_session():\n"
	" import sys, os, io, signal, builtins, _frozen_importlib_external as fie\n"
	ISOL8_PYTHON_TRIMMED_TRACEBACK
	" null = os.open('/dev/null', os.O_RDWR)\n"
	" def onto_std(fds):\n"
	"  for target, fd in enumerate(fds):\n"
	"   os.dup2(fd, target)\n"
	" onto_std((null, null, null))\n"
	" os.set_inheritable(4, False)\n"
	" os.set_inheritable(5, False)\n"
	" signal.signal(signal.SIGINT, signal.SIG_IGN)\n"
	" enc = [(s.encoding, s.errors) for s in (sys.__stdin__, sys.__stdout__, sys.__stderr__)]\n"
	/* each call's standard streams are new: one call closing sys.stdout
	 * does not break the next */
	" def std_files():\n"
	"  f = [open(fd, mode, 1 if fd == 2 else -1, e, r, closefd=False)\n"
	"       for fd, mode, (e, r) in zip((0, 1, 2), ('r', 'w', 'w'), enc)]\n"
	"  sys.stdin, sys.stdout, sys.stderr = sys.__stdin__, sys.__stdout__, sys.__stderr__ = f\n"
	/* the end of a call as a fresh python3's: its non-daemon threads joined */
	" def join_threads(before):\n"
	"  th = sys.modules.get('threading')\n"
	"  while th:\n"
	"   left = [t for t in th.enumerate() if t not in before and not t.daemon and t.is_alive()\n"
	"           and t is not th.current_thread()]\n"
	"   if not left:\n"
	"    return\n"
	"   for t in left:\n"
	"    t.join()\n"
	/* fds the code kept on the call's FIFOs (os.dup(1), open('/dev/stdout')):
	 * closed, so the FIFOs reach EOF and the call ends */
	" def close_kept(ids):\n"
	"  for name in os.listdir('/proc/self/fd'):\n"
	"   fd = int(name)\n"
	"   try:\n"
	"    st = os.fstat(fd)\n"
	"   except OSError:\n"
	"    continue\n"
	"   if fd > 5 or fd == 3:\n"
	"    if (st.st_dev, st.st_ino) in ids:\n"
	"     os.close(fd)\n"
	" g = sys.modules['__main__'].__dict__\n"
	" g.clear()\n"
	" g.update(__name__='__main__', __doc__=None, __package__=None, __spec__=None,\n"
	"          __annotations__={}, __builtins__=builtins)\n"
	" buf = b''\n"
	" while True:\n"
	"  while True:\n"
	"   parts = buf.split(b'\\0')\n"
	"   i = parts.index(b'') if b'' in parts else -1\n"
	"   j = parts.index(b'', i + 1) if i >= 0 and b'' in parts[i + 1:] else -1\n"
	"   if j >= 0 and len(parts) >= j + 4:\n"
	"    break\n"
	"   b = os.read(4, 65536)\n"
	"   if not b:\n"
	"    return\n"
	"   buf += b\n"
	"  argv = [os.fsdecode(a) for a in parts[:i]]\n"
	"  env, cwd, d = parts[i + 1:j], os.fsdecode(parts[j + 1]), os.fsdecode(parts[j + 2])\n"
	"  buf = b'\\0'.join(parts[j + 3:])\n"
	"  os.environ.clear()\n"
	"  for kv in env:\n"
	"   k, _, v = kv.partition(b'=')\n"
	"   os.environ[os.fsdecode(k)] = os.fsdecode(v)\n"
	"  try:\n"
	"   os.chdir(cwd)\n"
	"  except OSError:\n"
	"   pass\n"
	"  fds = [os.open(os.path.join(d, n), f) for n, f in (('in', os.O_RDONLY), ('out', os.O_WRONLY), ('err', os.O_WRONLY))]\n"
	"  onto_std(fds)\n"
	"  for fd in fds:\n"
	"   os.close(fd)\n"
	"  ids = {(st.st_dev, st.st_ino) for st in map(os.fstat, (0, 1, 2))}\n"
	"  os.write(5, b'.')\n"
	"  path = argv[1]\n"
	"  sys.argv[:] = argv[1:]\n"
	"  sys.path[0] = os.path.dirname(path)\n"
	"  std_files()\n"
	"  th = sys.modules.get('threading')\n"
	"  threads = set(th.enumerate()) if th else set()\n"
	"  g.update(__file__=path, __cached__=None, __builtins__=builtins,\n"
	"           __loader__=fie.SourceFileLoader('__main__', path))\n"
	"  status = 0\n"
	"  try:\n"
	"   with open(path, 'rb') as f:\n"
	"    src = f.read()\n"
	"   signal.signal(signal.SIGINT, signal.default_int_handler)\n"
	"   try:\n"
	"    exec(compile(src, path, 'exec'), g)\n"
	"   finally:\n"
	"    signal.signal(signal.SIGINT, signal.SIG_IGN)\n"
	"  except SystemExit:\n"
	"   raise\n"
	"  except BaseException as e:\n"
	"   tb = trimmed_traceback(e)\n"
	"   try:\n"
	"    sys.excepthook(type(e), e, tb)\n"
	"   except BaseException:\n"
	"    pass\n"
	"   status = 130 if isinstance(e, KeyboardInterrupt) else 1\n"
	/* after the traceback, as a fresh python3 joins them at its exit */
	"  try:\n"
	"   signal.signal(signal.SIGINT, signal.default_int_handler)\n"
	"   join_threads(threads)\n"
	"  except KeyboardInterrupt:\n"
	"   status = 130\n"
	"  finally:\n"
	"   signal.signal(signal.SIGINT, signal.SIG_IGN)\n"
	"  for s in (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__):\n"
	"   try:\n"
	"    s.flush()\n"
	"   except BaseException:\n"
	"    pass\n"
	"  onto_std((null, null, null))\n"
	"  close_kept(ids)\n"
	"  os.write(5, bytes([status]))\n"
	"_isol8_session()\n";

static const char node_driver[] =
	"(() => {\n"
	"const fs = require('node:fs'), vm = require('node:vm'), net = require('node:net');\n"
	"const path = require('node:path'), url = require('node:url'), util = require('node:util');\n"
	"const Module = require('node:module'), { Writable } = require('node:stream');\n"
	"const { processTopLevelAwait } = require('internal/repl/await');\n"
	"const acorn = require('internal/deps/acorn/acorn/dist/acorn');\n"
	"const { Console } = console;\n"
	/* fds 4/5 opened again, close-on-exec, and the originals closed (if
	 * that fails they stay, inherited by the code's children) */
	"const reopen = (fd, flags) => { try { const n = fs.openSync(`/proc/self/fd/${fd}`, flags); fs.closeSync(fd); return n; }\n"
	"  catch { return fd; } };\n"
	"const ctl = reopen(4, 'r'), st = reopen(5, 'w');\n"
	/* the driver's own use of an experimental vm feature is no warning of the code's */
	"const emitWarning = process.emitWarning;\n"
	"process.emitWarning = function (w, ...rest) {\n"
	"  if (String(w && w.message || w).includes('USE_MAIN_CONTEXT_DEFAULT_LOADER')) return;\n"
	"  return emitWarning.call(this, w, ...rest); };\n"
	/* there is no dup2: the lowest free fd is the one just closed, unless a
	 * pending open of the code (in the thread pool) took it first; then
	 * the call cannot have its FIFOs on 0/1/2, and fails */
	"const onto = (fd, file, flags) => { const f = fs.openSync(file, flags); fs.closeSync(fd);\n"
	"  const n = fs.openSync(`/proc/self/fd/${f}`, flags); fs.closeSync(f);\n"
	"  if (n !== fd) { fs.closeSync(n); throw new Error(`fd ${fd} was taken by another open`); } };\n"
	"const std = (a, b, c) => { onto(0, a, 'r'); onto(1, b, 'w'); onto(2, c, 'w'); };\n"
	"try { std('/dev/null', '/dev/null', '/dev/null'); } catch { process.exit(70); }\n"
	"const fileId = (fd) => { const s = fs.fstatSync(fd); return `${s.dev}:${s.ino}`; };\n"
	/* fds the code kept on the call's FIFOs (fs.openSync('/dev/stdout')):
	 * closed, so the FIFOs reach EOF and the call ends */
	"const closeKept = (ids) => {\n"
	"  for (const name of fs.readdirSync('/proc/self/fd')) {\n"
	"    const fd = Number(name);\n"
	"    if (fd < 3 || fd === ctl || fd === st) continue;\n"
	"    try { if (ids.has(fileId(fd))) fs.closeSync(fd); } catch {}\n"
	"  } };\n"
	/* the end of a call as a fresh node's: the work the code left pending
	 * done (what is more than was active at the call's start: the
	 * driver's own handles are not the code's). Listening servers do not
	 * count: they serve later calls (a fresh node would wait for them
	 * forever); unref'd timers and handles do not count for node either */
	"const servers = new Set(['TCPServerWrap', 'PipeServerWrap']);\n"
	"const active = () => { const m = new Map();\n"
	"  for (const r of process.getActiveResourcesInfo()) if (!servers.has(r)) m.set(r, (m.get(r) || 0) + 1);\n"
	"  return m; };\n"
	"const pending = (base) => { for (const [r, n] of active()) if (n > (base.get(r) || 0)) return true; return false; };\n"
	"const settle = async (base) => { while (pending(base)) await new Promise((r) => setTimeout(r, 10).unref()); };\n"
	"const writer = (fd) => Object.assign(new Writable({ write(c, e, cb) {\n"
	"  try { for (let o = 0; o < c.length;) o += fs.writeSync(fd, c, o); } catch {} cb(); } }),\n"
	"  { fd, isTTY: false });\n"
	"const stdout = writer(1), stderr = writer(2);\n"
	"let stdin = null, call = null;\n"
	"const getter = (k, get) => Object.defineProperty(process, k, { configurable: true, enumerable: true, get });\n"
	"getter('stdout', () => stdout); getter('stderr', () => stderr);\n"
	"getter('stdin', () => stdin || (stdin = fs.createReadStream(null, { fd: 0, autoClose: false })));\n"
	/* the stack down to the code's outermost frame: the driver's frames
	 * (the wrapper's call on its last line, the control socket's events) go */
	"const trim = (text) => {\n"
	"  const lines = text.split('\\n'), frame = (l) => /^\\s+at /.test(l);\n"
	"  let last = -1;\n"
	"  lines.forEach((l, i) => { if (frame(l) && call && call.file && l.includes(call.file + ':')) last = i; });\n"
	"  if (last < 0) return lines.filter((l) => !/\\[eval\\]|node:vm/.test(l)).join('\\n');\n"
	"  if (lines[last].includes(`${call.file}:${call.wrapLine}:`)) last--;\n"
	"  return lines.filter((l, i) => i <= last || !frame(l)).join('\\n');\n"
	"};\n"
	"const report = (e) => {\n"
	"  const text = trim(e instanceof Error ? util.inspect(e) : 'Uncaught ' + util.inspect(e));\n"
	"  try { fs.writeSync(2, text + '\\n\\nNode.js ' + process.version + '\\n'); } catch {}\n"
	"};\n"
	"const fail = (e) => { if (call) { report(e); call.failed = true; } };\n"
	"process.on('uncaughtException', fail);\n"
	"process.on('unhandledRejection', fail);\n"
	"const specifier = (s, base) => /^(\\.{0,2}\\/)/.test(s) ? new URL(s, base).href : s;\n"
	"const importOf = (n, src, base) => {\n"
	"  const spec = JSON.stringify(specifier(n.source.value, base));\n"
	"  const attrs = (n.attributes || []).map((a) => src.slice(a.start, a.end)).join(', ');\n"
	"  const load = `await import(${spec}${attrs ? `, { with: { ${attrs} } }` : ''})`;\n"
	"  const ns = n.specifiers.find((s) => s.type === 'ImportNamespaceSpecifier');\n"
	"  const def = n.specifiers.find((s) => s.type === 'ImportDefaultSpecifier');\n"
	"  if (ns) return `const ${ns.local.name} = ${load};` + (def ? ` const ${def.local.name} = ${ns.local.name}.default;` : '');\n"
	"  if (!n.specifiers.length) return `${load};`;\n"
	"  const names = n.specifiers.map((s) => s.type === 'ImportDefaultSpecifier' ? `default: ${s.local.name}` :\n"
	"    `${JSON.stringify(s.imported.name ?? s.imported.value)}: ${s.local.name}`);\n"
	"  return `const { ${names.join(', ')} } = ${load};`;\n"
	"};\n"
	/* static import and export are module syntax: rewritten for a script */
	"const rewrite = (src, base) => {\n"
	"  let ast;\n"
	"  try { ast = acorn.parse(src, { sourceType: 'module', ecmaVersion: 'latest', allowHashBang: true,\n"
	"                                allowAwaitOutsideFunction: true }); } catch { return src; }\n"
	"  const edits = [];\n"
	"  for (const n of ast.body) {\n"
	"    if (n.type === 'ImportDeclaration') edits.push([n.start, n.end, importOf(n, src, base)]);\n"
	"    else if (n.type === 'ExportNamedDeclaration' && n.declaration) edits.push([n.start, n.declaration.start, '']);\n"
	"    else if (n.type === 'ExportNamedDeclaration' || n.type === 'ExportAllDeclaration') edits.push([n.start, n.end, '']);\n"
	"    else if (n.type === 'ExportDefaultDeclaration') edits.push([n.start, n.declaration.start, n.declaration.id ? '' : 'void ']);\n"
	"  }\n"
	"  for (const [a, b, t] of edits.reverse()) src = src.slice(0, a) + t + src.slice(b);\n"
	"  return src;\n"
	"};\n"
	/* always through the await transform (an await is added), whose hoisted
	 * declarations then become var: a later call may declare them again */
	"const transform = (src) => {\n"
	"  let out;\n"
	"  try { out = processTopLevelAwait(src + '\\n;await undefined;'); } catch { return src; }\n"
	"  if (!out) return src;\n"
	"  const at = out.indexOf('(async () => {');\n"
	"  return out.slice(0, at).replace(/\\blet\\b/g, 'var') + out.slice(at);\n"
	"};\n"
	"const runFile = async (file) => {\n"
	"  const base = url.pathToFileURL(file).href;\n"
	"  const src = fs.readFileSync(file, 'utf8').replace(/^#!.*/, '');\n"
	"  const mod = new Module(file, null);\n"
	"  mod.filename = file; mod.paths = Module._nodeModulePaths(path.dirname(file));\n"
	"  Object.assign(globalThis, { require: Module.createRequire(file), module: mod, exports: mod.exports,\n"
	"                              __filename: file, __dirname: path.dirname(file) });\n"
	"  const code = transform(rewrite(src, base));\n"
	"  call.file = file; call.wrapLine = code.split('\\n').length;\n"
	"  await vm.runInThisContext(code, { filename: file,\n"
	"    importModuleDynamically: vm.constants.USE_MAIN_CONTEXT_DEFAULT_LOADER });\n"
	/* one more turn of the loop: timers already due and immediates run in the call */
	"  await new Promise((r) => setTimeout(r, 0));\n"
	"  await new Promise((r) => setImmediate(r));\n"
	"};\n"
	"const dec = (s) => Buffer.from(s, 'latin1').toString();\n"
	"const run = async (argv, env, cwd, dir) => {\n"
	"  for (const k of Object.keys(process.env)) delete process.env[k];\n"
	"  for (const kv of env) { const e = kv.indexOf('='); if (e > 0) process.env[kv.slice(0, e)] = kv.slice(e + 1); }\n"
	"  try { process.chdir(cwd); } catch {}\n"
	"  process.argv.length = 0;\n"
	"  process.argv.push(process.execPath, ...argv.slice(1));\n"
	"  try { std(dir + '/in', dir + '/out', dir + '/err'); }\n"
	"  catch { try { std('/dev/null', '/dev/null', '/dev/null'); } catch {} fs.writeSync(st, '!'); return; }\n"
	"  const ids = new Set([0, 1, 2].map(fileId));\n"
	"  fs.writeSync(st, '.');\n"
	"  stdin = null;\n"
	"  globalThis.console = new Console({ stdout, stderr });\n"
	"  call = { failed: false };\n"
	"  process.exitCode = undefined;\n"
	"  let status = 0;\n"
	"  const base = active();\n"
	"  try { await runFile(path.resolve(argv[1])); } catch (e) { report(e); status = 1; }\n"
	"  await settle(base);\n"
	"  if (call.failed) status = 1;\n"
	"  if (process.exitCode !== undefined) status = Number(process.exitCode) & 255;\n"
	"  process.exitCode = undefined;\n"
	"  call = null;\n"
	"  try { std('/dev/null', '/dev/null', '/dev/null'); } catch {}\n"
	"  closeKept(ids);\n"
	"  fs.writeSync(st, Buffer.from([status]));\n"
	"};\n"
	"let buf = '', busy = false;\n"
	"const next = async () => {\n"
	"  while (!busy) {\n"
	"    const parts = buf.split('\\0');\n"
	"    const i = parts.indexOf(''), j = i < 0 ? -1 : parts.indexOf('', i + 1);\n"
	"    if (j < 0 || parts.length < j + 4) return;\n"
	"    buf = parts.slice(j + 3).join('\\0');\n"
	"    busy = true;\n"
	"    await run(parts.slice(0, i).map(dec), parts.slice(i + 1, j).map(dec), dec(parts[j + 1]), dec(parts[j + 2]));\n"
	"    busy = false;\n"
	"  }\n"
	"};\n"
	"const control = new net.Socket({ fd: ctl, readable: true, writable: false });\n"
	"control.on('data', (d) => { buf += d.toString('latin1'); next(); });\n"
	"control.on('end', () => process.exit(0));\n"
	"})();\n";

static const char bash_driver[] =
	/* exec itself, not `builtin exec`: the builtin's redirections would be undone */
	"exec </dev/null >/dev/null 2>&1\n"
	"while :; do\n"
	" builtin unset -f exec\n"
	" __isol8_argv=()\n"
	" while IFS= builtin read -r -d '' -u 4 __isol8_s || builtin exit 0; [ -n \"$__isol8_s\" ]; do\n"
	"  __isol8_argv+=(\"$__isol8_s\")\n"
	" done\n"
	" while IFS= builtin read -r -d '' -u 4 __isol8_s || builtin exit 0; [ -n \"$__isol8_s\" ]; do\n"
	"  builtin export \"$__isol8_s\"\n"
	" done\n"
	" IFS= builtin read -r -d '' -u 4 __isol8_s || builtin exit 0\n"
	" IFS= builtin read -r -d '' -u 4 __isol8_dir || builtin exit 0\n"
	" exec 0<\"$__isol8_dir/in\" 1>\"$__isol8_dir/out\" 2>\"$__isol8_dir/err\"\n"
	" builtin printf . >&5\n"
	" builtin set -- \"${__isol8_argv[@]:2}\"\n"
	" BASH_ARGV0=${__isol8_argv[1]}\n"
	" . \"${__isol8_argv[1]}\" 4<&- 5>&-\n"
	" __isol8_status=$?\n"
	" builtin unset -f exec\n"
	/* fds the code kept on the call's FIFOs (exec 3>&1): closed, so the
	 * FIFOs reach EOF and the call ends */
	" for __isol8_s in /proc/$BASHPID/fd/*; do\n"
	"  __isol8_fd=${__isol8_s##*/}\n"
	"  if ((__isol8_fd > 5 || __isol8_fd == 3)) && { builtin test \"$__isol8_s\" -ef /proc/$BASHPID/fd/0 ||\n"
	"     builtin test \"$__isol8_s\" -ef /proc/$BASHPID/fd/1 || builtin test \"$__isol8_s\" -ef /proc/$BASHPID/fd/2; }; then\n"
	"   exec {__isol8_fd}>&-\n"
	"  fi\n"
	" done\n"
	" exec </dev/null >/dev/null 2>&1\n"
	" builtin printf \"\\\\$(builtin printf %o \"$__isol8_status\")\" >&5\n"
	"done\n";

static const struct isol8_driver drivers[] = {
	{"python", {"python3", "-c", python_driver, NULL}},
	{"node", {"node", "--expose-internals", "-e", node_driver, NULL}},
	{"bash", {"bash", "-c", bash_driver, "isol8-session", NULL}},
};

const struct isol8_driver *isol8_driver_find(const char *runtime)
{
	for (size_t i = 0; i < sizeof(drivers) / sizeof(drivers[0]); i++)
		if (strcmp(drivers[i].runtime, runtime) == 0)
			return &drivers[i];
	return NULL;
}

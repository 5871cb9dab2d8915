// The agent loop of gateway_client.py in Node's fetch, with the original
// RemoteIsol8's request shapes and its SSE parsing (split on "\n", take
// "data: " lines). Prints one word per step that held; exits 1 on the first
// that did not. ISOL8_URL and ISOL8_KEY name the gateway.
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";

const host = process.env.ISOL8_URL;
const apiKey = process.env.ISOL8_KEY;
const sessionId = `node-${process.pid}`;

function call(path, init = {}) {
  return fetch(`${host}${path}`, {
    ...init,
    headers: { "Content-Type": "application/json", Authorization: `Bearer ${apiKey}`, ...(init.headers ?? {}) },
  });
}

async function execute(request, session) {
  const res = await call("/execute", {
    method: "POST",
    body: JSON.stringify({ request, options: { timeoutMs: 30000 }, sessionId: session }),
  });
  const body = await res.json();
  if (!res.ok) throw new Error(`Execution failed: ${body.error ?? res.statusText}`);
  return body;
}

async function* executeStream(request) {
  const res = await call("/execute/stream", { method: "POST", body: JSON.stringify({ request }) });
  if (!res.ok) throw new Error(`Stream failed: ${res.status}`);
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  while (true) {
    const { done, value } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true });
    const lines = buffer.split("\n");
    buffer = lines.pop() ?? "";
    for (const line of lines) {
      if (line.startsWith("data: ")) {
        const json = line.slice(6).trim();
        if (json) yield JSON.parse(json);
      }
    }
  }
  assert.equal(buffer, "", "the stream ended inside a line");
}

async function main() {
  const health = await (await fetch(`${host}/health`)).json();
  assert.equal(health.status, "ok");

  const r = await execute({ runtime: "node", code: "console.log(6 * 7)" });
  assert.equal(r.stdout, "42");
  assert.equal(r.exitCode, 0);
  console.log("execute");

  const events = [];
  for await (const ev of executeStream({ runtime: "bash", code: "echo one; echo two >&2; exit 5" })) events.push(ev);
  assert.deepEqual(events.at(-1), { type: "exit", data: "5", phase: "code" });
  assert.deepEqual(events.filter((e) => e.type === "stdout").map((e) => e.data).join(""), "one\n");
  assert.deepEqual(events.filter((e) => e.type === "stderr").map((e) => e.data).join(""), "two\n");
  console.log("stream");

  await execute({ runtime: "node", code: "globalThis.counter = 10" }, sessionId);
  const again = await execute({ runtime: "node", code: "console.log(++globalThis.counter)" }, sessionId);
  assert.equal(again.stdout, "11");
  console.log("session");

  const blob = randomBytes(300 * 1024);
  const up = await call("/file", {
    method: "POST",
    body: JSON.stringify({ sessionId, path: "/sandbox/blob.bin", content: blob.toString("base64") }),
  });
  assert.deepEqual(await up.json(), { ok: true });
  const sum = await execute(
    { runtime: "node", code: "const c = require('crypto'); const fs = require('fs');" +
        "console.log(c.createHash('sha256').update(fs.readFileSync('/sandbox/blob.bin')).digest('hex'))" },
    sessionId
  );
  assert.equal(sum.stdout, createHash("sha256").update(blob).digest("hex"));
  console.log("upload");

  const params = new URLSearchParams({ sessionId, path: "/sandbox/blob.bin" });
  const down = await call(`/file?${params}`);
  assert.equal(down.status, 200);
  assert.ok(Buffer.from((await down.json()).content, "base64").equals(blob));
  console.log("download");

  const del = await call(`/session/${sessionId}`, { method: "DELETE" });
  assert.deepEqual(await del.json(), { ok: true });
  const gone = await call(`/file?${params}`);
  assert.equal(gone.status, 404);
  assert.equal(typeof (await gone.json()).error, "string");
  console.log("destroy");
  console.log("ok");
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});

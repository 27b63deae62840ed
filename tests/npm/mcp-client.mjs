// SPDX-License-Identifier: MIT
// The MCP SDK's own client, through mcp-helper. The local token comes from a file (never argv).
//
//   node client.mjs session --url URL --transport http|sse --token-file F [--stream N]
//       initialize, tools/list, tools/call echo, and a stream of N progress notifications;
//       prints one JSON line with what came back.
//   node client.mjs streams --url URL --token-file F --count N
//       opens N raw SSE streams, prints "open K" once K of them delivered their first event,
//       and holds them until stdin closes.
//   node client.mjs tail --url URL --token-file F
//       one raw SSE stream: prints "open", then each non-tick event, then "ended ticks=N".
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { SSEClientTransport } from "@modelcontextprotocol/sdk/client/sse.js";
import { getDefaultEnvironment, StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";

const { values: args, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    url: { type: "string" }, transport: { type: "string", default: "http" },
    "token-file": { type: "string" }, stream: { type: "string", default: "0" },
    count: { type: "string", default: "1" }, command: { type: "string" },
    arg: { type: "string", multiple: true, default: [] }, call: { type: "string", multiple: true, default: [] },
  },
});
const token = args["token-file"] ? readFileSync(args["token-file"], "utf8").trim() : "";
const headers = { Authorization: `Bearer ${token}` };

async function session() {
  const url = new URL(args.url);
  const transport = args.transport === "sse"
    ? new SSEClientTransport(url, { requestInit: { headers } })
    : new StreamableHTTPClientTransport(url, { requestInit: { headers } });
  const client = new Client({ name: "helper-test-client", version: "1.0.0" });
  await client.connect(transport);
  const out = { server: client.getServerVersion()?.name };
  out.tools = (await client.listTools()).tools.map((t) => t.name).sort();
  const echo = await client.callTool({ name: "echo", arguments: { text: "hello through the helper" } });
  out.echo = echo.content[0].text;
  const n = Number(args.stream);
  if (n > 0) {
    let progress = 0;
    const r = await client.callTool({ name: "stream", arguments: { count: n } }, undefined, {
      onprogress: () => { progress++; },
      timeout: 120000,
    });
    out.progress = progress;
    out.streamed = r.content[0].text;
  }
  await client.close();
  process.stdout.write(JSON.stringify(out) + "\n");
}

async function openStream(url) {
  const res = await fetch(url, { headers: { ...headers, Accept: "text/event-stream" } });
  if (res.status !== 200) throw new Error(`status ${res.status}`);
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  let buf = "";
  const next = async () => {
    for (;;) {
      const i = buf.indexOf("\n\n");
      if (i >= 0) {
        const ev = buf.slice(0, i);
        buf = buf.slice(i + 2);
        return ev;
      }
      const { value, done } = await reader.read();
      if (done) return null;
      buf += decoder.decode(value, { stream: true });
    }
  };
  return { next, close: () => reader.cancel().catch(() => {}) };
}

async function streams() {
  const n = Number(args.count);
  const opened = await Promise.allSettled(Array.from({ length: n }, async () => {
    const s = await openStream(args.url);
    if ((await s.next()) === null) throw new Error("ended early");
    return s;
  }));
  const ok = opened.filter((p) => p.status === "fulfilled");
  process.stdout.write(`open ${ok.length}\n`);
  process.stdin.resume();
  process.stdin.on("end", () => {
    ok.forEach((p) => p.value.close());
    process.exit(0);
  });
}

async function tail() {
  const s = await openStream(args.url);
  let first = true;
  let ticks = 0;
  for (let ev = await s.next(); ev !== null; ev = await s.next()) {
    if (first) process.stdout.write("open\n");
    first = false;
    const type = /^event: (.*)$/m.exec(ev)?.[1] ?? "message";
    if (type === "tick") ticks++;
    else process.stdout.write(`event ${type} ${JSON.stringify(ev)}\n`);
  }
  process.stdout.write(`ended ticks=${ticks}\n`);
}

// stdio --command PATH [--arg A]... [--call TOOL=JSON]...: the SDK's stdio client spawning
// PATH (a stub, or the server itself); initialize, tools/list, tools/call echo, then each
// --call; prints one JSON line.
async function stdio() {
  const env = { ...getDefaultEnvironment() };
  if (process.env.CODING_AGENTS_STUB_SOCKET) env.CODING_AGENTS_STUB_SOCKET = process.env.CODING_AGENTS_STUB_SOCKET;
  const transport = new StdioClientTransport({ command: args.command, args: args.arg, env, stderr: "inherit" });
  const client = new Client({ name: "stub-test-client", version: "1.0.0" });
  await client.connect(transport);
  const out = { server: client.getServerVersion()?.name };
  const tools = (await client.listTools()).tools.map((t) => t.name);
  out.tools = tools.length;
  if (tools.includes("echo")) {
    const r = await client.callTool({ name: "echo", arguments: { message: "hello through the stub" } });
    out.echo = r.content[0].text;
  }
  out.calls = {};
  for (const c of args.call) {
    const i = c.indexOf("=");
    const r = await client.callTool({ name: c.slice(0, i), arguments: JSON.parse(c.slice(i + 1)) });
    out.calls[c.slice(0, i)] = r.content[0].text;
  }
  await client.close();
  process.stdout.write(JSON.stringify(out) + "\n");
}

const modes = { session, streams, tail, stdio };
modes[positionals[0]]().catch((e) => {
  process.stderr.write(`client: ${e.stack ?? e}\n`);
  process.exit(1);
});

// SPDX-License-Identifier: MIT
// mcp-helper benchmark client (bench/helper.sh). Measures, against one URL:
//
//   node mcp-bench.mjs latency --url URL --token-file F --rounds N
//       an initialized Streamable HTTP session, then N sequential tools/call echo POSTs on one
//       keep-alive connection; prints "p50_ms p99_ms"
//   node mcp-bench.mjs stream --url URL --token-file F
//       reads one SSE stream to its end; prints "bytes seconds"
//
// Direct runs use https with NODE_EXTRA_CA_CERTS; helper runs plain http on loopback.
import { readFileSync } from "node:fs";
import http from "node:http";
import https from "node:https";
import { parseArgs } from "node:util";

const { values: args, positionals } = parseArgs({
  allowPositionals: true,
  options: { url: { type: "string" }, "token-file": { type: "string" }, rounds: { type: "string", default: "500" } },
});
const token = readFileSync(args["token-file"], "utf8").trim();
const url = new URL(args.url);
const mod = url.protocol === "https:" ? https : http;
const agent = new mod.Agent({ keepAlive: true, maxSockets: 1 });

function request(method, headers, body) {
  return new Promise((resolve, reject) => {
    const req = mod.request(url, {
      method, agent,
      headers: { Authorization: `Bearer ${token}`, ...headers },
    }, (res) => {
      const chunks = [];
      res.on("data", (c) => chunks.push(c));
      res.on("end", () => resolve({ res, body: Buffer.concat(chunks).toString() }));
    });
    req.on("error", reject);
    req.end(body);
  });
}

const rpc = (id, method, params) => JSON.stringify({ jsonrpc: "2.0", id, method, params });
const post = { "Content-Type": "application/json", Accept: "application/json, text/event-stream" };

async function latency() {
  const init = await request("POST", post, rpc(1, "initialize", {
    protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "bench", version: "1" },
  }));
  const sid = init.res.headers["mcp-session-id"];
  const h = { ...post, "Mcp-Session-Id": sid, "MCP-Protocol-Version": "2025-06-18" };
  await request("POST", h, JSON.stringify({ jsonrpc: "2.0", method: "notifications/initialized" }));
  const times = [];
  const n = Number(args.rounds);
  for (let i = 0; i < n + 20; i++) {
    const t0 = process.hrtime.bigint();
    const r = await request("POST", h, rpc(i + 2, "tools/call", { name: "echo", arguments: { text: "x" } }));
    const dt = Number(process.hrtime.bigint() - t0) / 1e6;
    if (!r.body.includes('"x"')) throw new Error(`unexpected reply: ${r.body}`);
    if (i >= 20) times.push(dt); // the first ones warm up connections and JIT
  }
  times.sort((a, b) => a - b);
  const pct = (p) => times[Math.min(times.length - 1, Math.floor(p * times.length))];
  process.stdout.write(`${pct(0.5).toFixed(3)} ${pct(0.99).toFixed(3)}\n`);
  agent.destroy();
}

async function stream() {
  const t0 = process.hrtime.bigint();
  const bytes = await new Promise((resolve, reject) => {
    const req = mod.request(url, { headers: { Authorization: `Bearer ${token}`, Accept: "text/event-stream" } }, (res) => {
      let n = 0;
      res.on("data", (c) => { n += c.length; });
      res.on("end", () => resolve(n));
    });
    req.on("error", reject);
    req.end();
  });
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  process.stdout.write(`${bytes} ${s.toFixed(4)}\n`);
}

({ latency, stream })[positionals[0]]().catch((e) => {
  process.stderr.write(`bench: ${e.stack ?? e}\n`);
  process.exit(1);
});

// SPDX-License-Identifier: MIT
// The model helper benchmark's client (bench/model.sh): streamed Anthropic Messages requests,
// one at a time on a kept-alive connection, straight to the vendor or through the helper.
//
//   node model-client.mjs ttfb URL KEY ROUNDS    time to the first streamed byte: "p50 p99" (ms)
//   node model-client.mjs stream URL KEY BYTES   one streamed answer of BYTES: "bytes seconds"
//
// KEY goes in x-api-key (the vendor's credential, or the helper's local token). HTTPS trusts
// NODE_EXTRA_CA_CERTS.
import http from "node:http";
import https from "node:https";

const [mode, url, key, n] = process.argv.slice(2);
const u = new URL(url);
const lib = u.protocol === "https:" ? https : http;
const agent = new lib.Agent({ keepAlive: true, maxSockets: 1 });

function ask(prompt) {
  const body = JSON.stringify({ model: "claude-scripted", max_tokens: 64, stream: true,
    messages: [{ role: "user", content: prompt }] });
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    let first = 0n, bytes = 0;
    const req = lib.request(new URL("/v1/messages", u), { method: "POST", agent, headers: {
      "content-type": "application/json", "x-api-key": key, "anthropic-version": "2023-06-01",
      "content-length": Buffer.byteLength(body) } }, (res) => {
      if (res.statusCode !== 200) reject(new Error(`status ${res.statusCode}`));
      res.on("data", (c) => { if (!first) first = process.hrtime.bigint(); bytes += c.length; });
      res.on("end", () => resolve({ ttfb: Number(first - t0) / 1e6, total: Number(process.hrtime.bigint() - t0) / 1e9, bytes }));
    });
    req.on("error", reject);
    req.end(body);
  });
}

if (mode === "ttfb") {
  const t = [];
  await ask("warm up");
  for (let i = 0; i < Number(n); i++) t.push((await ask("hello")).ttfb);
  t.sort((a, b) => a - b);
  console.log(`${t[Math.floor(t.length / 2)]} ${t[Math.floor(t.length * 0.99)]}`);
} else if (mode === "stream") {
  await ask("warm up");
  const r = await ask(`STREAM: ${n}`);
  console.log(`${r.bytes} ${r.total}`);
} else {
  console.error("usage: model-client.mjs ttfb|stream URL KEY N");
  process.exit(2);
}
agent.destroy();

// SPDX-License-Identifier: MIT
// The MCP SDK's own client, run inside a session as agentcli (the SDK is in the agent image):
// calls `echo` on each server named on the command line (all at once) and prints one JSON line
// per server, in the order given,
// {server, name, text} or {server, error}; then, when every call succeeded, {connected_at_ns}:
// CLOCK_MONOTONIC, the host's clock too (bench/sessions.sh measures launch-to-connected).
//
//   node session-client.mjs stdio:NAME... http:NAME:PORT[:PATH]... spawn:NAME... tunnel:NAME...
//
// stdio:NAME runs mcp-stub-NAME (on agentcli's PATH: the stub launcher starts the server);
// http:NAME:PORT talks to the helper on 127.0.0.1:PORT with the local token agent-init put in
// CODING_AGENTS_TOKEN_<PORT>.
// The same servers without a session (bench/sessions.sh builds that by hand, as the baseline):
// spawn:NAME runs the command in CLIENT_SPAWN_<NAME> (a JSON array) directly; tunnel:NAME posts
// to the URL in CLIENT_URL_<NAME> through a CONNECT tunnel of the proxy in HTTPS_PROXY, with
// the bearer token in CLIENT_BEARER (the CA comes from NODE_EXTRA_CA_CERTS).
const sdk = "/opt/coding-agents/agents/node_modules/@modelcontextprotocol/sdk/dist/esm/client";
const { Client } = await import(`${sdk}/index.js`);
const { StdioClientTransport, getDefaultEnvironment } = await import(`${sdk}/stdio.js`);
const { StreamableHTTPClientTransport } = await import(`${sdk}/streamableHttp.js`);

// fetch through an HTTP proxy's CONNECT tunnel (Node's own fetch takes no proxy): one tunnel
// and one TLS connection per request, the answer streamed as a web Response.
async function tunnelFetch(url, init = {}) {
  const http = await import("node:http");
  const https = await import("node:https");
  const tls = await import("node:tls");
  const { Readable } = await import("node:stream");
  const u = new URL(url);
  const proxy = new URL(process.env.HTTPS_PROXY);
  const port = u.port || "443";
  const raw = await new Promise((resolve, reject) => {
    const req = http.request({ host: proxy.hostname, port: proxy.port, method: "CONNECT",
      path: `${u.hostname}:${port}`, headers: { Host: `${u.hostname}:${port}` } });
    req.on("connect", (res, socket) => res.statusCode === 200 ? resolve(socket)
      : reject(new Error(`proxy refused the tunnel: ${res.statusCode}`)));
    req.on("error", reject);
    req.end();
  });
  const headers = Object.fromEntries(new Headers(init.headers ?? {}).entries());
  return new Promise((resolve, reject) => {
    const req = https.request({ method: init.method ?? "GET", host: u.hostname, port, path: u.pathname + u.search,
      headers, createConnection: () => tls.connect({ socket: raw, servername: u.hostname }) },
    (res) => {
      const h = new Headers();
      for (const [k, v] of Object.entries(res.headers)) h.set(k, Array.isArray(v) ? v.join(", ") : v);
      const body = res.statusCode === 204 || res.statusCode === 304 ? null : Readable.toWeb(res);
      resolve(new Response(body, { status: res.statusCode, headers: h }));
    });
    req.on("error", reject);
    if (init.signal) init.signal.addEventListener("abort", () => req.destroy(new Error("aborted")));
    req.end(init.body ?? undefined);
  });
}

async function call(spec) {
  const [kind, name, port, path] = spec.split(":");
  let transport;
  if (kind === "stdio") {
    transport = new StdioClientTransport({ command: `mcp-stub-${name}`, env: getDefaultEnvironment() });
  } else if (kind === "spawn") {
    const [command, ...args] = JSON.parse(process.env[`CLIENT_SPAWN_${name}`]);
    transport = new StdioClientTransport({ command, args, env: process.env });
  } else if (kind === "tunnel") {
    transport = new StreamableHTTPClientTransport(new URL(process.env[`CLIENT_URL_${name}`]),
      { fetch: tunnelFetch, requestInit: { headers: { Authorization: `Bearer ${process.env.CLIENT_BEARER}` } } });
  } else {
    const token = process.env[`CODING_AGENTS_TOKEN_${port}`] ?? "";
    transport = new StreamableHTTPClientTransport(new URL(`http://127.0.0.1:${port}${path ?? "/mcp"}`),
      { requestInit: { headers: { Authorization: `Bearer ${token}` } } });
  }
  const client = new Client({ name: "session-client", version: "1.0.0" });
  try {
    await client.connect(transport);
    const r = await client.callTool({ name: "echo", arguments: { message: `hi ${name}`, text: `hi ${name}` } });
    return { client, out: { server: name, name: client.getServerVersion()?.name, text: r.content?.[0]?.text } };
  } catch (e) {
    return { client, out: { server: name, error: String(e?.message ?? e) } };
  }
}

// All at once, as an agent connects to its servers; printed in the order given, and the
// clients closed only after the stamp.
const results = await Promise.all(process.argv.slice(2).map(call));
const at = process.hrtime.bigint();
const failed = results.some((r) => r.out.error !== undefined);
for (const r of results) console.log(JSON.stringify(r.out));
if (!failed) console.log(JSON.stringify({ connected_at_ns: String(at) }));
await Promise.all(results.map((r) => r.client.close().catch(() => {})));
process.exit(failed ? 1 : 0);

// SPDX-License-Identifier: MIT
// The MCP SDK's own client, run inside a session as agentcli (the SDK is in the agent image):
// calls `echo` on each server named on the command line (all at once) and prints one JSON line
// per server, in the order given,
// {server, name, text} or {server, error}; then, when every call succeeded, {connected_at_ns}:
// CLOCK_MONOTONIC, the host's clock too (bench/sessions.sh measures launch-to-connected).
//
//   node session-client.mjs stdio:NAME... http:NAME:PORT[:PATH]...
//
// stdio:NAME runs mcp-stub-NAME (on agentcli's PATH: the stub launcher starts the server);
// http:NAME:PORT talks to the helper on 127.0.0.1:PORT with the local token agent-init put in
// CODING_AGENTS_TOKEN_<PORT>.
const sdk = "/opt/coding-agents/agents/node_modules/@modelcontextprotocol/sdk/dist/esm/client";
const { Client } = await import(`${sdk}/index.js`);
const { StdioClientTransport, getDefaultEnvironment } = await import(`${sdk}/stdio.js`);
const { StreamableHTTPClientTransport } = await import(`${sdk}/streamableHttp.js`);

async function call(spec) {
  const [kind, name, port, path] = spec.split(":");
  let transport;
  if (kind === "stdio") {
    transport = new StdioClientTransport({ command: `mcp-stub-${name}`, env: getDefaultEnvironment() });
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

// SPDX-License-Identifier: MIT
// A stdio MCP server with one tool, `echo`, in plain Node.js (no packages: it runs from a
// session's workspace, where nothing is installed): newline-delimited JSON-RPC on stdin/stdout.
import { createInterface } from "node:readline";

const send = (msg) => process.stdout.write(JSON.stringify({ jsonrpc: "2.0", ...msg }) + "\n");
const handlers = {
  initialize: (p) => ({
    protocolVersion: p?.protocolVersion ?? "2025-06-18",
    capabilities: { tools: {} },
    serverInfo: { name: "echo-mcp", version: "1.0.0" },
  }),
  ping: () => ({}),
  "tools/list": () => ({
    tools: [{
      name: "echo",
      description: "Returns its text argument",
      inputSchema: { type: "object", properties: { text: { type: "string" } }, required: ["text"] },
    }],
  }),
  "tools/call": (p) => ({ content: [{ type: "text", text: String(p?.arguments?.text ?? "") }] }),
};

createInterface({ input: process.stdin }).on("line", (line) => {
  let msg;
  try {
    msg = JSON.parse(line);
  } catch {
    return;
  }
  if (msg.id === undefined) return; // notifications need no answer
  const handler = handlers[msg.method];
  if (!handler) send({ id: msg.id, error: { code: -32601, message: `no method ${msg.method}` } });
  else send({ id: msg.id, result: handler(msg.params) });
});

// SPDX-License-Identifier: MIT
// The end-to-end test's remote side, in plain Node.js (it runs from a mounted directory in a
// container of the agent image, where nothing else is installed):
//
//   * an MCP server over HTTPS (Streamable HTTP, JSON replies) with one tool, `echo`, that
//     demands "Authorization: Bearer <credential>" (401 otherwise) and logs one JSON line per
//     request {method, path, auth} -- never the credential;
//   * a DNS server on UDP port 53 that answers A queries for one name with one address and
//     NXDOMAIN for everything else (the session's egress proxy resolves through it).
//
//   node upstream-mcp.mjs --cert FILE --key FILE --credential-file FILE --log FILE
//                         --name NAME --address A.B.C.D [--port 8443]
//
// Prints "ready" once both listen.
import { appendFileSync, readFileSync } from "node:fs";
import dgram from "node:dgram";
import https from "node:https";
import { parseArgs } from "node:util";

const { values: args } = parseArgs({
  options: {
    cert: { type: "string" }, key: { type: "string" }, "credential-file": { type: "string" },
    log: { type: "string" }, name: { type: "string" }, address: { type: "string" },
    port: { type: "string", default: "8443" },
  },
});
const credential = readFileSync(args["credential-file"], "utf8").trim();
const log = (entry) => appendFileSync(args.log, JSON.stringify(entry) + "\n");

// ---- MCP over HTTPS ----
const tools = [{
  name: "echo",
  description: "Returns its text argument",
  inputSchema: { type: "object", properties: { text: { type: "string" } }, required: ["text"] },
}];
const handlers = {
  initialize: (p) => ({
    protocolVersion: p?.protocolVersion ?? "2025-06-18",
    capabilities: { tools: {} },
    serverInfo: { name: "upstream-e2e", version: "1.0.0" },
  }),
  ping: () => ({}),
  "tools/list": () => ({ tools }),
  "tools/call": (p) => ({ content: [{ type: "text", text: `remote: ${p?.arguments?.text ?? ""}` }] }),
};

const server = https.createServer({ cert: readFileSync(args.cert), key: readFileSync(args.key) },
  (req, res) => {
    const auth = req.headers.authorization;
    const state = auth === undefined ? "missing" : auth === `Bearer ${credential}` ? "ok" : "bad";
    log({ method: req.method, path: req.url, auth: state });
    if (state !== "ok") {
      res.writeHead(401, { "content-type": "text/plain" }).end("unauthorized\n");
      return;
    }
    if (req.method === "DELETE") {
      res.writeHead(200).end();
      return;
    }
    if (req.method !== "POST") {
      res.writeHead(405, { allow: "POST, DELETE" }).end();
      return;
    }
    let body = "";
    req.setEncoding("utf8");
    req.on("data", (d) => { body += d; });
    req.on("end", () => {
      let msg;
      try {
        msg = JSON.parse(body);
      } catch {
        res.writeHead(400).end();
        return;
      }
      if (msg.id === undefined) { // a notification
        res.writeHead(202).end();
        return;
      }
      const h = handlers[msg.method];
      const reply = h ? { jsonrpc: "2.0", id: msg.id, result: h(msg.params) }
        : { jsonrpc: "2.0", id: msg.id, error: { code: -32601, message: "method not found" } };
      res.writeHead(200, { "content-type": "application/json", "mcp-session-id": "e2e-session" })
        .end(JSON.stringify(reply));
    });
  });

// ---- DNS: one A record, NXDOMAIN for the rest ----
function questionName(msg) {
  const labels = [];
  let i = 12;
  while (i < msg.length && msg[i] !== 0) {
    const n = msg[i];
    labels.push(msg.subarray(i + 1, i + 1 + n).toString("ascii").toLowerCase());
    i += 1 + n;
  }
  return { name: labels.join("."), end: i + 1 };
}

const dns = dgram.createSocket("udp4");
dns.on("message", (msg, from) => {
  if (msg.length < 17) return;
  const { name, end } = questionName(msg);
  const qtype = msg.readUInt16BE(end);
  const question = msg.subarray(12, end + 4);
  const known = name === args.name;
  const answerA = known && qtype === 1;
  const header = Buffer.alloc(12);
  msg.copy(header, 0, 0, 2); // id
  header.writeUInt16BE(0x8180 | (msg.readUInt16BE(2) & 0x0100) | (known ? 0 : 3), 2);
  header.writeUInt16BE(1, 4);
  header.writeUInt16BE(answerA ? 1 : 0, 6);
  const parts = [header, question];
  if (answerA) {
    const rr = Buffer.alloc(16);
    rr.writeUInt16BE(0xc00c, 0);
    rr.writeUInt16BE(1, 2);
    rr.writeUInt16BE(1, 4);
    rr.writeUInt32BE(60, 6);
    rr.writeUInt16BE(4, 10);
    args.address.split(".").forEach((o, k) => rr.writeUInt8(Number(o), 12 + k));
    parts.push(rr);
  }
  dns.send(Buffer.concat(parts), from.port, from.address);
});

let up = 0;
const ready = () => { if (++up === 2) console.log("ready"); };
dns.bind(53, "0.0.0.0", ready);
server.listen(Number(args.port), "0.0.0.0", ready);

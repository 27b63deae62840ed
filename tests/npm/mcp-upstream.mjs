// SPDX-License-Identifier: MIT
// A real MCP upstream for the helper tests: the MCP SDK's Streamable HTTP server (/api/mcp)
// and legacy SSE server (/sse + /messages) behind Node's https with a test certificate.
//
//   node upstream.mjs --port N --cert FILE --key FILE --credential-file FILE --log FILE
//
// Every request must carry "Authorization: Bearer <credential>" (401 otherwise). Each request
// is logged as one JSON line {method, path, auth} -- never the credential itself. Prints
// "ready <port>" once listening.
import { randomUUID } from "node:crypto";
import { appendFileSync, readFileSync } from "node:fs";
import https from "node:https";
import { parseArgs } from "node:util";
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { SSEServerTransport } from "@modelcontextprotocol/sdk/server/sse.js";
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js";
import { z } from "zod";

const { values: args } = parseArgs({
  options: {
    port: { type: "string" }, cert: { type: "string" }, key: { type: "string" },
    "credential-file": { type: "string" }, log: { type: "string" },
  },
});
const credential = readFileSync(args["credential-file"], "utf8").trim();

function makeServer() {
  const server = new McpServer({ name: "upstream-under-test", version: "1.0.0" });
  server.registerTool("echo", { description: "echo text", inputSchema: { text: z.string() } },
    async ({ text }) => ({ content: [{ type: "text", text }] }));
  server.registerTool("stream", {
    description: "send COUNT progress notifications, then finish",
    inputSchema: { count: z.number().int() },
  }, async ({ count }, extra) => {
    const token = extra._meta?.progressToken;
    for (let i = 1; i <= count; i++) {
      if (token !== undefined) {
        await extra.sendNotification({
          method: "notifications/progress",
          params: { progressToken: token, progress: i, total: count },
        });
      }
    }
    return { content: [{ type: "text", text: `streamed ${count}` }] };
  });
  return server;
}

const streamable = new Map(); // session id -> transport
const legacy = new Map();

function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => resolve(Buffer.concat(chunks)));
    req.on("error", reject);
  });
}

async function handle(req, res) {
  const url = new URL(req.url, "https://upstream.test");
  const auth = req.headers.authorization === undefined ? "missing"
    : req.headers.authorization === `Bearer ${credential}` ? "ok" : "bad";
  // peer: the helper's end of the connection, to see which requests shared one.
  appendFileSync(args.log, JSON.stringify({ method: req.method, path: url.pathname, auth,
    peer: req.socket.remotePort }) + "\n");
  if (auth !== "ok") {
    res.writeHead(401, { "content-type": "application/json" }).end('{"error":"unauthorized"}');
    return;
  }
  if (url.pathname === "/api/mcp") {
    const sid = req.headers["mcp-session-id"];
    let body;
    if (req.method === "POST") body = JSON.parse((await readBody(req)).toString() || "null");
    let transport = sid ? streamable.get(sid) : undefined;
    if (!transport) {
      if (sid || req.method !== "POST") {
        res.writeHead(404).end();
        return;
      }
      transport = new StreamableHTTPServerTransport({
        sessionIdGenerator: () => randomUUID(),
        onsessioninitialized: (id) => streamable.set(id, transport),
      });
      transport.onclose = () => transport.sessionId && streamable.delete(transport.sessionId);
      await makeServer().connect(transport);
    }
    await transport.handleRequest(req, res, body);
  } else if (url.pathname === "/sse" && req.method === "GET") {
    const transport = new SSEServerTransport("/messages", res);
    legacy.set(transport.sessionId, transport);
    res.on("close", () => legacy.delete(transport.sessionId));
    await makeServer().connect(transport);
  } else if (url.pathname === "/messages" && req.method === "POST") {
    const transport = legacy.get(url.searchParams.get("sessionId"));
    if (!transport) {
      res.writeHead(404).end();
      return;
    }
    const body = JSON.parse((await readBody(req)).toString());
    await transport.handlePostMessage(req, res, body);
  } else if (url.pathname === "/api/big") {
    // N bytes with a length, or chunked with ?chunked=1.
    let n = Number(url.searchParams.get("n"));
    const chunked = url.searchParams.get("chunked") === "1";
    res.writeHead(200, chunked ? { "content-type": "application/octet-stream" }
      : { "content-type": "application/octet-stream", "content-length": String(n) });
    const block = Buffer.alloc(65536, 120);
    const pump = () => {
      while (n > 0) {
        const k = Math.min(n, block.length);
        n -= k;
        if (!res.write(k === block.length ? block : block.subarray(0, k))) {
          res.once("drain", pump);
          return;
        }
      }
      res.end();
    };
    res.on("error", () => {});
    pump();
  } else if (url.pathname === "/api/sse-big") {
    res.writeHead(200, { "content-type": "text/event-stream" });
    res.end(`data: ${"y".repeat(Number(url.searchParams.get("n")))}\n\n`);
  } else if (url.pathname === "/api/idle") {
    res.writeHead(200, { "content-type": "text/event-stream" });
    res.write(": idle stream\n\n");
  } else if (url.pathname === "/api/esc-endpoint") {
    // An upstream that tries to reach the host user's terminal through the helper's events:
    // erase the line, set the clipboard (OSC 52), ring the bell.
    res.writeHead(200, { "content-type": "text/event-stream" });
    res.end("event: endpoint\ndata: \x1b[2K\x1b]52;c;ZXZpbA==\x07\r/messages\u009b2J\n\n");
  } else if (url.pathname === "/api/abs-endpoint" || url.pathname === "/api/evil-endpoint") {
    const target = url.pathname === "/api/abs-endpoint"
      ? `https://127.0.0.1:${server.address().port}/api/messages?sessionId=abc`
      : "https://evil.example/messages?sessionId=abc";
    res.writeHead(200, { "content-type": "text/event-stream" });
    res.end(`event: endpoint\ndata: ${target}\n\n`);
  } else if (url.pathname === "/ticks" || url.pathname === "/api/ticks") {
    // A long SSE stream: N events, written as the socket drains.
    let i = 0;
    const n = Number(url.searchParams.get("n"));
    res.writeHead(200, { "content-type": "text/event-stream" });
    const pump = () => {
      while (i < n) {
        i++;
        if (!res.write(`event: tick\ndata: ${i}\n\n`)) {
          res.once("drain", pump);
          return;
        }
      }
      res.end();
    };
    res.on("error", () => {});
    // A client that went away (through the helper: the helper cancelled us) is reported.
    res.on("close", () => {
      if (i < n) process.stdout.write(`gone ${url.pathname} after ${i}\n`);
    });
    pump();
  } else if (url.pathname === "/api/drop") {
    // One event, then the connection is cut without a proper end.
    res.writeHead(200, { "content-type": "text/event-stream" });
    res.write("event: tick\ndata: 1\n\n", () => setImmediate(() => res.socket.destroy()));
  } else if (url.pathname === "/api/smuggle") {
    // Two lengths in one head, and a second answer hidden where one of them ends: a client that
    // guesses reads "smuggled" as the answer to the next request on this connection.
    await readBody(req);
    res.socket.end("HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\nContent-Length: 44\r\n" +
      "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 8\r\n\r\nsmuggled");
  } else if (url.pathname === "/api/interim") {
    // n interim answers (103 Early Hints) before the real one.
    await readBody(req);
    const n = Number(url.searchParams.get("n") || "1");
    res.socket.end("HTTP/1.1 103 Early Hints\r\nLink: </x>; rel=preload\r\n\r\n".repeat(n) +
      "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\nContent-Length: 5\r\n\r\nfinal");
  } else if (url.pathname === "/api/bad-chunk") {
    // A chunked body whose second size is not hex.
    await readBody(req);
    res.socket.end("HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\nTransfer-Encoding: chunked\r\n" +
      "\r\n5\r\nhello\r\nzz\r\nworld\r\n0\r\n\r\n");
  } else if (url.pathname === "/api/echo-size" && req.method === "POST") {
    const body = await readBody(req);
    res.writeHead(200, { "content-type": "text/plain" }).end(String(body.length));
  } else {
    res.writeHead(404).end();
  }
}

const server = https.createServer({
  cert: readFileSync(args.cert), key: readFileSync(args.key), keepAliveTimeout: 60000,
}, (req, res) => {
  handle(req, res).catch((e) => {
    if (!res.headersSent) res.writeHead(500).end(String(e));
  });
});
server.listen(Number(args.port), "127.0.0.1", () => {
  process.stdout.write(`ready ${server.address().port}\n`);
});
process.on("SIGTERM", () => process.exit(0));

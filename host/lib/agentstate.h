/* SPDX-License-Identifier: MIT */
/*
 * Agent state that persists across sessions, without secrets (issue 26). Per workspace and
 * agent, the CLI's conversations and history (lib/statecopy.c names them) live in
 *
 *   <config root>/state/<key>/<agent>/     0700; key = <workspace's name>-<16 hex of the
 *                                          SHA-256 of its path>
 *   <config root>/state/<key>/workspace    the workspace's path, for `state list`
 *
 * and go through the session's directory:
 *
 *   sessions/<name>/state-in/    what the session starts with (mounted read-only for
 *                                agent-init, which copies it into the CLI's home)
 *   sessions/<name>/state-out/   what agent-init hands back at the end: tree/ and, once it is
 *                                complete, done
 *   sessions/<name>/control/state.json   {agent, workspace, dir}: where it goes back to
 *
 * Both ways every file is checked against the broker's stored secrets (the whole value, and
 * each string of 16 characters or more in a JSON value: a login's tokens) and refused when it
 * holds one; what comes back is untrusted input (lib/statecopy.h). The state directory is
 * replaced in one exchange of names, so a session that ends badly leaves the old state whole.
 */
#pragma once

#include <stdbool.h>

#include "json.h"
#include "macro.h"

struct ca_error;

/* <config root>/state/<key>/<agent>, or NULL when out of memory. */
char *agentstate_dir(const char *config_root, const char *workspace, const char *agent);

/* <config root>/state. */
char *agentstate_root(const char *config_root);

/*
 * Launch: records where the session's state goes back to, creates state-in and state-out in
 * the session directory `sdir`, and copies the saved state (if any) into state-in.
 * Records state-loaded (and a state-refused per file left out). 0 or a negative errno.
 */
int agentstate_stage(const char *config_root, const char *session, const char *sdir,
                     const char *workspace, const char *agent, struct ca_error *err) CA_MUST_CHECK;

/*
 * The session's end (its container gone): when agent-init handed the state back complete,
 * checks it again and puts it in place of the saved state; records state-saved (and a
 * state-refused per file left out). A session without a state record: nothing, 0.
 */
int agentstate_save(const char *config_root, const char *session, const char *sdir,
                    struct ca_error *err) CA_MUST_CHECK;

/* Every saved state: [{key, workspace, agent, dir, files, bytes, updated}], sorted. */
int agentstate_list(const char *config_root, json_t **ret, struct ca_error *err) CA_MUST_CHECK;

/*
 * The user's own instructions and non-secret settings for `agent`, read-only in the session:
 * copied from the user's home into the rendered configuration directory `agent_dir`
 * (Claude Code: ~/.claude/CLAUDE.md and settings.json without the keys that run commands or
 * carry credentials; Codex: ~/.codex/AGENTS.md).
 * A file that holds a stored secret or is larger than 1 MiB is left out with a warning.
 */
int agentstate_instructions(const char *config_root, const char *agent, const char *agent_dir,
                            struct ca_error *err) CA_MUST_CHECK;

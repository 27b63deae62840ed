/* SPDX-License-Identifier: MIT */
/*
 * The one way the container's control plane (agent-init, running as root with the session's
 * capabilities) hands a process to an unprivileged UID before it executes something that is
 * not ours: the agent CLI or a workload (agentcli, agentuser), a remote server's helper, a
 * stdio MCP server. Called in a freshly forked child (or one sharing its parent's memory until
 * the execve, CLONE_VM: it allocates nothing), single-threaded, just before execve().
 *
 * The steps, in this order (each one's name is what a failure reports):
 *   "bounding set"  every capability dropped from the bounding set (needs CAP_SETPCAP: first)
 *   "setgroups"     no supplementary groups (privdrop_become_member: the ones given)
 *   "setresgid"     real, effective and saved GID = `uid` (privdrop_become_member: `gid`)
 *   "setresuid"     real, effective and saved UID = `uid`
 *   "capabilities"  permitted, effective and inheritable sets empty
 *   "ambient set"   the ambient set cleared
 *   "no_new_privs"  no set-user-ID or file capability can give anything back
 *   "pdeathsig"     SIGKILL when the parent goes (the UID change cleared any earlier setting)
 *   "dumpable"      not dumpable until the execve (no ptrace, no core of what it holds now)
 */
#pragma once

#include <sys/types.h>

#include "macro.h"

/*
 * Empties the calling process's bounding set for good (needs CAP_SETPCAP). Call it before any
 * thread exists (the set is per thread and inherited): privdrop_become then skips the step, a
 * saving for a process that spawns a command per request (the task runner). Returns 0 or -errno.
 */
int privdrop_clear_bounding(void) CA_MUST_CHECK;

/* Returns 0, or a negative errno with the failing step's name in *ret_step. */
int privdrop_become(uid_t uid, const char **ret_step) CA_MUST_CHECK;

/* The same, with primary group `gid` and the `ngroups` supplementary groups in `groups`: the
 * agent CLI shares the workload user's group, so that each can change what the other wrote in
 * the workspace (umask 002). */
int privdrop_become_member(uid_t uid, gid_t gid, const gid_t *groups, size_t ngroups,
                           const char **ret_step) CA_MUST_CHECK;

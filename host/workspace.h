/* SPDX-License-Identifier: MIT */
/*
 * A workspace's own config.toml is untrusted input (ARCHITECTURE §1, §4): it takes effect only
 * once the user approved exactly its content. Approvals live in
 *
 *   <config root>/workspace-approvals.json   (0600)
 *   {"version":1,"workspaces":{"<canonical workspace path>":{"sha256":"<hex>",
 *                                                          "approved_at":"<RFC 3339>"}}}
 *
 * written atomically under <config root>/workspace-approvals.lock. The file is read once, by
 * descriptor: the bytes that are hashed are the bytes that are parsed, so nothing can swap the
 * file between the check and the use. A symlinked config.toml, or anything but a regular file,
 * is refused (it could point outside the workspace, at content the approval never saw).
 */
#pragma once

#include <limits.h>
#include <stdbool.h>

#include "buf.h"
#include "digest.h"
#include "json.h"
#include "macro.h"

struct ca_error;
struct config;

enum workspace_config_state {
        WORKSPACE_CONFIG_NONE,       /* no config.toml in the workspace */
        WORKSPACE_CONFIG_APPROVED,   /* approved with exactly this content */
        WORKSPACE_CONFIG_UNAPPROVED, /* never approved */
        WORKSPACE_CONFIG_CHANGED,    /* approved, but with other content */
};

/* The largest config.toml read (the TOML parser's own limit is larger). */
#define WORKSPACE_CONFIG_MAX ((size_t) 4 << 20)

struct workspace_config {
        char workspace[PATH_MAX]; /* canonical */
        char path[PATH_MAX];      /* <workspace>/config.toml */
        struct buf data;          /* the content (state != NONE) */
        char sha256[DIGEST_SHA256_HEX_LEN + 1];
        char approved_sha256[DIGEST_SHA256_HEX_LEN + 1]; /* CHANGED: what was approved */
        enum workspace_config_state state;
};

void workspace_config_clear(struct workspace_config *wc);

/*
 * Reads `workspace`/config.toml and its approval state. A symlink or a non-regular file fails
 * with -ELOOP / -EINVAL (bad input, the message says why); a missing file is state NONE.
 */
int workspace_config_read(const char *config_root, const char *workspace,
                          struct workspace_config *wc, struct ca_error *err) CA_MUST_CHECK;

/* Records (or with `revoke`, removes) the approval of wc's content for its workspace. */
int workspace_config_approve(const char *config_root, const struct workspace_config *wc,
                             bool revoke, struct ca_error *err) CA_MUST_CHECK;

/* "approved", "not approved", "changed since it was approved", "absent". */
const char *workspace_config_state_name(enum workspace_config_state state);

/*
 * The message and remedy for a workspace config that may not be used (UNAPPROVED, CHANGED),
 * into `err` as bad input: names the file, its hash and the commands that approve or skip it.
 */
int workspace_config_refusal(const struct workspace_config *wc, struct ca_error *err);

/* Merges wc's content into `cfg` as a workspace source. */
int workspace_config_merge(const struct workspace_config *wc, struct config *cfg,
                           struct ca_error *err) CA_MUST_CHECK;

/* ---- the workspace's .git in a session ------------------------------------------------------ */

struct runtime_mount;

#define WORKSPACE_GIT_MOUNTS 12

/* The paths below are kept alive here for the mounts that point at them. */
struct workspace_git_mounts {
        char paths[2 * WORKSPACE_GIT_MOUNTS][PATH_MAX]; /* source, target per mount */
        size_t n;
};

/*
 * The mounts (over the workspace's, at /workspace) that keep the agent from changing what git
 * on the host would execute or substitute: .git itself (read-write, but a mount point, so it
 * cannot be renamed or replaced); read-only .git/config, .git/config.worktree, .git/hooks,
 * .git/info, .git/refs/replace and .git/packed-refs (replace refs, loose or packed, make git
 * use another object in place of one), .git/modules, .git/worktrees and .git/lfs (other git
 * directories, with configs, hooks and objects of their own; git-lfs's objects); a .git
 * *file* (a linked worktree or submodule) read-only. Missing directories and files are made
 * (empty) so they can be covered. Refused (bad input): one of them, or .git, that is a link
 * into `workspace` or to nothing yet (a mount does not cover where a link leads), and a config
 * or config.worktree that includes a file in `workspace` (the agent could write what git on
 * the host reads as config). With `objects` (the session's private store,
 * workspace_objects_prepare), that is mounted over .git/objects and the real store read-only
 * at IMAGE_GIT_OBJECTS. Fills `out` (room for WORKSPACE_GIT_MOUNTS); *ret_n mounts.
 */
int workspace_git_mounts(const char *workspace, const char *target, const char *objects,
                         struct workspace_git_mounts *m, struct runtime_mount *out,
                         size_t *ret_n, struct ca_error *err) CA_MUST_CHECK;

/*
 * A --worktree session's own git directory (<repository>/.git/worktrees/<session>, writable
 * for its HEAD, index and logs): what in it git follows read-only, so that the worktree, kept
 * after the session, is not pointed at a directory the agent wrote: commondir, gitdir and
 * config.worktree (made empty when missing), and modules when there is one. Fills `out` (room
 * for WORKSPACE_GIT_MOUNTS); *ret_n mounts.
 */
int workspace_gitdir_mounts(const char *gitdir, struct workspace_git_mounts *m,
                            struct runtime_mount *out, size_t *ret_n,
                            struct ca_error *err) CA_MUST_CHECK;

/*
 * The session's own object store. Git does not re-hash an object it already has when it reads
 * it: an agent that rewrote the file of an object the user's branches hold (a blob of a file it
 * never touched) would have the user's next checkout write its content, unseen by `git diff`;
 * a commit-graph or an alternates file it wrote would be followed by git on the host too. So
 * in a session .git/objects is a private directory, whose info/alternates names the
 * repository's own store, mounted read-only at IMAGE_GIT_OBJECTS: git in the container reads
 * every object the repository has and writes new ones to the private store only. At the end
 * they are brought into the repository by git_import_objects (git.h), named by their content.
 *
 *   <config root>/git-objects/<session>/        the private store (owner and mode as the
 *                                               repository's objects directory)
 *   <config root>/git-objects/<session>.json    {"repository": <the work tree holding .git>}
 *
 * `repository` is the work tree whose .git directory holds the objects (the workspace, or for
 * a --worktree session the repository it was made from). 1 with the store's path in `dir`; 0
 * when .git/objects is not a directory there (nothing to protect).
 */
int workspace_objects_prepare(const char *config_root, const char *session,
                              const char *repository, char dir[PATH_MAX],
                              struct ca_error *err) CA_MUST_CHECK;

/*
 * While the session runs (`run` calls it every few seconds): what its store holds now comes
 * into the repository, and leaves the store (git in the container finds it in the repository's
 * store, its alternate), so that git on the host sees a commit the agent made on the user's
 * branch. The number of objects brought in (>= 0), or a negative errno (the store kept as it
 * was).
 */
int workspace_objects_sync(const char *config_root, const char *session,
                           struct ca_error *err) CA_MUST_CHECK;

/*
 * At the session's end (after its container is gone): its objects brought into the repository
 * and the private store removed. When that fails the store is kept and stderr says why, what
 * the repository may now miss and how to try again ('coding-agents rm SESSION' runs the
 * teardown again). Returns the fields of the workspace-objects event, NULL when the session
 * had no store or nothing new came in. Never fails the teardown.
 */
json_t *workspace_objects_end(const char *config_root, const char *session);

/*
 * A snapshot of what in the workspace's .git git would execute or follow: the type of .git
 * (and a gitdir file's content), and the SHA-256 of config, config.worktree, commondir, every
 * file under hooks/, info/ and the state of a rebase, cherry-pick or revert in progress
 * (rebase-merge/, rebase-apply/, sequencer/: its todo list can `exec`), and the same in
 * modules/ (submodules) and worktrees/; and, read with git, the index entries hidden from
 * git status ("index_hidden") and every ref with HEAD ("refs"). JSON:
 * {"workspace": PATH, "entries": {".git/config": "<sha256>", ...}, "index_hidden": {...},
 *  "refs": {"count": N, "digest": HEX, "listed": {"refs/heads/main": OID, ...}}}.
 */
int workspace_git_snapshot(const char *workspace, json_t **ret,
                           struct ca_error *err) CA_MUST_CHECK;

/*
 * Compares a snapshot with the workspace now: *ret_changed is an array of the entries that
 * changed, appeared or went away, the index entries newly hidden, and the refs that moved,
 * appeared or went away (empty when nothing did). Run it once the session's objects came in:
 * git does not list a ref whose commit it cannot find.
 */
int workspace_git_changes(const json_t *snapshot, json_t **ret_changed,
                          struct ca_error *err) CA_MUST_CHECK;

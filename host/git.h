/* SPDX-License-Identifier: MIT */
/*
 * git on the host, on repositories the user does not fully control (ARCHITECTURE §1: the
 * workspace is untrusted input; an agent wrote into it). Every git the host runs goes through
 * here, and none of it runs the repository's code:
 *
 *   - the environment is built from nothing: no system or global config
 *     (GIT_CONFIG_NOSYSTEM, GIT_CONFIG_GLOBAL=/dev/null, HOME=/nonexistent), no system
 *     attributes, no prompts, no GIT_* from the caller;
 *   - `-c` overrides, which beat every config file, switch off what executes: hooks
 *     (core.hooksPath=/dev/null), core.fsmonitor, core.sshCommand, diff.external, pagers,
 *     editors, signing programs, credential helpers, every transport (protocol.allow=never),
 *     and submodule recursion (a submodule's own config would apply there);
 *   - GIT_READ never lets git read the repository's config at all: git runs on a private
 *     GIT_DIR holding a config we write (the format version, extensions and a few data-only
 *     core settings copied from the real one, read with --no-includes) and HEAD, with the
 *     real objects, refs and index. Includes, drivers and anything a future git version might
 *     execute from config are simply not there;
 *   - GIT_WRITE (commands that must write into the real GIT_DIR: worktrees, merges) uses the
 *     real config, so it is first listed without includes: a config that includes other files
 *     (include.path, includeIf) is refused, since what it pulls in cannot be seen, and every
 *     filter, diff and merge driver it defines is overridden with an empty (or failing)
 *     command.
 *
 * The repository's files are opened without following links and must be regular files, so a
 * FIFO or a link to a device cannot hang or feed git.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "macro.h"

struct buf;
struct ca_error;

enum git_mode {
        GIT_READ,  /* status, ls-tree, log, diff: never reads the repository's config */
        GIT_WRITE, /* worktree, branch, merge: the real config, includes refused */
};

/*
 * Runs `git <args...>` (nargs arguments, no NULL needed) in the work tree `worktree` (the
 * directory holding .git, a directory or a "gitdir:" file), stdout captured into `out` (at
 * most 16 MiB; NULL: discarded). Returns git's exit status (>= 0), or a negative errno when git
 * could not run or the repository is refused (bad input: the message says why). A worktree
 * without .git returns 128, as git would.
 */
int git_run(const char *worktree, enum git_mode mode, const char *const *args, size_t nargs,
            struct buf *out, struct ca_error *err) CA_MUST_CHECK;

/*
 * The files the config file `config_file` includes: `cb` called with each include.path and
 * includeIf.*.path value as written (relative to the file's directory, or "~/" for the home
 * directory), read without following any. A missing file has none. 0, or the first negative
 * value `cb` returned, or a negative errno.
 */
int git_config_includes(const char *config_file, int (*cb)(const char *path, void *userdata),
                        void *userdata, struct ca_error *err) CA_MUST_CHECK;

/*
 * Brings the objects a session wrote into its private store `private_dir` (workspace.h) into
 * the repository of the work tree `worktree`, verified. Only regular files named as loose
 * objects (xx/<hex>) and packs (pack/pack-*.{pack,idx}) are read, never through a link: the
 * store's info/ (alternates, commit-graph) and anything else in it are ignored. They are
 * linked (or, where a link cannot be made, copied; a sparse file is refused) into a scratch
 * repository of ours (`scratch`, made and removed here) and packed there, and the pack is fed
 * to `git unpack-objects --strict` (`index-pack --strict` for many) in the repository: every
 * object is named by its content and checked as fsck would, so a file written under the name
 * of an object the repository holds can only add another object, never replace one. With
 * `prune` (while the session runs), what came in then leaves the store: the loose objects and
 * the whole packs brought in (git in the container finds them in the repository's store, its
 * alternate). Returns the number of objects brought in (>= 0), or a negative errno (the
 * repository unchanged).
 */
int git_import_objects(const char *worktree, const char *private_dir, const char *scratch,
                       bool prune, struct ca_error *err) CA_MUST_CHECK;

/*
 * The user's own identity for a commit the host makes on their behalf (a merge): user.name and
 * user.email from their global configuration (~/.gitconfig), never a repository's. Empty
 * strings when unset (the repository's own identity, or git's refusal, then applies).
 */
int git_user_identity(char *name, size_t name_size, char *email, size_t email_size,
                      struct ca_error *err) CA_MUST_CHECK;

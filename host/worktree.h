/* SPDX-License-Identifier: MIT */
/*
 * Sessions on their own worktrees (issue 26): `run`/`launch --worktree[=BRANCH]` gives the
 * session a new git worktree of the workspace on a branch of its own, so that agents working on
 * one repository at once do not trample each other; `diff` shows what a session changed,
 * `merge` brings its branch into the user's current branch.
 *
 *   <config root>/worktrees/<session>/        the worktree (the session's /workspace)
 *   <config root>/worktrees/<session>.json    {session, repository, branch, base, path, keep}
 *
 * Every git here runs through host/git.c (the repository's hooks, drivers and filters never
 * run). In the container the repository's .git is mounted at its own path (the worktree's
 * .git file names it), with its config, hooks and info read-only as for any workspace. The
 * worktree goes when the session goes, unless --keep, or it holds changes not committed (then
 * it is kept, and the end says so); the branch stays for `diff` and `merge`.
 */
#pragma once

#include <limits.h>
#include <stdbool.h>

#include "macro.h"

struct ca_error;

struct worktree {
        char repository[PATH_MAX]; /* the user's working tree */
        char path[PATH_MAX];       /* the session's worktree */
        char branch[256];
        char base[64]; /* the commit it started from */
};

/*
 * Creates the session's worktree of `repository` (the top of a git working tree with commits)
 * on a new branch: `branch`, or coding-agents/<session> when NULL. Refuses (bad input) a
 * repository that is not one, a branch name git would not take or one that exists.
 */
int worktree_create(const char *config_root, const char *session, const char *repository,
                    const char *branch, bool keep, struct worktree *wt,
                    struct ca_error *err) CA_MUST_CHECK;

/*
 * Where the session's private git state is: a copy of the repository's refs made when the
 * worktree was (mounted over .git/refs, so that nothing the session does moves the user's
 * branches and tags) and an empty logs directory (over .git/logs). At the session's end only
 * its own branch is brought back into the repository, by our git, from the commit it started
 * at; the rest of the copy goes. The repository's packed-refs is read-only, as in every
 * session (workspace.h).
 */
int worktree_private_dirs(const char *config_root, const char *session, char refs[PATH_MAX],
                          char logs[PATH_MAX], struct ca_error *err) CA_MUST_CHECK;

/* The record of `session`'s worktree: 0, -ENOENT when the session had none. */
int worktree_load(const char *config_root, const char *session, struct worktree *wt,
                  struct ca_error *err) CA_MUST_CHECK;

/* The session's end: removes its worktree unless kept or holding uncommitted changes (said on
 * stderr). Never fails the teardown. */
void worktree_end(const char *config_root, const char *session);

/* `coding-agents diff SESSION`: the branch against its base, and what is not committed in the
 * worktree (when it still exists), on stdout. */
int worktree_diff(const char *config_root, const char *session, struct ca_error *err) CA_MUST_CHECK;

/*
 * `coding-agents merge SESSION`: the session's branch merged into the repository's current
 * branch. Refuses (bad input, nothing touched) when the user's tree has uncommitted changes to
 * tracked files, or when the merge would conflict (the files named).
 */
int worktree_merge(const char *config_root, const char *session, struct ca_error *err) CA_MUST_CHECK;

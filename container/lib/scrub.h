/* SPDX-License-Identifier: MIT */
/*
 * Scrubbing what a session leaves in the container's tmpfs: the agents' homes, a helper's
 * directory, a stdio server's secrets tmpfs. Every regular file is overwritten with zeros (a
 * file its owner made read-only is made writable first) and flushed, then everything is
 * removed, depth first, never following a link. Root has no CAP_DAC_OVERRIDE in a session's
 * container, so the work is done by a forked child that becomes the files' owner.
 */
#pragma once

#include <sys/types.h>

#include "macro.h"

/* Scrubs everything under the directory `dfd` (which it closes); the directory itself stays. */
void scrub_tree_at(int dfd);

/*
 * Scrubs everything under `path` as `uid` (a child: setgroups, setresgid, setresuid, then
 * scrub_tree_at). Returns 0 once the child is done, or a negative errno when it could not run
 * or could not become `uid`. The directory itself stays: its parent's owner removes it.
 */
int scrub_dir_as(const char *path, uid_t uid) CA_MUST_CHECK;

/* scrub_dir_as(), then the directory removed (by the caller, who owns its parent). Returns 0
 * (also when `path` does not exist) or a negative errno. */
int scrub_remove_dir(const char *path, uid_t uid) CA_MUST_CHECK;

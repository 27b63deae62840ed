/* SPDX-License-Identifier: MIT */
/*
 * Which profile the running binary is in: prod when it resolves to
 * <prefix>/releases/<version>/bin/coding-agents of an install whose prefix is root-owned and
 * not writable by others, with that release's SHA256SUMS present; dev otherwise (a build tree).
 * The profile picks the config root (paths.h). Launches in prod verify the release's
 * SHA256SUMS before anything else (the sessions issue wires that into `run`).
 */
#pragma once

#include <limits.h>

#include "install.h"
#include "macro.h"
#include "paths.h"

struct profile_info {
        enum paths_profile profile;
        char exe[PATH_MAX];
        char release_dir[PATH_MAX]; /* prod only */
        char prefix[PATH_MAX];      /* prod only */
        char version[INSTALL_VERSION_MAX + 1];
};

/* Detects the profile of the binary at `exe` (NULL: this process's /proc/self/exe). Never
 * fails: anything that does not prove prod is dev. */
void profile_detect(const char *exe, struct profile_info *out);

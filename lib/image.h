/* SPDX-License-Identifier: MIT */
/*
 * The agent image's contract, shared by the host (coding-agents image build, sessions) and
 * the container side (agent-init): names, users, paths, and the package list reader.
 */
#pragma once

#include <stddef.h>

#include "macro.h"

struct ca_error;

#define IMAGE_BASE_REPO "coding-agents-base"
#define IMAGE_AGENT_REPO "coding-agents-agent"
#define IMAGE_CURRENT_TAG "current"
#define IMAGE_CURRENT IMAGE_AGENT_REPO ":" IMAGE_CURRENT_TAG
/* SHA-256 of the agent-init inside, so a session can tell a stale image from this build's. */
#define IMAGE_LABEL_AGENT_INIT "io.coding-agents.agent-init"

#define IMAGE_AGENTUSER_UID 1000
#define IMAGE_AGENTCLI_UID 1001
#define IMAGE_BIN_DIR "/usr/lib/coding-agents/bin"
#define IMAGE_RUN_DIR "/run/coding-agents"
#define IMAGE_CONFIG_DIR IMAGE_RUN_DIR "/config"
#define IMAGE_HOME_DIR IMAGE_RUN_DIR "/home"
#define IMAGE_WORKSPACE "/workspace"
/* Read-only caches baked into the image (the unpacked Copilot CLI), linked into agentcli's
 * ~/.cache by agent-init. */
#define IMAGE_CACHE_DIR "/opt/coding-agents/cache"

/* Our programs inside the image, agent-init first. */
#define IMAGE_NPROGRAMS 4
extern const char *const image_programs[IMAGE_NPROGRAMS];

/*
 * Reads a package list (one Debian package name per line, '#' comments, blank lines) into a
 * comma-separated list for debootstrap --include. Names must be Debian package names
 * ([a-z0-9][a-z0-9+.-]+). -EINVAL with "line N: ..." in err (bad input).
 */
int image_package_list(const char *text, size_t len, char **ret,
                       struct ca_error *err) CA_MUST_CHECK;

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
#define IMAGE_AGENTCLI_UID_STR "1001"
#define IMAGE_BIN_DIR "/usr/lib/coding-agents/bin"
/* The real bash and dash: /usr/bin/bash and /usr/bin/dash are the shell shim (ca-shell), which
 * hands the agent CLI's commands to the task runner at IMAGE_RUNNER_SOCKET. */
#define IMAGE_SHELLS_DIR "/usr/lib/coding-agents/shells"
#define IMAGE_RUN_DIR "/run/coding-agents"
#define IMAGE_CONFIG_DIR IMAGE_RUN_DIR "/config"
#define IMAGE_HOME_DIR IMAGE_RUN_DIR "/home"
#define IMAGE_WORKSPACE "/workspace"
/* The repository's own object store, read-only: the alternate of the session's private store,
 * which is mounted over .git/objects (workspace.h). */
#define IMAGE_GIT_OBJECTS IMAGE_RUN_DIR "/git-objects"
/* Read-only caches baked into the image (the unpacked Copilot CLI), linked into agentcli's
 * ~/.cache by agent-init. */
#define IMAGE_CACHE_DIR "/opt/coding-agents/cache"

/* Where the session's control files are bind-mounted (agent-init makes the directory 0700
 * before anything else runs): the broker's session socket and the agent CLI credential. */
#define IMAGE_CONTROL_DIR IMAGE_RUN_DIR "/control"
#define IMAGE_BROKER_SOCKET IMAGE_CONTROL_DIR "/broker.sock"
#define IMAGE_CREDENTIAL IMAGE_CONTROL_DIR "/credential.json"
/* The stdio MCP servers: agentcli's mcp-stub-<name> links (first on its PATH), the launcher's
 * socket (mcp-stub's default), the servers' tmpfs parent and their broker credentials. */
#define IMAGE_STUB_BIN IMAGE_RUN_DIR "/bin"
#define IMAGE_STUB_SOCKET IMAGE_RUN_DIR "/stub.sock"
#define IMAGE_RUNNER_SOCKET IMAGE_RUN_DIR "/runner.sock"
/* Where the agent CLI's launcher (exec-guard as claude, codex, copilot) hands the supervisor its
 * process tree's seccomp listener. */
#define IMAGE_GUARD_SOCKET IMAGE_RUN_DIR "/exec-guard.sock"
/* The CLIs' own entry points, which the image's /usr/local/bin/claude etc. (exec-guard) run. */
#define IMAGE_AGENTS_DIR "/opt/coding-agents/agents"
#define IMAGE_STUB_RUN IMAGE_RUN_DIR "/mcp"
#define IMAGE_STUB_CREDENTIALS IMAGE_CONTROL_DIR "/stubs"
/* The remote MCP servers: their helpers' broker credentials and trust bundles (from the host),
 * and the parent of each helper's private directory. */
#define IMAGE_HELPER_CREDENTIALS IMAGE_CONTROL_DIR "/helpers"
#define IMAGE_HELPER_RUN IMAGE_RUN_DIR "/helpers"
/* The host's security event log, appended to by agent-init, the stub launcher and (through
 * agent-init) the helpers, so that a session's events land in order with the broker's. */
#define IMAGE_EVENTS_LOG IMAGE_CONTROL_DIR "/events.log"
/* The agent CLI's saved state (issue 26, host/lib/agentstate.h): what the session starts with
 * (read-only) and where agent-init hands it back at the end (tree/, then done). */
#define IMAGE_STATE_IN IMAGE_CONTROL_DIR "/state-in"
#define IMAGE_STATE_OUT IMAGE_CONTROL_DIR "/state-out"
/* The capability's stub name for agent CLI credentials. */
#define IMAGE_CREDENTIAL_STUB "agent-cli"

/*
 * Agent CLI credentials (docs/running-agents.md): where each comes from on the host, the broker
 * secret that holds it, and where agent-init puts it inside (a file in the agent's config
 * directory, 0600 agentcli; or a variable in the CLI's environment). Looked up by agent and
 * secret name, so a credential file cannot direct agent-init anywhere else.
 */
struct image_credential {
        const char *agent;     /* "claude" */
        const char *secret;    /* "AGENT_CLAUDE_CREDENTIALS" */
        const char *host_file; /* relative to the host user's HOME, or NULL */
        const char *host_env;  /* host environment variable, or NULL */
        const char *file;      /* inside: relative to the agent's config directory, or NULL */
        const char *env;       /* inside: the CLI's environment variable, or NULL */
};

#define IMAGE_NCREDENTIALS 5
extern const struct image_credential image_credentials[IMAGE_NCREDENTIALS];

/* The entry for (agent, secret), or NULL. */
const struct image_credential *image_credential_find(const char *agent, const char *secret);

/* Our programs inside the image, agent-init first. */
#define IMAGE_NPROGRAMS 9
extern const char *const image_programs[IMAGE_NPROGRAMS];

/*
 * Reads a package list (one Debian package name per line, '#' comments, blank lines) into a
 * comma-separated list for debootstrap --include. Names must be Debian package names
 * ([a-z0-9][a-z0-9+.-]+). -EINVAL with "line N: ..." in err (bad input).
 */
int image_package_list(const char *text, size_t len, char **ret,
                       struct ca_error *err) CA_MUST_CHECK;

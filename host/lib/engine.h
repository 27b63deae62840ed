/* SPDX-License-Identifier: MIT */
/*
 * What a container engine says about itself, and whether coding-agents will use it
 * (ARCHITECTURE §5 preflight). Pure: takes the decoded answers of the Engine API's
 * GET /version and GET /info, whatever is on the other end of the socket, so every field is
 * untrusted input (fuzzed by tests/fuzz/fuzz_engine.c).
 *
 * Refused, each with a reason and a remedy:
 *   - Podman's Docker-compatible API (Components[].Name "Podman Engine", or a Libpod server):
 *     the hardening asks for Docker's semantics (seccomp profile JSON, tmpfs options, pids
 *     limit, capability names) and the broker attests callers by host UID and cgroup, which a
 *     compatibility layer (and rootless UID mapping) does not guarantee;
 *   - rootless engines and user-namespace remapping (SecurityOptions "name=rootless" /
 *     "name=userns"): container UIDs would not be the host UIDs the broker checks;
 *   - no seccomp support; API older than 1.41 (Docker 20.10);
 *   - AppArmor enabled on the host but not supported by the engine.
 */
#pragma once

#include <stdbool.h>

#include <jansson.h>

#include "macro.h"

struct ca_error;

#define ENGINE_MIN_API_MAJOR 1
#define ENGINE_MIN_API_MINOR 41

struct engine_facts {
        char product[32];     /* "docker", "podman" */
        char version[64];     /* "20.10.24+dfsg1" */
        char api_version[16]; /* "1.41" */
        char os[96];          /* OperatingSystem from /info */
        char root_dir[256];   /* DockerRootDir from /info: where images live ("" unknown) */
        int api_major, api_minor;
        bool podman;
        bool seccomp;
        bool apparmor;
        bool rootless;
        bool userns;
        int cgroup_version;   /* 1, 2, or 0 when not said */
        bool cgroup_systemd;  /* CgroupDriver "systemd" (else cgroupfs) */
};

/*
 * Fills `f` from the decoded /version and /info objects (`info` may be NULL) and the Server
 * header of the answer (NULL when absent). Fails with -EPROTO (message names the field) when
 * the answers are not what an Engine API returns.
 */
int engine_facts_parse(const json_t *version, const json_t *info, const char *server_header,
                       struct engine_facts *f, struct ca_error *err) CA_MUST_CHECK;

/*
 * Decides. 0 when the engine may be used; -EPERM with the reason and the remedy in err when
 * it is refused. `host_apparmor` says whether the host kernel enforces AppArmor.
 */
int engine_facts_check(const struct engine_facts *f, bool host_apparmor,
                       struct ca_error *err) CA_MUST_CHECK;

/* The facts as a JSON object for events and `runtime check --json`. NULL on OOM. */
json_t *engine_facts_json(const struct engine_facts *f);

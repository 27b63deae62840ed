/* SPDX-License-Identifier: MIT */
/*
 * The container runtime interface (ARCHITECTURE §5): preflight, images, create, start, wait,
 * stop, remove, inspect, list, and attach/exec for output and terminals. One implementation today, `docker` (host/runtime/docker.c):
 * the Docker Engine REST API on its Unix socket, spoken with libcurl; never the `docker` CLI.
 *
 * Every container coding-agents creates carries the label RUNTIME_LABEL_SESSION (plus agent,
 * workspace); `list` and the leak checks find them by that label, nothing else is touched.
 * Removing or stopping something already gone is success (idempotent kill/stop/rm).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "buf.h"
#include "engine.h"
#include "macro.h"

struct ca_error;
struct runtime;

#define RUNTIME_LABEL_SESSION "io.coding-agents.session"
#define RUNTIME_LABEL_AGENT "io.coding-agents.agent"
#define RUNTIME_LABEL_WORKSPACE "io.coding-agents.workspace"
#define RUNTIME_LABEL_MODE "io.coding-agents.mode"
#define RUNTIME_LABEL_BRANCH "io.coding-agents.branch" /* --worktree: the session's branch */
#define RUNTIME_LABEL_INPUTS "io.coding-agents.inputs"
#define RUNTIME_DEFAULT_SOCKET "/var/run/docker.sock"

/* A bind mount: host path -> container path. */
struct runtime_mount {
        const char *source;
        const char *target;
        bool read_only;
};

/* A tmpfs: container path with mount options ("mode=0711,size=64m"); always nosuid,nodev,noexec. */
struct runtime_tmpfs {
        const char *target;
        const char *options;
};

struct runtime_spec {
        const char *name;               /* container name */
        const char *image;
        const char *const *cmd;         /* NULL-terminated argv after the entrypoint */
        const char *const *env;         /* NULL-terminated "NAME=value" */
        const json_t *labels;           /* object of strings */
        const struct runtime_mount *mounts;
        size_t nmounts;
        const struct runtime_tmpfs *tmpfs;
        size_t ntmpfs;
        const char *const *cap_add;     /* NULL-terminated; everything else is dropped */
        const char *seccomp_json;       /* profile contents */
        const char *apparmor;           /* profile name, or NULL where the host has none */
        const char *network;            /* "none" or a network name */
        const char *const *dns;         /* NULL-terminated resolver addresses, or NULL */
        const char *const *entrypoint;  /* NULL: the image's */
        const char *workdir;
        const char *cgroup_parent;      /* NULL: the engine's default */
        int64_t memory_bytes;
        int64_t pids_limit;
        bool tty;                       /* a terminal; stdin kept open for attaching */
};

/* Opens the runtime `name` ("docker") at `endpoint` (a socket path; NULL: DOCKER_HOST's
 * unix:// path, else RUNTIME_DEFAULT_SOCKET). Does not contact the engine. */
int runtime_open(const char *name, const char *endpoint, struct runtime **ret,
                 struct ca_error *err) CA_MUST_CHECK;
struct runtime *runtime_close(struct runtime *rt);
static inline void runtime_closep(struct runtime **rt)
{
        *rt = runtime_close(*rt);
}
#define _cleanup_runtime_ __attribute__((cleanup(runtime_closep)))

/* The socket path in use. */
const char *runtime_endpoint(const struct runtime *rt);

/*
 * Asks the engine who it is (/_ping, /version, /info) and decides (engine_facts_check).
 * Fills `facts` either way when the engine answered. -EPERM: refused (err has the reason and
 * the remedy); other negative errno: unreachable or not an engine.
 */
int runtime_preflight(struct runtime *rt, struct engine_facts *facts,
                      struct ca_error *err) CA_MUST_CHECK;

/* 1 and the inspect object (when `ret` is not NULL) when the image exists, 0 when not. */
int runtime_image_inspect(struct runtime *rt, const char *ref, json_t **ret,
                          struct ca_error *err) CA_MUST_CHECK;

/* Called with each progress line the engine reports while building or importing. */
typedef void (*runtime_progress_fn)(const char *line, void *userdata);

/*
 * Loads the image archive at `archive_path` (docker-archive: manifest.json, config and layers;
 * POST /images/load): the image keeps the id its config gives it, and the tags its manifest
 * names. Progress lines go to `fn`.
 */
int runtime_image_load(struct runtime *rt, const char *archive_path, runtime_progress_fn fn,
                       void *userdata, struct ca_error *err) CA_MUST_CHECK;

/*
 * Pulls the image `name` ("registry/repository") by its manifest digest `digest`
 * ("sha256:..."), never by a tag: the engine checks what it fetches against the digest, and the
 * image is then known as name@digest. Progress lines go to `fn`.
 */
int runtime_image_pull(struct runtime *rt, const char *name, const char *digest,
                       runtime_progress_fn fn, void *userdata, struct ca_error *err) CA_MUST_CHECK;

/* Creates the container; stores its id (64 hex) in `id`. -EEXIST when the name is taken. */
int runtime_create(struct runtime *rt, const struct runtime_spec *spec, char id[65],
                   struct ca_error *err) CA_MUST_CHECK;
int runtime_start(struct runtime *rt, const char *id, struct ca_error *err) CA_MUST_CHECK;
/* Waits for the container to stop; stores its exit status. */
int runtime_wait(struct runtime *rt, const char *id, int *exit_code,
                 struct ca_error *err) CA_MUST_CHECK;
/* SIGTERM, then SIGKILL after `grace_seconds`. Already stopped or gone: 0. */
int runtime_stop(struct runtime *rt, const char *id, unsigned grace_seconds,
                 struct ca_error *err) CA_MUST_CHECK;
/* Sends `signal` ("SIGKILL"). Not running or gone: 0. */
int runtime_signal(struct runtime *rt, const char *id, const char *signal,
                   struct ca_error *err) CA_MUST_CHECK;
/* Removes the container (force: even running) and its anonymous volumes. Gone: 0. */
int runtime_remove(struct runtime *rt, const char *id, bool force,
                   struct ca_error *err) CA_MUST_CHECK;
/* The inspect object; -ENOENT when no such container. */
int runtime_inspect(struct runtime *rt, const char *id, json_t **ret,
                    struct ca_error *err) CA_MUST_CHECK;
/* Creates a bridge network `name` (internal: no route out of it, no masquerading) with
 * `labels`. An existing one of that name is -EEXIST. */
int runtime_network_create(struct runtime *rt, const char *name, bool internal,
                           const json_t *labels, struct ca_error *err) CA_MUST_CHECK;
/* The network's inspect object; -ENOENT when there is no such network. */
int runtime_network_inspect(struct runtime *rt, const char *name, json_t **ret,
                            struct ca_error *err) CA_MUST_CHECK;
/* Connects container `id` to network `name`. */
int runtime_network_connect(struct runtime *rt, const char *name, const char *id,
                            struct ca_error *err) CA_MUST_CHECK;
/* Disconnects `container` (an id or a name) from network `name`; `force` also takes away an
 * endpoint whose container is gone (a stale endpoint). Not connected or gone: 0. */
int runtime_network_disconnect(struct runtime *rt, const char *name, const char *container,
                               bool force, struct ca_error *err) CA_MUST_CHECK;
/* Removes network `name`. Gone: 0. One with endpoints left fails (-EBUSY). */
int runtime_network_remove(struct runtime *rt, const char *name,
                           struct ca_error *err) CA_MUST_CHECK;
/* Networks carrying label `key`: the engine's list objects. */
int runtime_network_list(struct runtime *rt, const char *key, json_t **ret,
                         struct ca_error *err) CA_MUST_CHECK;
/* Containers (running or not) carrying label `key` (any value): the engine's list objects. */
int runtime_list(struct runtime *rt, const char *key, json_t **ret,
                 struct ca_error *err) CA_MUST_CHECK;

/* Images named `repo` (any tag): the engine's list objects (Id, RepoTags, Size, ...). */
int runtime_image_list(struct runtime *rt, const char *repo, json_t **ret,
                       struct ca_error *err) CA_MUST_CHECK;
/* Removes the reference `ref` (repo:tag): the image goes with its last reference. Never
 * forced: -EBUSY when a container (running or not) or another image uses it. Gone: 0. */
int runtime_image_remove(struct runtime *rt, const char *ref, struct ca_error *err) CA_MUST_CHECK;

/* Tags image `ref` as `repo`:`tag` (replacing what had that tag). */
int runtime_image_tag(struct runtime *rt, const char *ref, const char *repo, const char *tag,
                      struct ca_error *err) CA_MUST_CHECK;

/* Whether the host kernel enforces AppArmor. */
bool runtime_host_apparmor(void);

/*
 * Interactive streams (a terminal): the engine upgrades the HTTP connection and the socket then
 * carries the raw stream both ways. `*ret_fd` is that socket; stream bytes that arrived with
 * the answer's head are appended to `early` (write them out first).
 *
 * runtime_attach: the container's stdout/stderr, and stdin (`with_stdin`; created with tty +
 * open stdin); attach before starting it, so that no output is lost. Without a terminal the
 * stream is multiplexed: runtime_copy_output() takes it apart.
 */
int runtime_attach(struct runtime *rt, const char *id, bool with_stdin, int *ret_fd,
                   struct buf *early, struct ca_error *err) CA_MUST_CHECK;

/*
 * Copies an attached container's output (after `early`) to `out_fd` / `err_fd` until the
 * stream ends, i.e. until the container has stopped. 0, or a negative errno.
 */
int runtime_copy_output(int sock, const struct buf *early, bool tty, int out_fd, int err_fd);
/* Sets the container's terminal size. */
int runtime_resize(struct runtime *rt, const char *id, unsigned rows, unsigned cols,
                   struct ca_error *err) CA_MUST_CHECK;

/* Creates an exec of `cmd` as `user` ("1000:1000") in a running container, with a terminal. */
int runtime_exec_create(struct runtime *rt, const char *id, const char *user,
                        const char *const *cmd, const char *const *env, char exec_id[65],
                        struct ca_error *err) CA_MUST_CHECK;
/* Starts it and returns its terminal stream (as runtime_attach). */
int runtime_exec_start(struct runtime *rt, const char *exec_id, int *ret_fd, struct buf *early,
                       struct ca_error *err) CA_MUST_CHECK;
int runtime_exec_resize(struct runtime *rt, const char *exec_id, unsigned rows, unsigned cols,
                        struct ca_error *err) CA_MUST_CHECK;
/* The exec's exit status once it has ended. */
int runtime_exec_status(struct runtime *rt, const char *exec_id, int *exit_code,
                        struct ca_error *err) CA_MUST_CHECK;

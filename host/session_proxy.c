/* SPDX-License-Identifier: MIT */
/*
 * The proxy mode's network and sidecar (session.h, docs/running-agents.md "Network"): an
 * internal network named after the session whose only other member is the sidecar, a container
 * of the agent image running `egress-proxy run` on the session's rendered proxy
 * directory, connected also to the egress network. The sidecar records its events in the
 * host's log (mounted) with the session's id.
 */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "cleanup.h"
#include "clock.h"
#include "error.h"
#include "image.h"
#include "json.h"
#include "runtime/runtime.h"
#include "session.h"

#define SIDECAR_RUN "/run/coding-agents-proxy"
#define SIDECAR_EVENTS SIDECAR_RUN "/events.log"
#define SIDECAR_MEMORY ((int64_t) 512 << 20)
#define SIDECAR_PIDS 256
/* squid and dnsmasq start in well under a second; a slow engine gets a minute. */
#define SIDECAR_READY_MS 60000

/* dnsmasq binds port 53, squid and dnsmasq drop to their users, the run directory is handed
 * to squid's user, and `egress-proxy run` stops squid (another UID) at the end. */
static const char *const sidecar_caps[] = {"CHOWN", "DAC_OVERRIDE", "KILL", "NET_BIND_SERVICE", "SETGID",
                                           "SETUID", NULL};

/* Reads the sidecar's (multiplexed) output until "proxy ready", its end, or the deadline. */
static int wait_ready(int fd, struct buf *seen, struct ca_error *err)
{
        int64_t deadline = clock_monotonic_ms() + SIDECAR_READY_MS;

        for (;;) {
                struct pollfd p = {.fd = fd, .events = POLLIN};
                int64_t left = deadline - clock_monotonic_ms();
                char chunk[4096];
                ssize_t n;

                if (seen->len && memmem(seen->data, seen->len, "proxy ready", 11))
                        return 0;
                if (left <= 0)
                        return ca_error_setx(err, ETIMEDOUT,
                                             "the egress proxy did not come up within %d s",
                                             SIDECAR_READY_MS / 1000);
                if (poll(&p, 1, (int) left) < 0) {
                        if (errno == EINTR)
                                continue;
                        return ca_error_set(err, errno, "poll");
                }
                n = read(fd, chunk, sizeof(chunk));
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        return ca_error_setx(err, EIO, "the egress proxy stopped before it was "
                                                       "ready");
                if (buf_append(seen, chunk, (size_t) n) < 0)
                        return ca_error_setx(err, ENOMEM, "out of memory");
        }
}

/* The printable part of the sidecar's output, for an error message. */
static void print_output(const struct buf *seen)
{
        for (size_t i = 0; i < seen->len; i++) {
                unsigned char c = (unsigned char) seen->data[i];

                if (c == '\n' || (c >= 0x20 && c < 0x7f))
                        (void) fputc(c, stderr);
        }
}

int session_proxy_start(struct runtime *rt, const struct session_proxy_opts *o, char *url,
                        size_t url_size, struct ca_error *err)
{
        char name[CAP_SESSION_MAX + 16], id[65];
        _cleanup_json_ json_t *labels = NULL;
        _cleanup_json_ json_t *info = NULL;
        _cleanup_json_ json_t *net = NULL;
        const char *subnet;
        _cleanup_buf_ struct buf seen = BUF_INIT;
        _cleanup_close_ int fd = -1;
        const char *ip;
        int r;

        int64_t t0 = clock_monotonic_ms(), t_net, t_created, t_started;

        session_proxy_name(o->session, name, sizeof(name));
        labels = json_pack("{s:s, s:s}", RUNTIME_LABEL_SESSION, o->session, RUNTIME_LABEL_MODE,
                           "proxy");
        if (!labels)
                return ca_error_setx(err, ENOMEM, "out of memory");
        r = runtime_network_create(rt, o->session, true, labels, err);
        if (r < 0)
                return ca_error_prefix(err, "creating the session's network");
        /* squid listens on the session's network only (not on the egress network, where
         * other containers could use it): its subnet, which the engine chose. */
        r = runtime_network_inspect(rt, o->session, &net, err);
        if (r < 0)
                return ca_error_prefix(err, "inspecting the session's network");
        subnet = json_string_value(json_object_get(
                json_array_get(json_object_get(json_object_get(net, "IPAM"), "Config"), 0),
                "Subnet"));
        if (!subnet || !strchr(subnet, '/') || strchr(subnet, ':') || strlen(subnet) > 18)
                return ca_error_setx(err, EPROTO, "the session's network has no IPv4 subnet");
        t_net = clock_monotonic_ms();
        {
                const char *const entry[] = {IMAGE_BIN_DIR "/egress-proxy", NULL};
                static const char events_log[] = SIDECAR_EVENTS;
                const char *const cmd[] = {"run",          "--dir",    SESSION_PROXY_ROOT,
                                           "--session",    o->session, "--events-log",
                                           events_log,     "--listen-subnet", subnet, NULL};
                const char *const env[] = {"CODING_AGENTS_CONFIG_DIR=" SIDECAR_RUN, NULL};
                const struct runtime_mount mounts[] = {
                        {o->proxy_dir, SESSION_PROXY_ROOT, true},
                        {o->events_log, SIDECAR_EVENTS, false},
                };
                const struct runtime_tmpfs tmpfs[] = {
                        {SIDECAR_RUN, "mode=0700,size=16m"},
                        {SESSION_PROXY_ROOT "/run", "mode=0755,size=256m"},
                        {"/tmp", "mode=1777,size=16m"},
                };
                const struct runtime_spec spec = {
                        .name = name,
                        .image = o->image,
                        .entrypoint = entry,
                        .cmd = cmd,
                        .env = env,
                        .labels = labels,
                        .mounts = mounts,
                        .nmounts = CA_ELEMENTSOF(mounts),
                        .tmpfs = tmpfs,
                        .ntmpfs = CA_ELEMENTSOF(tmpfs),
                        .cap_add = sidecar_caps,
                        .seccomp_json = o->seccomp_json,
                        .network = o->session,
                        .workdir = "/",
                        .cgroup_parent = o->cgroup_parent,
                        .memory_bytes = SIDECAR_MEMORY,
                        .pids_limit = SIDECAR_PIDS,
                };

                r = runtime_create(rt, &spec, id, err);
                if (r < 0)
                        return ca_error_prefix(err, "creating the egress proxy");
        }
        r = runtime_network_connect(rt, o->egress_network, id, err);
        if (r < 0)
                return ca_error_prefix(err, "connecting the egress proxy to network '%s'",
                                       o->egress_network);
        t_created = clock_monotonic_ms();
        r = runtime_attach(rt, id, false, &fd, &seen, err);
        if (r == 0)
                r = runtime_start(rt, id, err);
        t_started = clock_monotonic_ms();
        if (r == 0)
                r = wait_ready(fd, &seen, err);
        if (r == 0 && secure_getenv("CODING_AGENTS_TIMING"))
                (void) fprintf(stderr,
                               "coding-agents: timing: proxy network %" PRId64 " ms create %" PRId64
                               " ms start %" PRId64 " ms ready %" PRId64 " ms\n",
                               t_net - t0, t_created - t_net, t_started - t_created,
                               clock_monotonic_ms() - t_started);
        if (r < 0) {
                print_output(&seen);
                return -EIO;
        }
        r = runtime_inspect(rt, id, &info, err);
        if (r < 0)
                return r;
        ip = json_string_value(json_object_get(
                json_object_get(json_object_get(json_object_get(info, "NetworkSettings"),
                                                "Networks"),
                                o->session),
                "IPAddress"));
        if (!ip || !*ip || strchr(ip, ':') || strlen(ip) > 15)
                return ca_error_setx(err, EPROTO, "the egress proxy has no address on the "
                                                  "session's network");
        (void) snprintf(url, url_size, "http://%s:%u", ip, o->port);
        return 0;
}

/* SPDX-License-Identifier: MIT */
/* doctor --active: our own negative test, run inside a throwaway session (doctor.h). */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "auditreport.h"
#include "buf.h"
#include "cleanup.h"
#include "digest.h"
#include "doctor.h"
#include "dsse.h"
#include "error.h"
#include "fileio.h"
#include "image.h"
#include "manifest.h"
#include "paths.h"
#include "runtime/runtime.h"
#include "session.h"
#include "spawn.h"
#include "textsafe.h"

extern char **environ;

#define MAX_PROBE_OUTPUT ((size_t) 1 << 20)

/* Whom the probe runs as: every UID a session has that is not root. */
static const struct probe_user {
        const char *name;
        const char *user; /* uid:gid for the engine */
} users[] = {
        {"agentuser", "1000:1000"},
        {"agentcli", "1001:1001"},
        {"mcp-server", "61000:61000"},
        {"helper", "57000:57000"},
};

/* Runs this binary with `argv` (our own environment: it is the user's own command), its
 * output in `out`. Returns its exit status. */
static int self(char *const *argv, struct buf *out, struct ca_error *err)
{
        _cleanup_free_ char *exe = cli_sibling("coding-agents");
        struct spawn_req req = SPAWN_REQ_INIT;

        if (!exe)
                return ca_error_setx(err, ENOMEM, "cannot find this binary");
        req.path = exe;
        req.argv = argv;
        req.envp = environ;
        req.stderr_fd = STDERR_FILENO;
        return spawn_capture(&req, 4096, out, err);
}

/* Launches the throwaway session: its name in `session`. */
static int launch(struct doctor *d, const char *workspace, char *session, size_t size,
                  struct ca_error *err)
{
        static const char *const agents[] = {"claude", "codex", "copilot"};

        for (size_t i = 0; i < CA_ELEMENTSOF(agents); i++) {
                const char *agent = d->agent ? d->agent : agents[i];
                char *argv[DOCTOR_MAX_LAUNCH_ARGS + 16];
                _cleanup_buf_ struct buf out = BUF_INIT;
                size_t n = 0;
                int r;

                argv[n++] = "coding-agents";
                argv[n++] = "launch";
                argv[n++] = "--network";
                argv[n++] = (char *) d->network;
                argv[n++] = "--ignore-workspace-config";
                argv[n++] = "--image";
                argv[n++] = (char *) d->image;
                if (d->endpoint) {
                        argv[n++] = "--endpoint";
                        argv[n++] = (char *) d->endpoint;
                }
                for (size_t k = 0; k < d->nlaunch_args; k++)
                        argv[n++] = d->launch_args[k];
                argv[n++] = (char *) agent;
                argv[n++] = (char *) workspace;
                argv[n++] = "--";
                argv[n++] = "bash";
                argv[n++] = "-c";
                argv[n++] = "exec sleep 600";
                argv[n] = NULL;
                r = self(argv, &out, err);
                if (r < 0)
                        return r;
                while (out.len && (out.data[out.len - 1] == '\n'))
                        out.len--;
                if (r == 0 && out.len > 0 && out.len < size) {
                        memcpy(session, out.data, out.len);
                        session[out.len] = '\0';
                        return 0;
                }
                if (d->agent)
                        break;
        }
        return ca_error_setx(err, ENOENT,
                             "cannot launch a session to probe (needs an agent login: claude, "
                             "codex or copilot; see the messages above)");
}

/* Runs the probe as `u` in the session; its result lines into `results`. Exit status or <0. */
static int probe_as(struct doctor *d, const char *session, const struct probe_user *u,
                    json_t *results, struct ca_error *err)
{
        static const char *const cmd[] = {IMAGE_BIN_DIR "/ca-probe", NULL};
        char env_session[CAP_SESSION_MAX + 32];
        const char *env[] = {env_session, NULL};
        char exec_id[65];
        _cleanup_buf_ struct buf out = BUF_INIT;
        _cleanup_close_ int fd = -1;
        int code = -1;
        size_t start = 0;

        (void) snprintf(env_session, sizeof(env_session), "CODING_AGENTS_SESSION=%s", session);
        if (runtime_exec_create(d->rt, session, u->user, cmd, env, exec_id, err) < 0 ||
            runtime_exec_start(d->rt, exec_id, &fd, &out, err) < 0)
                return -EIO;
        if (fileio_read_fd(fd, MAX_PROBE_OUTPUT, &out, err) < 0)
                return -EIO;
        if (runtime_exec_status(d->rt, exec_id, &code, err) < 0)
                return -EIO;
        /* A terminal's lines: "\r\n"; each is one JSON object. */
        for (size_t i = 0; i <= out.len; i++) {
                if (i < out.len && out.data[i] != '\n')
                        continue;
                {
                        size_t len = i - start;
                        json_t *line;

                        while (len && (out.data[start + len - 1] == '\r'))
                                len--;
                        line = len ? json_loadb(out.data + start, len, 0, NULL) : NULL;
                        if (json_is_object(line))
                                (void) json_array_append(results, line);
                        json_decref(line);
                }
                start = i + 1;
        }
        return code;
}

/* One check per UID from its results. */
static void judge(struct doctor *d, const struct probe_user *u, int code, const json_t *results)
{
        char name[64], missed[512] = "";
        size_t i, held = 0, off = 0;
        json_t *r;

        (void) snprintf(name, sizeof(name), "active-%s", u->name);
        json_array_foreach(results, i, r) {
                if (json_is_true(json_object_get(r, "blocked"))) {
                        held++;
                } else if (off < sizeof(missed)) {
                        int n = snprintf(missed + off, sizeof(missed) - off, "%s%s", off ? "; " : "",
                                         json_string_value(json_object_get(r, "probe")));
                        off += n > 0 ? (size_t) n : 0;
                }
        }
        if (json_array_size(results) < 20 || code < 0 || code > 1)
                doctor_report(d, name, V_FAIL, "coding-agents image build (the image carries "
                                               "the probe)",
                              "the probe did not run to the end as %s (exit %d, %zu results)",
                              u->name, code, json_array_size(results));
        else if (held != json_array_size(results))
                doctor_report(d, name, V_FAIL,
                              "report it: a session let this through (docs/security-model.md)",
                              "as %s (%s) NOT blocked: %s", u->name, u->user, missed);
        else
                doctor_report(d, name, V_OK, NULL, "as %s (%s): all %zu attempts blocked",
                              u->name, u->user, held);
}

/* Signs the results like an audit report: an in-toto Statement in a DSSE envelope. */
static int sign(struct doctor *d, const char *session, struct ca_error *err)
{
        _cleanup_free_ char *key = paths_join(d->ctx->config_root, "audit.key");
        _cleanup_free_ char *def = paths_join(d->ctx->config_root, "doctor-active.json");
        _cleanup_json_ json_t *st = NULL, *env = NULL;
        _cleanup_buf_ struct buf body = BUF_INIT, out = BUF_INIT;
        uint8_t md[DIGEST_SHA256_LEN];
        char host[HOST_NAME_MAX + 1] = "unknown", hex[DIGEST_SHA256_HEX_LEN + 1];
        char subject[HOST_NAME_MAX + 16];

        if (!key || !def)
                return ca_error_setx(err, ENOMEM, "out of memory");
        (void) gethostname(host, sizeof(host) - 1);
        (void) snprintf(subject, sizeof(subject), "host/%s", host);
        if (ca_json_canonical(d->probes, &body, err) < 0 ||
            digest_sha256(body.data, body.len, md) < 0)
                return -EIO;
        digest_hex(md, sizeof(md), hex);
        st = json_pack("{s:s, s:[{s:s, s:{s:s}}], s:s, s:{s:s, s:s, s:s, s:O, s:O}}", "_type",
                       "https://in-toto.io/Statement/v1", "subject", "name", subject, "digest",
                       "sha256", hex, "predicateType", AUDITREPORT_PROBE_PREDICATE_TYPE, "predicate",
                       "session", session, "network", d->network, "image", d->image, "checks",
                       d->checks, "probes", d->probes);
        buf_reset(&body);
        if (!st || ca_json_canonical(st, &body, err) < 0 ||
            dsse_sign(key, DSSE_INTOTO_TYPE, body.data, body.len, &env, err) < 0 ||
            ca_json_canonical(env, &out, err) < 0 || buf_append_char(&out, '\n') < 0 ||
            fileio_write_atomic(d->output ? d->output : def, out.data, out.len, 0644, err) < 0)
                return err->code ? -EIO : ca_error_setx(err, ENOMEM, "out of memory");
        if (digest_sha256(out.data, out.len, md) == 0)
                digest_hex(md, sizeof(md), d->report_sha256);
        doctor_report(d, "active-report", V_OK, NULL, "signed report: %s",
                      text_escape_tmp(d->output ? d->output : def));
        return 0;
}

void doctor_active(struct doctor *d)
{
        char workspace[] = "/tmp/coding-agents-doctor.XXXXXX";
        char session[CAP_SESSION_MAX + 1] = "";
        struct ca_error err = {0};

        d->probes = json_array();
        if (!d->rt || !d->probes) {
                doctor_report(d, "active", V_FAIL, "fix the engine check first",
                              "not run: no usable engine");
                return;
        }
        if (!mkdtemp(workspace)) {
                doctor_report(d, "active", V_FAIL, NULL, "cannot make a workspace: %s",
                              strerror(errno));
                return;
        }
        if (launch(d, workspace, session, sizeof(session), &err) < 0) {
                doctor_report(d, "active", V_FAIL, "log in to an agent CLI on this host",
                              "%s", err.msg);
        } else {
                for (size_t i = 0; i < CA_ELEMENTSOF(users); i++) {
                        json_t *results = json_array();
                        int code = results ? probe_as(d, session, &users[i], results, &err)
                                           : -ENOMEM;

                        judge(d, &users[i], code, results);
                        (void) json_array_append_new(
                                d->probes, json_pack("{s:s, s:s, s:i, s:o}", "user", users[i].name,
                                                     "uid", users[i].user, "exit", code,
                                                     "results",
                                                     results ? results : json_array()));
                        ca_error_clear(&err);
                }
                {
                        char *argv[] = {"coding-agents", "kill", session, "--endpoint",
                                        (char *) d->endpoint, NULL};
                        _cleanup_buf_ struct buf out = BUF_INIT;

                        if (!d->endpoint)
                                argv[3] = NULL;
                        if (self(argv, &out, &err) != 0)
                                doctor_report(d, "active-cleanup", V_WARN,
                                              "coding-agents kill <session>",
                                              "the throwaway session %s was not removed: %s",
                                              session, err.msg);
                }
                if (sign(d, session, &err) < 0)
                        doctor_report(d, "active-report", V_FAIL, NULL,
                                      "cannot sign the report: %s", err.msg);
        }
        (void) rmdir(workspace);
}

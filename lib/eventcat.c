/* SPDX-License-Identifier: MIT */
#include "eventcat.h"

#include <string.h>

#include "macro.h"

#define F(...) ((const char *const[]){__VA_ARGS__, NULL})

static const char *const engine_facts[] = {
        "product", "version", "api_version", "os", "seccomp", "apparmor", "rootless", "userns",
        "cgroup_version", "cgroup_driver", "endpoint", "reason", NULL};

static const char *const integrity[] = {"profile", "binary", "result", "release", "version",
                                        "problems", "checked", "first", NULL};

static const struct eventcat_entry catalogue[AUDIT_TYPE_MAX] = {
        [AUDIT_SESSION_CONFIG] = {"host", F("manifest_sha256", "agents", "servers", "network",
                                            "tree")},
        [AUDIT_CAPABILITIES_ISSUED] = {"broker", F("stub", "cap_id", "secrets", "uid", "expiry",
                                                   "max_uses", "cgroup")},
        [AUDIT_CAPABILITY_REDEEMED] = {"broker", F("stub", "cap_id", "secrets", "uid", "pid",
                                                   "use", "pidfd_exact")},
        [AUDIT_CAPABILITY_DENIED] = {"broker",
                                     F("reason", "op", "stub", "cap_id", "secret", "uid", "pid"),
                                     true},
        [AUDIT_CAPABILITY_REVOKED] = {"broker", F("scope", "cap_id")},
        [AUDIT_BROKER_START] = {"broker", F("pid", "sessions")},
        [AUDIT_BROKER_STOP] = {"broker", F("pid")},
        [AUDIT_STORE_CHANGED] = {"broker", F("action", "name")},
        [AUDIT_HELPER_START] = {"helper", F("helper", "listen", "origin", "trust", "pins")},
        [AUDIT_HELPER_STOP] = {"helper", F("helper", "reason", "served", "status", "restarts",
                                           "restart_in_ms")},
        [AUDIT_HELPER_HEALTH] = {"helper", F("helper", "check", "status", "detail", "restarts",
                                             "upstream")},
        [AUDIT_HELPER_LIMIT] = {"helper", F("helper", "limit", "max"), true},
        [AUDIT_STUB_START] = {"launcher", F("name", "uid", "pid", "network")},
        [AUDIT_STUB_STOP] = {"launcher", F("name", "uid", "pid", "caller", "outcome", "reason",
                                           "status", "duration_ms"),
                             true},
        [AUDIT_PIN_MISMATCH] = {"helper", F("helper", "origin", "presented")},
        [AUDIT_PROXY_DENIED] = {"egress-proxy", F("client", "method", "host", "port", "address",
                                                  "rule", "status"),
                                true},
        [AUDIT_PROXY_LIMIT] = {"egress-proxy", F("client", "method", "host", "port", "limit",
                                                 "action", "max", "size", "received", "status",
                                                 "rule"),
                               true},
        [AUDIT_DNS_DENIED] = {"egress-proxy", F("client", "name", "reason", "type", "rule"), true},
        [AUDIT_INTEGRITY_OK] = {"host", integrity},
        [AUDIT_INTEGRITY_FAILED] = {"host", integrity},
        [AUDIT_ENV_DETECT] = {"host", F("profile", "binary", "config_root", "event_log", "release",
                                        "version", "prefix", "command")},
        [AUDIT_RUNTIME_BLOCKED] = {"host", engine_facts},
        [AUDIT_OVERRIDE_USED] = {"host", F("override", "dirty_files", "source", "version",
                                           "from")},
        [AUDIT_AUDIT_AGENT] = {"host", F("subject", "events", "first_seq", "last_seq",
                                         "report_sha256", "key_id", "output")},
        [AUDIT_TRUST_CHANGED] = {"host", F("action", "name", "kind", "count")},
        [AUDIT_HELPER_DENIED] = {"helper", F("helper", "reason", "method", "path", "uid"), true},
        [AUDIT_SESSION_START] = {"host", F("agent", "mode", "container", "image", "image_id",
                                           "image_inputs", "agent_init_sha256", "workspace",
                                           "manifest_sha256")},
        [AUDIT_SESSION_STOP] = {"host", F("container", "exit_status", "by", "existed")},
        [AUDIT_SESSION_REMOVED] = {"host", F("container_existed", "left")},
        [AUDIT_WORKSPACE_CONFIG_APPROVED] = {"host", F("path", "sha256", "action")},
        [AUDIT_WORKSPACE_CONFIG_REFUSED] = {"host", F("path", "sha256", "reason", "message")},
        [AUDIT_WORKSPACE_GIT_CHANGED] = {"host", F("workspace", "changed")},
        [AUDIT_PROXY_LOG_MALFORMED] = {"egress-proxy", F("reason", "lines", "total", "rule"),
                                       true},
        [AUDIT_CREDENTIAL_UPDATED] = {"broker", F("stub", "cap_id", "secret", "uid", "by",
                                                  "file", "written", "reason")},
        [AUDIT_CREDENTIAL_REFRESH] = {"helper", F("helper", "trigger", "ok", "status",
                                                  "expires_ms", "written_back",
                                                  "write_back_error", "reason")},
        [AUDIT_MODEL_USAGE] = {"helper", F("helper", "vendor", "requests", "bytes_up",
                                           "bytes_down", "status", "refreshes",
                                           "refresh_failures")},
        [AUDIT_EXEC_ROUTED] = {"exec-guard", F("program", "path"), true},
        [AUDIT_EXEC_DENIED] = {"exec-guard", F("program", "path", "reason"), true},
        [AUDIT_INSTALL_REFUSED] = {"installer", F("installer", "bundle", "reason")},
        [AUDIT_SESSION_ENFORCEMENT] = {"host", F("user", "seccomp", "apparmor",
                                                 "no_new_privileges", "capabilities",
                                                 "read_only_root", "network", "cgroup_parent",
                                                 "memory_bytes", "pids_limit")},
        [AUDIT_DOCTOR] = {"host", F("active", "ok", "warn", "fail", "failed_checks",
                                    "report_sha256")},
        [AUDIT_STATE_LOADED] = {"host", F("agent", "workspace", "files", "bytes", "refused")},
        [AUDIT_STATE_SAVED] = {"host", F("agent", "workspace", "saved", "files", "bytes",
                                         "refused", "reason")},
        [AUDIT_STATE_REFUSED] = {"host", F("agent", "path", "reason", "where")},
        [AUDIT_IMAGE_PULLED] = {"host", F("ref", "digest", "signer", "image_id")},
        [AUDIT_IMAGE_REFUSED] = {"host", F("ref", "digest", "reason")},
        [AUDIT_WORKSPACE_OBJECTS] = {"host", F("workspace", "imported", "kept", "reason", "while_running")},
};

static const char *const aggregation[] = {"suppressed", "interval_s", "summary", NULL};

const struct eventcat_entry *eventcat_get(enum audit_type type)
{
        if ((unsigned) type >= AUDIT_TYPE_MAX || !catalogue[type].fields)
                return NULL;
        return &catalogue[type];
}

static bool listed(const char *const *list, const char *name)
{
        for (; *list; list++) {
                if (strcmp(*list, name) == 0)
                        return true;
        }
        return false;
}

bool eventcat_field_known(enum audit_type type, const char *name)
{
        const struct eventcat_entry *e = eventcat_get(type);

        return e && (listed(e->fields, name) || (e->aggregated && listed(aggregation, name)));
}

const char *eventcat_unknown_field(enum audit_type type, const json_t *fields)
{
        const char *key;
        const json_t *v;

        if (!json_is_object(fields))
                return NULL;
        json_object_foreach((json_t *) fields, key, v) {
                if (!eventcat_field_known(type, key))
                        return key;
        }
        return NULL;
}

json_t *eventcat_json(void)
{
        json_t *all = json_array();

        for (int t = 0; all && t < AUDIT_TYPE_MAX; t++) {
                const struct eventcat_entry *e = eventcat_get((enum audit_type) t);
                json_t *fields = json_array();
                json_t *o;

                if (!e || !fields) {
                        json_decref(fields);
                        json_decref(all);
                        return NULL;
                }
                for (const char *const *f = e->fields; *f; f++)
                        (void) json_array_append_new(fields, json_string(*f));
                for (const char *const *f = aggregation; e->aggregated && *f; f++)
                        (void) json_array_append_new(fields, json_string(*f));
                o = json_pack("{s:s, s:s, s:o, s:b}", "type", audit_type_name((enum audit_type) t),
                              "by", e->by, "fields", fields, "aggregated", e->aggregated);
                if (!o || json_array_append_new(all, o) < 0) {
                        json_decref(all);
                        return NULL;
                }
        }
        return all;
}

/* SPDX-License-Identifier: MIT */
#include "auditreport.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "audit.h"
#include "buf.h"
#include "cleanup.h"
#include "digest.h"
#include "error.h"
#include "lines.h"
#include "textsafe.h"

/* What an event of a type adds to the predicate. */
enum kind {
        ONE,   /* the predicate's `slot` is the event's fields (the last one wins) */
        LIST,  /* appended to the list at `slot`: {"type", "ts", ...fields} */
        COUNT, /* counted under denials[type] (or exec[..]): total and per value of `key` */
        SERVER /* servers[slot], one entry per `key` value, with a count of starts */
};

static const struct rule {
        enum audit_type type;
        enum kind kind;
        const char *slot;
        const char *key;
} rules[] = {
        {AUDIT_ENV_DETECT, ONE, "environment", NULL},
        {AUDIT_SESSION_CONFIG, ONE, "config", NULL},
        {AUDIT_SESSION_START, ONE, "launch", NULL},
        {AUDIT_SESSION_ENFORCEMENT, ONE, "enforcement", NULL},
        {AUDIT_SESSION_STOP, ONE, "stop", NULL},
        {AUDIT_SESSION_REMOVED, ONE, "removed", NULL},
        {AUDIT_INTEGRITY_OK, LIST, "integrity", NULL},
        {AUDIT_INTEGRITY_FAILED, LIST, "integrity", NULL},
        {AUDIT_RUNTIME_BLOCKED, LIST, "runtime_gate", NULL},
        {AUDIT_OVERRIDE_USED, LIST, "overrides", NULL},
        {AUDIT_WORKSPACE_CONFIG_REFUSED, LIST, "workspace", NULL},
        {AUDIT_WORKSPACE_GIT_CHANGED, LIST, "workspace", NULL},
        {AUDIT_WORKSPACE_OBJECTS, LIST, "workspace", NULL},
        {AUDIT_CAPABILITIES_ISSUED, LIST, "capabilities_issued", NULL},
        {AUDIT_CAPABILITY_REDEEMED, LIST, "capabilities_redeemed", NULL},
        {AUDIT_CAPABILITY_REVOKED, LIST, "capabilities_revoked", NULL},
        {AUDIT_PIN_MISMATCH, LIST, "pin_mismatches", NULL},
        {AUDIT_HELPER_HEALTH, LIST, "helper_health", NULL},
        {AUDIT_HELPER_STOP, LIST, "helper_stops", NULL},
        {AUDIT_CREDENTIAL_REFRESH, LIST, "credentials", NULL},
        {AUDIT_CREDENTIAL_UPDATED, LIST, "credentials", NULL},
        {AUDIT_MODEL_USAGE, LIST, "model_usage", NULL},
        {AUDIT_STATE_LOADED, LIST, "state", NULL},
        {AUDIT_STATE_SAVED, LIST, "state", NULL},
        {AUDIT_STATE_REFUSED, LIST, "state", NULL},
        {AUDIT_STUB_START, SERVER, "stubs", "name"},
        {AUDIT_HELPER_START, SERVER, "helpers", "helper"},
        {AUDIT_CAPABILITY_DENIED, COUNT, "denials", "reason"},
        {AUDIT_HELPER_DENIED, COUNT, "denials", "reason"},
        {AUDIT_HELPER_LIMIT, COUNT, "denials", "limit"},
        {AUDIT_PROXY_DENIED, COUNT, "denials", "rule"},
        {AUDIT_PROXY_LIMIT, COUNT, "denials", "limit"},
        {AUDIT_DNS_DENIED, COUNT, "denials", "reason"},
        {AUDIT_PROXY_LOG_MALFORMED, COUNT, "denials", "reason"},
        {AUDIT_EXEC_ROUTED, COUNT, "exec", "program"},
        {AUDIT_EXEC_DENIED, COUNT, "exec", "program"},
};

struct acc {
        const char *session;
        json_t *p;
        struct digest_ctx *subject;
        uint64_t events;
        json_t *first; /* {"seq", "prev", "line_sha256", "ts"} */
        json_t *last;
};

static const struct rule *rule_of(const char *type)
{
        int t = audit_type_from_name(type);

        for (size_t i = 0; t >= 0 && i < CA_ELEMENTSOF(rules); i++) {
                if ((int) rules[i].type == t)
                        return &rules[i];
        }
        return NULL;
}

/* The object at p[slot], made when missing. */
static json_t *slot_object(json_t *p, const char *slot)
{
        json_t *o = json_object_get(p, slot);

        if (!o && json_object_set_new(p, slot, json_object()) == 0)
                o = json_object_get(p, slot);
        return o;
}

static int add_int(json_t *o, const char *key, json_int_t n)
{
        json_t *v = json_object_get(o, key);

        return json_object_set_new(o, key, json_integer(json_integer_value(v) + n));
}

/* A count event: 1 (or, for a summary, none) plus what it says was suppressed. */
static int count(json_t *p, const struct rule *r, const struct audit_record *rec)
{
        const json_t *f = rec->fields;
        json_int_t n = (json_is_true(json_object_get(f, "summary")) ? 0 : 1) +
                       json_integer_value(json_object_get(f, "suppressed"));
        const char *value = json_string_value(json_object_get(f, r->key));
        json_t *o = slot_object(slot_object(p, r->slot), rec->type);
        json_t *by = o ? slot_object(o, "by") : NULL;

        /* A summary of the proxy's names its key "rule", whatever the type. */
        if (!value)
                value = json_string_value(json_object_get(f, "rule"));
        if (!by || add_int(o, "total", n) < 0 || add_int(by, value ? value : "?", n) < 0)
                return -ENOMEM;
        return 0;
}

static int server(json_t *p, const struct rule *r, const struct audit_record *rec)
{
        const char *name = json_string_value(json_object_get(rec->fields, r->key));
        json_t *servers = slot_object(p, "servers");
        json_t *list = servers ? slot_object(servers, r->slot) : NULL;
        json_t *entry = list && name ? json_object_get(list, name) : NULL;

        if (!list)
                return -ENOMEM;
        if (!name)
                return 0;
        if (!entry) {
                entry = json_deep_copy(rec->fields);
                if (!entry || json_object_set_new(list, name, entry) < 0)
                        return -ENOMEM;
                (void) json_object_del(entry, r->key);
                (void) json_object_del(entry, "pid");
        }
        return add_int(entry, "starts", 1);
}

static int list_append(json_t *p, const struct rule *r, const struct audit_record *rec)
{
        json_t *list = json_object_get(p, r->slot);
        json_t *e = json_deep_copy(rec->fields ? rec->fields : json_object());

        if (!list && json_object_set_new(p, r->slot, list = json_array()) < 0)
                list = NULL;
        if (!list || !e || json_object_set_new(e, "type", json_string(rec->type)) < 0 ||
            json_object_set_new(e, "ts", json_string(rec->ts)) < 0 ||
            json_array_append_new(list, e) < 0) {
                json_decref(e);
                return -ENOMEM;
        }
        return 0;
}

static int take(struct acc *a, const struct audit_record *rec, const char *line, size_t len,
                const char *hash)
{
        const struct rule *r = rule_of(rec->type);
        json_t *types = slot_object(a->p, "events");
        json_t *mark;
        int e = 0;

        if (digest_update(a->subject, line, len) < 0 || digest_update(a->subject, "\n", 1) < 0)
                return -ENOMEM;
        a->events++;
        mark = json_pack("{s:I, s:s, s:s, s:s}", "seq", (json_int_t) rec->seq, "prev", rec->prev,
                         "line_sha256", hash, "ts", rec->ts);
        if (!mark || !types || add_int(types, rec->type, 1) < 0) {
                json_decref(mark);
                return -ENOMEM;
        }
        if (!a->first)
                a->first = json_incref(mark);
        json_decref(a->last);
        a->last = mark;
        if (!r)
                return 0;
        switch (r->kind) {
        case ONE:
                e = json_object_set(a->p, r->slot, rec->fields ? (json_t *) rec->fields : json_null());
                break;
        case LIST:
                e = list_append(a->p, r, rec);
                break;
        case COUNT:
                e = count(a->p, r, rec);
                break;
        case SERVER:
                e = server(a->p, r, rec);
                break;
        }
        return e < 0 ? -ENOMEM : 0;
}

/* Reads the whole log: the session's events up to `upto`, the chain checked throughout. */
static int read_log(int fd, struct acc *a, uint64_t upto, json_t **head, struct ca_error *err)
{
        char prev[DIGEST_SHA256_HEX_LEN + 1] = "0000000000000000000000000000000000000000000000000000000000000000";
        char hash[DIGEST_SHA256_HEX_LEN + 1];
        struct lines lr;
        const char *line;
        size_t len;
        bool terminated;
        uint64_t n = 0;
        int r;

        lines_init(&lr, fd, AUDIT_MAX_LINE);
        while ((r = lines_next(&lr, &line, &len, &terminated, err)) > 0) {
                struct audit_record rec = {0};

                n++;
                if (!terminated)
                        break; /* a fragment a crash left; the next writer cuts it off */
                r = audit_record_parse(line, len, &rec, err);
                if (r == 0 && (strcmp(rec.prev, prev) != 0 || rec.seq != n))
                        r = ca_error_setx(err, EBADMSG,
                                          "the event log's chain is broken between lines "
                                          "%" PRIu64 " and %" PRIu64
                                          " ('coding-agents events verify' says more)",
                                          n - 1, n);
                if (r == 0)
                        r = audit_line_hash(line, len, hash);
                if (r == 0 && rec.session && strcmp(rec.session, a->session) == 0 &&
                    (upto == 0 || rec.seq <= upto))
                        r = take(a, &rec, line, len, hash);
                audit_record_clear(&rec);
                if (r < 0) {
                        lines_clear(&lr);
                        return r == -ENOMEM ? ca_error_setx(err, ENOMEM, "out of memory") : r;
                }
                memcpy(prev, hash, sizeof(prev));
        }
        lines_clear(&lr);
        if (r < 0)
                return r;
        *head = json_pack("{s:I, s:s}", "seq", (json_int_t) (n - (n && !terminated)),
                          "line_sha256", prev);
        return *head ? 0 : ca_error_setx(err, ENOMEM, "out of memory");
}

/* A helper's start names no UID: its capability does (issued to the UID that redeems it). */
static void server_uids(json_t *p)
{
        json_t *helpers = json_object_get(json_object_get(p, "servers"), "helpers");
        const char *name;
        json_t *h, *cap;
        size_t i;

        json_object_foreach(helpers, name, h) {
                json_array_foreach(json_object_get(p, "capabilities_issued"), i, cap) {
                        const char *stub = json_string_value(json_object_get(cap, "stub"));

                        if (!json_object_get(h, "uid") && stub && strcmp(stub, name) == 0)
                                (void) json_object_set(h, "uid", json_object_get(cap, "uid"));
                }
        }
}

int auditreport_build(int fd, const char *session, uint64_t upto, json_t **ret,
                      struct ca_error *err)
{
        struct acc a = {.session = session, .p = json_object()};
        _cleanup_json_ json_t *head = NULL;
        uint8_t md[DIGEST_SHA256_LEN];
        char subject[DIGEST_SHA256_HEX_LEN + 1];
        char name[160];
        char ts[40];
        int r;

        a.subject = digest_sha256_new();
        if (!a.p || !a.subject) {
                json_decref(a.p);
                digest_free(a.subject);
                return ca_error_setx(err, ENOMEM, "out of memory");
        }
        r = read_log(fd, &a, upto, &head, err);
        if (r == 0 && a.events == 0)
                r = ca_error_setx(err, ENOENT, "the event log has no event of session '%s'",
                                  session);
        if (r < 0)
                digest_free(a.subject);
        else if (digest_final(a.subject, md) < 0) /* frees it */
                r = ca_error_setx(err, ENOMEM, "out of memory");
        if (r < 0) {
                json_decref(a.first);
                json_decref(a.last);
                json_decref(a.p);
                return r;
        }
        digest_hex(md, sizeof(md), subject);
        server_uids(a.p);
        (void) snprintf(name, sizeof(name), "session/%s", session);
        if (audit_format_ts(ts, sizeof(ts)) < 0)
                (void) snprintf(ts, sizeof(ts), "unknown");
        (void) json_object_set_new(a.p, "session", json_string(session));
        (void) json_object_set_new(
                a.p, "state",
                json_string(json_object_get(a.p, "stop") || json_object_get(a.p, "removed")
                                    ? "ended"
                                    : "live"));
        (void) json_object_set_new(a.p, "chain",
                                   json_pack("{s:o, s:o, s:O, s:I}", "first", a.first, "last",
                                             a.last, "log_head", head, "events",
                                             (json_int_t) a.events));
        (void) json_object_set_new(a.p, "generated",
                                   json_pack("{s:s, s:s, s:s}", "by", "coding-agents", "version",
                                             CA_VERSION, "ts", ts));
        *ret = json_pack("{s:s, s:[{s:s, s:{s:s}}], s:s, s:o}", "_type",
                         AUDITREPORT_STATEMENT_TYPE, "subject", "name", name, "digest", "sha256",
                         subject, "predicateType", AUDITREPORT_PREDICATE_TYPE, "predicate", a.p);
        return *ret ? 0 : ca_error_setx(err, ENOMEM, "out of memory");
}

bool auditreport_same(const json_t *a, const json_t *b)
{
        _cleanup_json_ json_t *x = json_deep_copy(a);
        _cleanup_json_ json_t *y = json_deep_copy(b);
        json_t *px = json_object_get(x, "predicate"), *py = json_object_get(y, "predicate");

        if (!px || !py)
                return false;
        (void) json_object_del(px, "generated");
        (void) json_object_del(py, "generated");
        /* The head is where the log ended when the report was made; it grows after. */
        (void) json_object_del(json_object_get(px, "chain"), "log_head");
        (void) json_object_del(json_object_get(py, "chain"), "log_head");
        return json_equal(x, y);
}

static const char *str(const json_t *o, const char *key)
{
        const char *v = json_string_value(json_object_get(o, key));

        return v ? v : "-";
}

static void print_counts(FILE *out, const char *title, const json_t *group)
{
        const char *type, *key;
        json_t *o, *n;

        json_object_foreach((json_t *) group, type, o) {
                (void) fprintf(out, "%s %s: %" JSON_INTEGER_FORMAT, title, type,
                               json_integer_value(json_object_get(o, "total")));
                json_object_foreach(json_object_get(o, "by"), key, n)
                        (void) fprintf(out, "  %s=%" JSON_INTEGER_FORMAT, text_escape_tmp(key),
                                       json_integer_value(n));
                (void) fputc('\n', out);
        }
}

void auditreport_print_text(const json_t *st, FILE *out)
{
        const json_t *p = json_object_get(st, "predicate");
        const json_t *launch = json_object_get(p, "launch");
        const json_t *env = json_object_get(p, "environment");
        const json_t *enf = json_object_get(p, "enforcement");
        const json_t *chain = json_object_get(p, "chain");
        const char *kind;
        json_t *v, *list;
        size_t i;

        (void) fprintf(out, "session:      %s (%s)\n", text_escape_tmp(str(p, "session")),
                       str(p, "state"));
        (void) fprintf(out, "first event:  %s\nlast event:   %s\n",
                       str(json_object_get(chain, "first"), "ts"),
                       str(json_object_get(chain, "last"), "ts"));
        (void) fprintf(out, "agent:        %s (%s)\nworkspace:    %s\n", str(launch, "agent"),
                       str(launch, "mode"), text_escape_tmp(str(launch, "workspace")));
        (void) fprintf(out, "release:      %s %s (%s)\n", str(env, "profile"),
                       str(env, "version"), text_escape_tmp(str(env, "binary")));
        (void) fprintf(out, "image:        %s %s\n", text_escape_tmp(str(launch, "image")),
                       str(launch, "image_id"));
        (void) fprintf(out, "manifest:     %s\n", str(launch, "manifest_sha256"));
        (void) fprintf(out, "enforcement:  seccomp %s, apparmor %s, no-new-privileges %s, "
                            "read-only root %s, network %s\n",
                       str(enf, "seccomp"), text_escape_tmp(str(enf, "apparmor")),
                       json_is_true(json_object_get(enf, "no_new_privileges")) ? "yes" : "no",
                       json_is_true(json_object_get(enf, "read_only_root")) ? "yes" : "no",
                       text_escape_tmp(str(enf, "network")));
        json_array_foreach(json_object_get(p, "integrity"), i, v)
                (void) fprintf(out, "integrity:    %s %s\n", str(v, "type"), str(v, "result"));
        json_array_foreach(json_object_get(p, "runtime_gate"), i, v)
                (void) fprintf(out, "runtime gate: blocked: %s\n", text_escape_tmp(str(v, "reason")));
        json_object_foreach(json_object_get(p, "servers"), kind, list) {
                const char *name;

                json_object_foreach(list, name, v)
                        (void) fprintf(out, "server:       %s %s (uid %" JSON_INTEGER_FORMAT
                                            ", %s)\n",
                                       kind, text_escape_tmp(name),
                                       json_integer_value(json_object_get(v, "uid")),
                                       text_escape_tmp(json_object_get(v, "origin")
                                                               ? str(v, "origin")
                                                               : str(v, "network")));
        }
        json_array_foreach(json_object_get(p, "capabilities_issued"), i, v)
                (void) fprintf(out, "capability:   issued %s for %s\n", str(v, "cap_id"),
                               text_escape_tmp(str(v, "stub")));
        (void) fprintf(out, "capabilities: %zu redeemed, %zu revoked\n",
                       json_array_size(json_object_get(p, "capabilities_redeemed")),
                       json_array_size(json_object_get(p, "capabilities_revoked")));
        print_counts(out, "denied", json_object_get(p, "denials"));
        print_counts(out, "exec", json_object_get(p, "exec"));
        (void) fprintf(out, "chain:        %" JSON_INTEGER_FORMAT " events, seq %" JSON_INTEGER_FORMAT
                            " (%s) .. %" JSON_INTEGER_FORMAT " (%s)\n",
                       json_integer_value(json_object_get(chain, "events")),
                       json_integer_value(json_object_get(json_object_get(chain, "first"), "seq")),
                       str(json_object_get(chain, "first"), "line_sha256"),
                       json_integer_value(json_object_get(json_object_get(chain, "last"), "seq")),
                       str(json_object_get(chain, "last"), "line_sha256"));
}

/* SPDX-License-Identifier: MIT */
/* coding-agents audit: a signed report of one session, its verification, and the audit key. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "audit.h"
#include "auditreport.h"
#include "buf.h"
#include "capability.h"
#include "cleanup.h"
#include "cli.h"
#include "digest.h"
#include "dsse.h"
#include "error.h"
#include "fileio.h"
#include "json.h"
#include "paths.h"
#include "session.h"
#include "textsafe.h"

static const char usage[] =
        "usage: coding-agents audit SESSION [--text] [-o FILE] [--log FILE]\n"
        "       coding-agents audit verify FILE [--pubkey KEY] [--log FILE | --no-log] [--text]\n"
        "       coding-agents audit key\n"
        "\n"
        "A signed report of one session, live or ended, made from the event log: an in-toto\n"
        "Statement in a DSSE envelope, signed with this host's audit key (Ed25519, made on\n"
        "first use as <config root>/audit.key, 0600). The report names the session, its times,\n"
        "the release or tree measurement, the image, the manifest, the enforcement the engine\n"
        "applied, every server, every capability issued, redeemed, denied and revoked,\n"
        "denials and limits, integrity and runtime-gate results, exec routing counts, and the\n"
        "log's chain hashes at the session's first and last event. Records audit-agent.\n"
        "\n"
        "  -o, --output FILE  write the envelope to FILE (default: standard output)\n"
        "      --text         print the report for people instead of the envelope\n"
        "      --log FILE     the event log (default: <config root>/security-events.log)\n"
        "\n"
        "verify checks the signature (with --pubkey: 64 hex digits or a file holding them;\n"
        "default: this host's key) and, where the event log is at hand, rebuilds the report\n"
        "from it and compares: a log edited after signing, or a report edited, fails.\n"
        "Exit status 0 when it holds, 1 when it does not, 2 for unreadable input.\n"
        "\n"
        "key prints the audit key's public half (hex) and its key id.\n";

#define MAX_REPORT ((size_t) 64 << 20)

struct audit_opts {
        const char *output;
        const char *log;
        const char *pubkey;
        bool text;
        bool no_log;
};

static int parse(int argc, char **argv, struct cli_ctx *ctx, struct audit_opts *o, int nargs)
{
        static const struct option opts[] = {
                {"help", no_argument, NULL, 'h'},   {"output", required_argument, NULL, 'o'},
                {"log", required_argument, NULL, 'l'}, {"pubkey", required_argument, NULL, 'k'},
                {"text", no_argument, NULL, 't'},   {"no-log", no_argument, NULL, 'n'},
                {0},
        };
        int c;

        optind = 0;
        while ((c = getopt_long(argc, argv, "ho:", opts, NULL)) != -1) {
                switch (c) {
                case 'h':
                        return cli_help(usage);
                case 'o':
                        o->output = optarg;
                        break;
                case 'l':
                        o->log = optarg;
                        break;
                case 'k':
                        o->pubkey = optarg;
                        break;
                case 't':
                        o->text = true;
                        break;
                case 'n':
                        o->no_log = true;
                        break;
                default:
                        return cli_usage_error(ctx, "unknown option");
                }
        }
        if (argc - optind != nargs)
                return cli_usage_error(ctx, "expected %d argument%s", nargs, nargs == 1 ? "" : "s");
        if (o->no_log && o->log)
                return cli_usage_error(ctx, "--log and --no-log exclude each other");
        return -1;
}

static char *key_path(const struct cli_ctx *ctx)
{
        return paths_join(ctx->config_root, "audit.key");
}

static int open_log(const struct cli_ctx *ctx, const char *file, struct ca_error *err)
{
        _cleanup_free_ char *path = file ? strdup(file) : paths_events_log(ctx->config_root);
        int fd;

        if (!path)
                return ca_error_setx(err, ENOMEM, "out of memory");
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW);
        if (fd < 0)
                return ca_error_set(err, errno, "cannot open the event log '%s'", path);
        return fd;
}

static void record(const struct cli_ctx *ctx, const json_t *st, const struct buf *envelope,
                   const char *keyid, const char *output)
{
        const json_t *chain = json_object_get(json_object_get(st, "predicate"), "chain");
        uint8_t md[DIGEST_SHA256_LEN];
        char hex[DIGEST_SHA256_HEX_LEN + 1];
        json_t *f;

        if (digest_sha256(envelope->data, envelope->len, md) < 0)
                return;
        digest_hex(md, sizeof(md), hex);
        f = json_pack("{s:s, s:O, s:O, s:O, s:s, s:s, s:s}", "subject",
                      json_string_value(json_object_get(json_object_get(st, "predicate"),
                                                        "session")),
                      "events", json_object_get(chain, "events"), "first_seq",
                      json_object_get(json_object_get(chain, "first"), "seq"), "last_seq",
                      json_object_get(json_object_get(chain, "last"), "seq"), "report_sha256", hex,
                      "key_id", keyid, "output", output ? output : "-");
        (void) session_emit(ctx->config_root, AUDIT_AUDIT_AGENT, NULL, f);
}

static int audit_report(int argc, char **argv, struct cli_ctx *ctx)
{
        struct audit_opts o = {0};
        _cleanup_free_ char *kpath = key_path(ctx);
        _cleanup_json_ json_t *st = NULL, *env = NULL;
        _cleanup_buf_ struct buf payload = BUF_INIT, out = BUF_INIT;
        _cleanup_close_ int fd = -1;
        struct ca_error err = {0};
        const char *session;
        int r = parse(argc, argv, ctx, &o, 1);

        if (r >= 0)
                return r;
        session = argv[optind];
        if (!capability_valid_session(session))
                return cli_usage_error(ctx, "'%s' is not a session name", session);
        if (!kpath)
                return cli_error("out of memory");
        fd = open_log(ctx, o.log, &err);
        if (fd < 0 || auditreport_build(fd, session, 0, &st, &err) < 0 ||
            ca_json_canonical(st, &payload, &err) < 0 ||
            dsse_sign(kpath, DSSE_INTOTO_TYPE, payload.data, payload.len, &env, &err) < 0 ||
            ca_json_canonical(env, &out, &err) < 0)
                return cli_fail(&err);
        if (buf_append_char(&out, '\n') < 0)
                return cli_error("out of memory");
        if (o.output && fileio_write_atomic(o.output, out.data, out.len, 0644, &err) < 0)
                return cli_fail(&err);
        record(ctx, st, &out,
               json_string_value(json_object_get(
                       json_array_get(json_object_get(env, "signatures"), 0), "keyid")),
               o.output);
        if (o.text)
                auditreport_print_text(st, stdout);
        else if (!o.output)
                (void) fwrite(out.data, 1, out.len, stdout);
        return cli_finish(CLI_OK);
}

/* The public key to verify with: --pubkey (hex, or a file holding it), else this host's. */
static int verify_key(const struct cli_ctx *ctx, const char *arg, uint8_t pub[DSSE_PUBKEY_LEN],
                      struct ca_error *err)
{
        _cleanup_free_ char *kpath = NULL;
        _cleanup_buf_ struct buf b = BUF_INIT;

        if (arg && dsse_parse_public(arg, pub) == 0)
                return 0;
        if (arg) {
                if (fileio_read_path(arg, 4096, &b, err) < 0)
                        return ca_error_prefix(err, "--pubkey");
                if (buf_append_char(&b, '\0') < 0)
                        return ca_error_setx(err, ENOMEM, "out of memory");
                if (dsse_parse_public(b.data, pub) < 0)
                        return ca_error_input(err, "--pubkey: '%s' does not hold a public key "
                                                   "(64 hex digits, as 'audit key' prints)",
                                              arg);
                return 0;
        }
        kpath = key_path(ctx);
        if (!kpath)
                return ca_error_setx(err, ENOMEM, "out of memory");
        if (dsse_key_public(kpath, false, pub, err) == -ENOENT)
                return ca_error_input(err, "this host has no audit key: pass the signer's with "
                                           "--pubkey");
        return err->code ? -EIO : 0;
}

/* Rebuilds the report from the log and compares. 1 when it matches, 0 when not (err says). */
static int against_log(const struct cli_ctx *ctx, const struct audit_opts *o, const json_t *st,
                       struct ca_error *err)
{
        const json_t *p = json_object_get(st, "predicate");
        const char *session = json_string_value(json_object_get(p, "session"));
        json_int_t last = json_integer_value(
                json_object_get(json_object_get(json_object_get(p, "chain"), "last"), "seq"));
        _cleanup_json_ json_t *again = NULL;
        _cleanup_close_ int fd = -1;
        int r;

        if (!session || last <= 0)
                return ca_error_input(err, "the statement is not a session audit report");
        fd = open_log(ctx, o->log, err);
        if (fd < 0)
                return fd;
        r = auditreport_build(fd, session, (uint64_t) last, &again, err);
        if (r == -ENOENT || r == -EBADMSG)
                return 0;
        if (r < 0)
                return r;
        if (!auditreport_same(st, again)) {
                (void) ca_error_setx(err, EBADMSG,
                                     "the report does not match the event log: the log was "
                                     "edited after signing, or the report says what the log "
                                     "does not");
                return 0;
        }
        return 1;
}

static bool is_string(const json_t *v, const char *want)
{
        const char *s = json_string_value(v);

        return s && strcmp(s, want) == 0;
}

static int audit_verify(int argc, char **argv, struct cli_ctx *ctx)
{
        struct audit_opts o = {0};
        _cleanup_json_ json_t *env = NULL, *st = NULL;
        _cleanup_buf_ struct buf payload = BUF_INIT;
        uint8_t pub[DSSE_PUBKEY_LEN];
        char keyid[DSSE_KEYID_HEX_LEN + 1];
        struct ca_error err = {0};
        const char *file;
        bool have_log;
        int r = parse(argc, argv, ctx, &o, 1);

        if (r >= 0)
                return r;
        file = argv[optind];
        if (ca_json_parse_file(file, MAX_REPORT, &env, &err) < 0)
                return cli_fail(&err);
        if (verify_key(ctx, o.pubkey, pub, &err) < 0)
                return cli_fail(&err);
        dsse_keyid(pub, keyid);
        r = dsse_verify(env, DSSE_INTOTO_TYPE, pub, &payload, &err);
        if (r == -EBADMSG) {
                (void) cli_error("%s: FAILED: %s", file, err.msg);
                return cli_finish(CLI_FAIL);
        }
        if (r < 0 || ca_json_parse(payload.data, payload.len, "the payload", &st, &err) < 0)
                return cli_fail(&err);
        if (!is_string(json_object_get(st, "_type"), AUDITREPORT_STATEMENT_TYPE) ||
            (!is_string(json_object_get(st, "predicateType"), AUDITREPORT_PREDICATE_TYPE) &&
             !is_string(json_object_get(st, "predicateType"), AUDITREPORT_PROBE_PREDICATE_TYPE))) {
                (void) cli_error("%s: not a session audit report or a doctor --active report",
                                 file);
                return cli_finish(CLI_USAGE);
        }
        have_log = false;
        /* A doctor's report is its own evidence: there is no log to rebuild it from. */
        if (is_string(json_object_get(st, "predicateType"), AUDITREPORT_PROBE_PREDICATE_TYPE))
                o.no_log = true;
        if (!o.no_log) {
                _cleanup_free_ char *def = paths_events_log(ctx->config_root);

                have_log = o.log || (def && access(def, F_OK) == 0);
        }
        if (have_log) {
                r = against_log(ctx, &o, st, &err);
                if (r < 0)
                        return cli_fail(&err);
                if (r == 0) {
                        (void) cli_error("%s: FAILED: %s", file,
                                         err.msg[0] ? err.msg
                                                    : "the event log no longer holds these "
                                                      "events intact");
                        return cli_finish(CLI_FAIL);
                }
        }
        (void) printf("ok: signed by audit key %s; %s\n", keyid,
                      have_log ? "matches the event log" : "no event log at hand (--no-log, or none here): "
                                                           "the signature only");
        if (o.text && !is_string(json_object_get(st, "predicateType"), AUDITREPORT_PROBE_PREDICATE_TYPE))
                auditreport_print_text(st, stdout);
        return cli_finish(CLI_OK);
}

static int audit_key(int argc, char **argv, struct cli_ctx *ctx)
{
        struct audit_opts o = {0};
        _cleanup_free_ char *kpath = key_path(ctx);
        uint8_t pub[DSSE_PUBKEY_LEN];
        char hex[2 * DSSE_PUBKEY_LEN + 1];
        char keyid[DSSE_KEYID_HEX_LEN + 1];
        struct ca_error err = {0};
        int r = parse(argc, argv, ctx, &o, 0);

        if (r >= 0)
                return r;
        if (!kpath)
                return cli_error("out of memory");
        if (dsse_key_public(kpath, true, pub, &err) < 0)
                return cli_fail(&err);
        digest_hex(pub, sizeof(pub), hex);
        dsse_keyid(pub, keyid);
        (void) printf("%s\n", hex);
        (void) fprintf(stderr, "key id %s (%s)\n", keyid, kpath);
        return cli_finish(CLI_OK);
}

int cmd_audit(int argc, char **argv, struct cli_ctx *ctx)
{
        if (argc < 2)
                return cli_usage_error(ctx, "missing SESSION (or verify, key)");
        if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)
                return cli_help(usage);
        if (strcmp(argv[1], "verify") == 0)
                return audit_verify(argc - 1, argv + 1, ctx);
        if (strcmp(argv[1], "key") == 0)
                return audit_key(argc - 1, argv + 1, ctx);
        return audit_report(argc, argv, ctx);
}

/* SPDX-License-Identifier: MIT */
/* coding-agents events verify|tail|types: read-only views of the security event log. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <unistd.h>

#include "audit.h"
#include "buf.h"
#include "cleanup.h"
#include "cli.h"
#include "error.h"
#include "eventcat.h"
#include "json.h"
#include "lines.h"
#include "parse.h"
#include "paths.h"
#include "textsafe.h"

static const char usage[] =
        "usage: coding-agents events verify [FILE]\n"
        "       coding-agents events tail [-f] [-n N] [--type TYPE] [--json] [FILE]\n"
        "       coding-agents events types [--json]\n"
        "\n"
        "The security event log (default: <config root>/security-events.log) is a chain of\n"
        "JSON lines, each holding the SHA-256 of the line before it.\n"
        "\n"
        "  verify          check the whole chain; names the first bad line and exits 1 if an\n"
        "                  edit, deletion or reordering is found; prints the head on success\n"
        "  tail            print the last events\n"
        "    -n, --lines N   how many (default 10; 0 = none, useful with -f)\n"
        "    -f, --follow    keep printing events as they are appended\n"
        "    -t, --type T    only events of type T (e.g. capability-denied)\n"
        "        --json      print the raw JSON lines\n"
        "  types           the catalogue: every event type, who records it, its fields\n"
        "                  (docs/events.md describes each)\n"
        "  -h, --help      show this help\n";

static int open_log(const struct cli_ctx *ctx, const char *file, char **ret_path,
                    struct ca_error *err)
{
        _cleanup_free_ char *path = NULL;
        int fd;

        path = file ? strdup(file) : paths_events_log(ctx->config_root);
        if (!path)
                return ca_error_setx(err, ENOMEM, "out of memory");
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        if (fd < 0)
                return ca_error_set(err, errno, "cannot open event log '%s'", path);
        /* O_NONBLOCK only guarded the open against a FIFO; reads should block normally. */
        if (fcntl(fd, F_SETFL, 0) < 0) {
                (void) close(fd);
                return ca_error_set(err, errno, "cannot use event log '%s'", path);
        }
        *ret_path = take_ptr(&path);
        return fd;
}

static int events_verify(int argc, char **argv, struct cli_ctx *ctx)
{
        static const struct option opts[] = {
                {"help", no_argument, NULL, 'h'},
                {0},
        };
        _cleanup_free_ char *path = NULL;
        _cleanup_close_ int fd = -1;
        struct audit_verify_result res;
        struct ca_error err = {0};
        int c;
        int r;

        optind = 0;
        while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
                if (c == 'h')
                        return cli_help(usage);
                return cli_usage_error(ctx, "unknown option");
        }
        if (argc - optind > 1)
                return cli_usage_error(ctx, "verify takes at most one FILE");
        fd = open_log(ctx, optind < argc ? argv[optind] : NULL, &path, &err);
        if (fd < 0)
                return cli_fail(&err);
        r = audit_verify_fd(fd, &res, &err);
        if (r < 0)
                return cli_fail(&err);
        if (r > 0)
                return cli_error("'%s': line %" PRIu64 ": %s", path, res.bad_line, res.reason);
        (void) printf("ok: %" PRIu64 " events, chain intact, head %s\n", res.lines, res.head);
        return cli_finish(CLI_OK);
}

struct tail_opts {
        uint64_t lines;
        bool follow;
        bool json;
        int type; /* -1: all */
};

/* Prints `s` with everything a terminal would act on escaped (textsafe.h). */
static void put_safe(const char *s, size_t len)
{
        _cleanup_buf_ struct buf b = BUF_INIT;

        if (text_escape(s, len, 0, &b) == 0)
                (void) fwrite(b.data, 1, b.len, stdout);
}

static void put_safe_str(const char *s)
{
        put_safe(s, strlen(s));
}

/*
 * Formats one event for people: "ts type [session] key=value ...". Every field comes from
 * processes the host does not trust (helpers, the proxy, the agent's requests), so every part is
 * escaped: no event can move the cursor, erase a line or set the clipboard (issue 17).
 */
static int print_event(const char *line, size_t len, const struct tail_opts *o)
{
        struct audit_record rec = {0};
        struct ca_error err = {0};
        const char *key;
        json_t *v;

        if (audit_record_parse(line, len, &rec, &err) < 0) {
                (void) fprintf(stderr, "coding-agents: skipping malformed event: %s\n", err.msg);
                return 0;
        }
        if (o->type >= 0 && strcmp(rec.type, audit_type_name(o->type)) != 0) {
                audit_record_clear(&rec);
                return 0;
        }
        if (o->json) {
                /* Lines are written in ASCII; an older or foreign line is re-encoded so (the
                 * same JSON value, escaped), never printed raw. */
                _cleanup_buf_ struct buf b = BUF_INIT;

                if (text_is_safe(line, len, 0) || ca_json_canonical_ascii(rec.json, &b, &err) < 0)
                        put_safe(line, len);
                else
                        (void) fwrite(b.data, 1, b.len, stdout);
                (void) fputc('\n', stdout);
                audit_record_clear(&rec);
                return 1;
        }
        put_safe_str(rec.ts);
        (void) fputs("  ", stdout);
        put_safe_str(rec.type);
        for (size_t pad = strlen(rec.type); pad < 20; pad++)
                (void) fputc(' ', stdout);
        if (rec.session) {
                (void) fputs("  session=", stdout);
                put_safe_str(rec.session);
        }
        json_object_foreach((json_t *) rec.fields, key, v) {
                (void) fputs("  ", stdout);
                put_safe_str(key);
                (void) fputc('=', stdout);
                if (json_is_string(v)) {
                        put_safe(json_string_value(v), json_string_length(v));
                } else {
                        char *s = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY |
                                                        JSON_ENSURE_ASCII);
                        put_safe_str(s ? s : "?");
                        free(s);
                }
        }
        (void) fputc('\n', stdout);
        audit_record_clear(&rec);
        return 1;
}

static bool matches_type(const char *line, size_t len, int type)
{
        struct audit_record rec = {0};
        struct ca_error err = {0};
        bool ok;

        if (type < 0)
                return true;
        if (audit_record_parse(line, len, &rec, &err) < 0)
                return false;
        ok = strcmp(rec.type, audit_type_name(type)) == 0;
        audit_record_clear(&rec);
        return ok;
}

/* Keeps the last `n` matching lines in a ring, then prints them. */
static int print_last(struct lines *lr, const struct tail_opts *o, struct ca_error *err)
{
        char **ring = NULL;
        size_t next = 0;
        size_t count = 0;
        int r = 0;

        if (o->lines > 0) {
                ring = calloc(o->lines, sizeof(*ring));
                if (!ring)
                        return ca_error_setx(err, ENOMEM, "out of memory");
        }
        for (;;) {
                const char *line;
                size_t len;
                bool term;
                struct ca_error lerr = {0};

                r = lines_next(lr, &line, &len, &term, &lerr);
                if (r == -EMSGSIZE) {
                        (void) fprintf(stderr, "coding-agents: skipping over-long event\n");
                        continue;
                }
                if (r < 0) {
                        r = ca_error_setx(err, lerr.code, "%s", lerr.msg);
                        break;
                }
                if (r == 0)
                        break;
                if (o->lines == 0 || !matches_type(line, len, o->type))
                        continue;
                free(ring[next]);
                ring[next] = strndup(line, len);
                if (!ring[next]) {
                        r = ca_error_setx(err, ENOMEM, "out of memory");
                        break;
                }
                next = (next + 1) % o->lines;
                if (count < o->lines)
                        count++;
        }
        for (size_t i = 0; i < count && r >= 0; i++) {
                const char *s = ring[(next + o->lines - count + i) % o->lines];
                (void) print_event(s, strlen(s), o);
        }
        for (size_t i = 0; i < o->lines; i++)
                free(ring[i]);
        free(ring);
        return r < 0 ? r : 0;
}

/* Waits for appends with inotify (no polling, no sleeps) and prints new events. */
static int follow(const char *path, struct lines *lr, const struct tail_opts *o,
                  struct ca_error *err)
{
        _cleanup_close_ int in = -1;
        char evbuf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));

        in = inotify_init1(IN_CLOEXEC);
        if (in < 0)
                return ca_error_set(err, errno, "inotify_init1 failed");
        if (inotify_add_watch(in, path, IN_MODIFY | IN_DELETE_SELF | IN_MOVE_SELF) < 0)
                return ca_error_set(err, errno, "cannot watch '%s'", path);
        for (;;) {
                ssize_t n;

                for (;;) {
                        const char *line;
                        size_t len;
                        bool term;
                        struct ca_error lerr = {0};
                        int r;

                        lines_rearm(lr);
                        r = lines_next(lr, &line, &len, &term, &lerr);
                        if (r == -EMSGSIZE)
                                continue;
                        if (r < 0)
                                return ca_error_setx(err, lerr.code, "%s", lerr.msg);
                        if (r == 0)
                                break;
                        (void) print_event(line, len, o);
                }
                if (fflush(stdout) != 0)
                        return ca_error_set(err, errno, "cannot write to standard output");
                n = read(in, evbuf, sizeof(evbuf));
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return ca_error_set(err, errno, "inotify read failed");
                }
                for (ssize_t off = 0; off < n;) {
                        const struct inotify_event *ev = (const void *) (evbuf + off);
                        if (ev->mask & (IN_DELETE_SELF | IN_MOVE_SELF))
                                return ca_error_setx(err, ENOENT,
                                                     "event log '%s' was removed or replaced",
                                                     path);
                        off += (ssize_t) (sizeof(*ev) + ev->len);
                }
        }
}

static int events_tail(int argc, char **argv, struct cli_ctx *ctx)
{
        static const struct option opts[] = {
                {"help", no_argument, NULL, 'h'},
                {"follow", no_argument, NULL, 'f'},
                {"lines", required_argument, NULL, 'n'},
                {"type", required_argument, NULL, 't'},
                {"json", no_argument, NULL, 'j'},
                {0},
        };
        struct tail_opts o = {.lines = 10, .type = -1};
        _cleanup_free_ char *path = NULL;
        _cleanup_close_ int fd = -1;
        struct ca_error err = {0};
        struct lines lr;
        int c;
        int r;

        optind = 0;
        while ((c = getopt_long(argc, argv, "hfn:t:", opts, NULL)) != -1) {
                switch (c) {
                case 'h':
                        return cli_help(usage);
                case 'f':
                        o.follow = true;
                        break;
                case 'n':
                        if (parse_uint(optarg, 0, 1000000, &o.lines) < 0)
                                return cli_usage_error(ctx,
                                                       "bad --lines '%s': a number from 0 to "
                                                       "1000000",
                                                       optarg);
                        break;
                case 't':
                        o.type = audit_type_from_name(optarg);
                        if (o.type < 0)
                                return cli_usage_error(ctx, "unknown event type '%s'", optarg);
                        break;
                case 'j':
                        o.json = true;
                        break;
                default:
                        return cli_usage_error(ctx, "unknown option");
                }
        }
        if (argc - optind > 1)
                return cli_usage_error(ctx, "tail takes at most one FILE");
        fd = open_log(ctx, optind < argc ? argv[optind] : NULL, &path, &err);
        if (fd < 0)
                return cli_fail(&err);
        lines_init(&lr, fd, AUDIT_MAX_LINE);
        lr.hold_partial = o.follow;
        r = print_last(&lr, &o, &err);
        if (r >= 0 && o.follow)
                r = follow(path, &lr, &o, &err);
        lines_clear(&lr);
        if (r < 0)
                return cli_fail(&err);
        return cli_finish(CLI_OK);
}

static int events_types(int argc, char **argv, struct cli_ctx *ctx)
{
        _cleanup_json_ json_t *all = NULL;
        struct ca_error err = {0};
        size_t i;
        json_t *e;

        if (argc == 2 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0))
                return cli_help(usage);
        if (argc > 2 || (argc == 2 && strcmp(argv[1], "--json") != 0))
                return cli_usage_error(ctx, "types takes only --json");
        all = eventcat_json();
        if (!all)
                return cli_error("out of memory");
        if (argc == 2) {
                _cleanup_buf_ struct buf b = BUF_INIT;

                if (ca_json_pretty(all, &b, &err) < 0)
                        return cli_fail(&err);
                (void) fwrite(b.data, 1, b.len, stdout);
                return cli_finish(CLI_OK);
        }
        json_array_foreach(all, i, e) {
                size_t k;
                json_t *f;

                (void) printf("%-26s %-13s", json_string_value(json_object_get(e, "type")),
                              json_string_value(json_object_get(e, "by")));
                json_array_foreach(json_object_get(e, "fields"), k, f)
                        (void) printf("%s%s", k ? ", " : " ", json_string_value(f));
                (void) putchar('\n');
        }
        return cli_finish(CLI_OK);
}

int cmd_events(int argc, char **argv, struct cli_ctx *ctx)
{
        if (argc < 2)
                return cli_usage_error(ctx, "missing subcommand (verify, tail or types)");
        if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)
                return cli_help(usage);
        if (strcmp(argv[1], "verify") == 0)
                return events_verify(argc - 1, argv + 1, ctx);
        if (strcmp(argv[1], "tail") == 0)
                return events_tail(argc - 1, argv + 1, ctx);
        if (strcmp(argv[1], "types") == 0)
                return events_types(argc - 1, argv + 1, ctx);
        return cli_usage_error(ctx, "unknown subcommand '%s'", argv[1]);
}

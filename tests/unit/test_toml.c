/* SPDX-License-Identifier: MIT */
/* Unit tests for lib/toml: what toml-test does not cover, plus the tree API and positions. */
#include "testutil.h"

#include <errno.h>
#include <math.h>

#include "buf.h"
#include "error.h"
#include "toml.h"

static struct toml_doc *parse_ok(const char *src)
{
        struct toml_doc *doc = NULL;
        struct ca_error err = {0};
        int r = toml_parse(src, strlen(src), "t.toml", &doc, &err);

        if (r < 0)
                fail_msg("unexpected parse error: %s", err.msg);
        return doc;
}

/* Parses `src`, expects failure, and returns the message in a static buffer. */
static const char *parse_err(const char *src)
{
        static struct ca_error err;
        struct toml_doc *doc = NULL;
        int r;

        ca_error_clear(&err);
        r = toml_parse(src, strlen(src), "t.toml", &doc, &err);
        if (r == 0) {
                toml_doc_free(doc);
                fail_msg("'%s' parsed but should not", src);
        }
        assert_int_equal(r, -EINVAL);
        assert_true(err.bad_input);
        return err.msg;
}

static void test_toml_parse_integer_limits(void **state)
{
        struct toml_doc *doc;
        (void) state;

        doc = parse_ok("max = 9223372036854775807\nmin = -9223372036854775808\n"
                       "hex = 0x7fffffffffffffff\nbin = 0b1010\noct = 0o777\n");
        assert_true(toml_table_get(toml_doc_root(doc), "max")->u.integer == INT64_MAX);
        assert_true(toml_table_get(toml_doc_root(doc), "min")->u.integer == INT64_MIN);
        assert_true(toml_table_get(toml_doc_root(doc), "hex")->u.integer == INT64_MAX);
        assert_int_equal(toml_table_get(toml_doc_root(doc), "bin")->u.integer, 10);
        assert_int_equal(toml_table_get(toml_doc_root(doc), "oct")->u.integer, 511);
        toml_doc_free(doc);

        assert_string_equal(parse_err("a = 9223372036854775808"),
                            "t.toml:1:5: integer does not fit in 64 bits");
        assert_string_equal(parse_err("a = -9223372036854775809"),
                            "t.toml:1:5: integer does not fit in 64 bits");
        assert_string_equal(parse_err("a = 0x8000000000000000"),
                            "t.toml:1:5: integer does not fit in 64 bits");
        assert_string_equal(parse_err("a = 99999999999999999999999"),
                            "t.toml:1:5: integer does not fit in 64 bits");
}

static void test_toml_parse_leap_second_rejected(void **state)
{
        (void) state;
        assert_string_equal(parse_err("t = 1990-12-31T23:59:60Z"), "t.toml:1:5: invalid date-time");
        assert_string_equal(parse_err("t = 23:59:60"), "t.toml:1:5: invalid local time");
        parse_err("t = 2021-02-29");         /* not a leap year */
        toml_doc_free(parse_ok("t = 2024-02-29")); /* a leap year */
}

static void test_toml_parse_signed_zero_and_specials(void **state)
{
        struct toml_doc *doc;
        const struct toml_value *root;
        (void) state;

        doc = parse_ok("nz = -0.0\npz = +0.0\nni = -inf\nnn = -nan\nz = -0\n");
        root = toml_doc_root(doc);
        assert_true(signbit(toml_table_get(root, "nz")->u.flt));
        assert_false(signbit(toml_table_get(root, "pz")->u.flt));
        assert_true(isinf(toml_table_get(root, "ni")->u.flt));
        assert_true(toml_table_get(root, "ni")->u.flt < 0);
        assert_true(isnan(toml_table_get(root, "nn")->u.flt));
        assert_int_equal(toml_table_get(root, "z")->type, TOML_INTEGER);
        assert_int_equal(toml_table_get(root, "z")->u.integer, 0);
        toml_doc_free(doc);
        assert_string_equal(parse_err("f = 1e400"), "t.toml:1:5: float out of range");
}

static void test_toml_parse_depth_limit(void **state)
{
        struct buf b = BUF_INIT;
        struct toml_doc *doc;
        (void) state;

        /* Exactly at the limit parses; one more level fails cleanly instead of recursing. */
        assert_int_equal(buf_append_str(&b, "a = "), 0);
        for (int i = 0; i < TOML_MAX_DEPTH - 1; i++)
                assert_int_equal(buf_append_char(&b, '['), 0);
        for (int i = 0; i < TOML_MAX_DEPTH - 1; i++)
                assert_int_equal(buf_append_char(&b, ']'), 0);
        doc = parse_ok(b.data);
        toml_doc_free(doc);

        buf_reset(&b);
        assert_int_equal(buf_append_str(&b, "a = "), 0);
        for (int i = 0; i < 100000; i++)
                assert_int_equal(buf_append_char(&b, '['), 0);
        assert_non_null(strstr(parse_err(b.data), "nesting deeper than 128 levels"));

        buf_reset(&b);
        assert_int_equal(buf_append_str(&b, "a = "), 0);
        for (int i = 0; i < 100000; i++)
                assert_int_equal(buf_append_str(&b, "{b="), 0);
        assert_non_null(strstr(parse_err(b.data), "nesting deeper than 128 levels"));
        buf_clear(&b);
}

static void test_toml_parse_positions(void **state)
{
        struct toml_doc *doc;
        const struct toml_value *v;
        const struct toml_kv *kv;
        (void) state;

        doc = parse_ok("# comment\n[servers.one]\n  name = \"é\"  \nport = 42\n");
        v = toml_table_get(toml_table_get(toml_doc_root(doc), "servers"), "one");
        assert_non_null(v);
        assert_int_equal(v->pos.line, 2);
        assert_int_equal(v->pos.col, 1);
        kv = toml_table_find(v, "name", 4);
        assert_non_null(kv);
        assert_int_equal(kv->pos.line, 3);
        assert_int_equal(kv->pos.col, 3);
        assert_int_equal(kv->value->pos.col, 10);
        assert_string_equal(toml_doc_name(doc), "t.toml");
        v = toml_table_get(v, "port");
        assert_int_equal(v->pos.line, 4);
        assert_int_equal(v->pos.col, 8);
        toml_doc_free(doc);

        /* Columns count code points: the error after a 2-byte character is at column 8. */
        assert_string_equal(parse_err("k = \"é\" x"),
                            "t.toml:1:9: expected a newline or the end of the file");
        assert_string_equal(parse_err("a = 1\nb = 2\nb = 3\n"), "t.toml:3:1: duplicate key 'b'");
}

static void test_toml_parse_table_rules(void **state)
{
        (void) state;
        assert_non_null(strstr(parse_err("[a]\n[a]\n"), "defined more than once"));
        assert_non_null(strstr(parse_err("a = {b = 1}\n[a]\n"), "inline table"));
        assert_non_null(strstr(parse_err("a = {b = 1}\na.c = 2\n"), "inline table"));
        assert_non_null(strstr(parse_err("[a.b]\n[a]\nb.c = 1\n"), "dotted keys"));
        assert_non_null(strstr(parse_err("[a]\nb.c = 1\n[a.b]\n"), "defined more than once"));
        assert_non_null(strstr(parse_err("a = [1]\n[[a]]\n"), "array of tables"));
        /* Allowed: sub-tables under tables made by dotted keys, and implicit parents. */
        toml_doc_free(parse_ok("[fruit]\napple.color = 'red'\n[fruit.apple.texture]\nx = 1\n"));
        toml_doc_free(parse_ok("[a.b.c]\n[a]\nd = 1\n"));
        toml_doc_free(parse_ok("[[a]]\n[a.b]\n[[a]]\n[a.b]\n"));
}

static void test_toml_parse_utf8_and_bom(void **state)
{
        struct toml_doc *doc;
        (void) state;

        doc = parse_ok("\xEF\xBB\xBF" "a = \"\\u00e9\\U0001F600\"\n");
        assert_string_equal(toml_table_get(toml_doc_root(doc), "a")->u.string.ptr,
                            "\xC3\xA9\xF0\x9F\x98\x80");
        toml_doc_free(doc);
        assert_non_null(strstr(parse_err("a = \"\xC0\xAF\"\n"), "invalid UTF-8"));
        assert_non_null(strstr(parse_err("a = \"\xED\xA0\x80\"\n"), "invalid UTF-8"));
        assert_non_null(strstr(parse_err("a = \"\\uD800\"\n"), "not a Unicode scalar value"));
        assert_non_null(strstr(parse_err("a = 1\r\n b = 2\r"), "carriage return"));
        /* Found by fuzz_config: a bare CR before an invalid byte used to loop forever. */
        assert_string_equal(parse_err("a = 1\r\nb = \"x\"\r\xB0\n"),
                            "t.toml:2:9: invalid UTF-8 byte 0xB0");
}

static void test_toml_parse_nul_in_strings(void **state)
{
        struct toml_doc *doc;
        const struct toml_value *v;
        (void) state;

        doc = parse_ok("\"a\\u0000b\" = \"x\\u0000y\"\n");
        assert_int_equal(toml_doc_root(doc)->u.table.items[0].key_len, 3);
        v = toml_doc_root(doc)->u.table.items[0].value;
        assert_int_equal(v->u.string.len, 3);
        assert_memory_equal(v->u.string.ptr, "x\0y", 3);
        toml_doc_free(doc);
        /* A raw NUL byte is a control character. */
        assert_non_null(strstr(parse_err((const char[]) {'a', '=', '"', 0x01, '"', 0}),
                               "control character"));
}

static void test_toml_table_get_large_table(void **state)
{
        struct buf b = BUF_INIT;
        struct toml_doc *doc;
        char key[32];
        (void) state;

        for (int i = 0; i < 5000; i++)
                assert_int_equal(buf_printf(&b, "k%d = %d\n", i, i), 0);
        doc = parse_ok(b.data);
        for (int i = 0; i < 5000; i += 7) {
                const struct toml_value *v;
                (void) snprintf(key, sizeof(key), "k%d", i);
                v = toml_table_get(toml_doc_root(doc), key);
                assert_non_null(v);
                assert_int_equal(v->u.integer, i);
        }
        assert_null(toml_table_get(toml_doc_root(doc), "k5000"));
        assert_null(toml_table_get(NULL, "k1"));
        toml_doc_free(doc);
        buf_reset(&b);
        for (int i = 0; i < 100; i++)
                assert_int_equal(buf_printf(&b, "k%d = %d\n", i, i), 0);
        assert_int_equal(buf_append_str(&b, "k42 = 1\n"), 0);
        assert_string_equal(parse_err(b.data), "t.toml:101:1: duplicate key 'k42'");
        buf_clear(&b);
}

static void test_toml_datetime_format(void **state)
{
        struct toml_doc *doc;
        char out[64];
        (void) state;

        doc = parse_ok("a = 1979-05-27T00:32:00.999999999123-07:30\nb = 07:32:00.5\n"
                       "c = 1979-05-27 07:32:00Z\n");
        assert_true(toml_datetime_format(toml_table_get(toml_doc_root(doc), "a"), out,
                                         sizeof(out)) > 0);
        /* Extra precision is truncated, not rounded. */
        assert_string_equal(out, "1979-05-27T00:32:00.999999999-07:30");
        assert_true(toml_datetime_format(toml_table_get(toml_doc_root(doc), "b"), out,
                                         sizeof(out)) > 0);
        assert_string_equal(out, "07:32:00.5");
        assert_true(toml_datetime_format(toml_table_get(toml_doc_root(doc), "c"), out,
                                         sizeof(out)) > 0);
        assert_string_equal(out, "1979-05-27T07:32:00Z");
        assert_int_equal(toml_datetime_format(toml_table_get(toml_doc_root(doc), "c"), out, 5),
                         -ENOBUFS);
        toml_doc_free(doc);
}

static void test_toml_parse_file_errors(void **state)
{
        struct toml_doc *doc = NULL;
        struct ca_error err = {0};
        (void) state;

        assert_int_equal(toml_parse_file("/nonexistent/config.toml", &doc, &err), -ENOENT);
        assert_non_null(strstr(err.msg, "cannot open '/nonexistent/config.toml'"));
        assert_false(err.bad_input);
        assert_int_equal(toml_parse_file("/", &doc, &err), -EISDIR);
        assert_null(doc);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_toml_parse_integer_limits),
                cmocka_unit_test(test_toml_parse_leap_second_rejected),
                cmocka_unit_test(test_toml_parse_signed_zero_and_specials),
                cmocka_unit_test(test_toml_parse_depth_limit),
                cmocka_unit_test(test_toml_parse_positions),
                cmocka_unit_test(test_toml_parse_table_rules),
                cmocka_unit_test(test_toml_parse_utf8_and_bom),
                cmocka_unit_test(test_toml_parse_nul_in_strings),
                cmocka_unit_test(test_toml_table_get_large_table),
                cmocka_unit_test(test_toml_datetime_format),
                cmocka_unit_test(test_toml_parse_file_errors),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}

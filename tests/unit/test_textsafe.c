/* SPDX-License-Identifier: MIT */
/* Unit tests for lib/textsafe: what a terminal would act on never passes through. */
#include "testutil.h"

#include <string.h>

#include "buf.h"
#include "textsafe.h"

/* A literal's length, NULs inside included. */
#define L(lit) lit, sizeof(lit) - 1

static const char *esc(const char *s, size_t len, unsigned flags)
{
        static struct buf b = BUF_INIT;

        buf_reset(&b);
        assert_int_equal(text_escape(s, len, flags, &b), 0);
        assert_non_null(b.data);
        return b.data;
}

static void test_text_escape_plain(void **state)
{
        (void) state;
        assert_string_equal(esc(L(""), 0), "");
        assert_string_equal(esc(L("capability-denied stub=x"), 0), "capability-denied stub=x");
        /* Valid UTF-8 of ordinary code points stays. */
        assert_string_equal(esc(L("caf\xc3\xa9 \xe2\x9c\x94"), 0), "caf\xc3\xa9 \xe2\x9c\x94");
        assert_true(text_is_safe(L("ok \xe2\x9c\x94"), 0));
}

static void test_text_escape_controls(void **state)
{
        (void) state;
        /* The attack: erase the line, move up, set the clipboard (OSC 52), ring the bell. */
        assert_string_equal(esc(L("\x1b[2K\x1b[1A\x1b]52;c;ZXZpbA==\x07x\r"), 0),
                            "\\x1b[2K\\x1b[1A\\x1b]52;c;ZXZpbA==\\x07x\\r");
        assert_string_equal(esc(L("a\\b"), 0), "a\\\\b");
        assert_string_equal(esc(L("a\nb\tc\x7f"), 0), "a\\nb\\tc\\x7f");
        assert_string_equal(esc(L("a\nb\tc"), TEXT_KEEP_NEWLINE | TEXT_KEEP_TAB), "a\nb\tc");
        /* A NUL inside the length is escaped, not a terminator. */
        assert_string_equal(esc(L("a\0b"), 0), "a\\x00b");
        /* C1 CSI (U+009B) in UTF-8, bidi overrides, a line separator. */
        assert_string_equal(esc(L("\xc2\x9b" "2J"), 0), "\\u{009b}2J");
        assert_string_equal(esc(L("\xe2\x80\xae" "txt.exe"), 0), "\\u{202e}txt.exe"); /* NOLINT(misc-misleading-bidirectional): the attack */
        assert_string_equal(esc(L("\xe2\x81\xa6x\xe2\x81\xa9"), 0), "\\u{2066}x\\u{2069}"); /* NOLINT(misc-misleading-bidirectional): the attack */
        assert_string_equal(esc(L("\xe2\x80\xa8"), 0), "\\u{2028}");
        assert_false(text_is_safe("\x1b", 1, 0));
        assert_false(text_is_safe("\n", 1, 0));
        assert_true(text_is_safe("\n", 1, TEXT_KEEP_NEWLINE));
        /* A backslash is escaped (unambiguous output) but acts on no terminal. */
        assert_true(text_is_safe("a\\b", 3, 0));
}

static void test_text_escape_invalid_utf8(void **state)
{
        (void) state;
        /* Lone continuation, overlong, surrogate, truncated, beyond U+10FFFF. */
        assert_string_equal(esc(L("\x80"), 0), "\\x80");
        assert_string_equal(esc(L("\xc0\x9b"), 0), "\\xc0\\x9b");
        assert_string_equal(esc(L("\xed\xa0\x80"), 0), "\\xed\\xa0\\x80");
        assert_string_equal(esc(L("\xe2\x9c"), 0), "\\xe2\\x9c");
        assert_string_equal(esc(L("\xf4\x90\x80\x80"), 0), "\\xf4\\x90\\x80\\x80");
}

static void test_text_escape_to(void **state)
{
        char out[12];
        (void) state;

        assert_string_equal(text_escape_to("ab\x1b" "cd", 0, out, sizeof(out)), "ab\\x1bcd");
        /* Truncated before an escape, never through it. */
        assert_string_equal(text_escape_to("abcdefgh\x1b", 0, out, sizeof(out)), "abcdefgh");
        assert_string_equal(text_escape_to("", 0, out, sizeof(out)), "");
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_text_escape_plain),
                cmocka_unit_test(test_text_escape_controls),
                cmocka_unit_test(test_text_escape_invalid_utf8),
                cmocka_unit_test(test_text_escape_to),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}

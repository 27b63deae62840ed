/* SPDX-License-Identifier: MIT */
#include "testutil.h"

#include <errno.h>

#include "journal.h"

/* The mirror is best effort: with or without journald it must not fail the caller's flow, and
 * without a journal it reports why instead of pretending to have sent. */
static void test_journal_send_event_reports_availability(void **state)
{
        int r;
        (void) state;

        r = journal_send_event("stub-start", "s", 1,
                               "0000000000000000000000000000000000000000000000000000000000000000",
                               "{}", 2);
        if (journal_available())
                assert_int_equal(r, 0);
        else
                assert_true(r == -ENOTCONN || r == -EOPNOTSUPP);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_journal_send_event_reports_availability),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}

/* A tiny test harness in the style of Redis's testhelp.h: test_cond()
 * records one assertion, test_report() prints "N passed, N failed" and
 * gives the exit code. */
#ifndef INGOT_TESTHELP_H
#define INGOT_TESTHELP_H

#include <stdio.h>
#include <string.h>

static int test_passed, test_failed;

#define test_cond(descr, cond)                                                 \
    do {                                                                       \
        if (cond) {                                                            \
            test_passed++;                                                     \
        } else {                                                               \
            test_failed++;                                                     \
            printf("FAIL %s:%d: %s\n", __FILE__, __LINE__, descr);             \
        }                                                                      \
    } while (0)

#define test_streq(descr, a, b)                                                \
    do {                                                                       \
        const char *ta_ = (a), *tb_ = (b);                                     \
        int ok_ = ta_ && tb_ && strcmp(ta_, tb_) == 0;                         \
        if (!ok_)                                                              \
            printf("  got '%s', want '%s'\n", ta_ ? ta_ : "(null)",            \
                   tb_ ? tb_ : "(null)");                                      \
        test_cond(descr, ok_);                                                 \
    } while (0)

#define test_report()                                                          \
    do {                                                                       \
        printf("%d passed, %d failed\n", test_passed, test_failed);            \
        return test_failed ? 1 : 0;                                            \
    } while (0)

#endif

/*
 * tests/harness.h — the facesearch test runner.
 *
 * A test is a function registered with TEST(name).  Inside it, CHECK(cond)
 * and the typed CHECK_* macros record a failure (with file:line and the
 * values) and continue; REQUIRE(cond) records and returns from the test.
 * SKIP("reason") marks the test skipped (e.g. ../shared data absent).
 * The runner (tests/harness.c) runs every test, or those whose name contains
 * one of argv[1..], and ends with the line "N passed, N failed".
 */
#ifndef FS_TEST_HARNESS_H
#define FS_TEST_HARNESS_H

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

typedef void (*fs_test_fn)(void);
void fs_test_register(const char *name, fs_test_fn fn);
void fs_test_fail(const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void fs_test_skip(const char *reason);
int fs_test_failed_now(void);

/* Paths the tests read: models dir (FS_TEST_MODELS or "models"), the shared
 * data dir (FS_SHARED or "../shared"; NULL when absent), the built binary
 * (FS_TEST_BIN or "build/facesearch"), and a fresh scratch dir per run. */
const char *fs_test_models_dir(void);
const char *fs_test_shared_dir(void);
const char *fs_test_bin(void);
const char *fs_test_tmpdir(void);

/* Runs a shell command line; captures up to cap-1 bytes of its stdout (add
 * 2>&1 to the command for stderr) into out, NUL-terminated.  Returns the
 * exit status, or -1 if it could not run or died of a signal. */
int fs_test_sh(const char *cmd, char *out, size_t cap);

/* Starts `facesearch ARGS` (the built binary) in the background with stdout
 * and stderr to /dev/null; returns its pid (for kill tests), or -1. */
int fs_test_spawn(const char *args);

/* Runs `facesearch ARGS` as fs_test_spawn does, SIGKILLs it after `seconds`
 * and reaps it.  Returns 1 when the kill hit it running, 0 when it had
 * already exited, -1 when it could not start. */
int fs_test_kill_after(const char *args, double seconds);

/* How many random SIGKILLs a kill test deals: 20 (the guarantee make test
 * checks), or 5 under the sanitizers (FS_TEST_SANITIZED), whose run is
 * there for memory errors and is several times slower. */
int fs_test_kill_rounds(void);

#define TEST(name)                                                        \
    static void test_##name(void);                                        \
    __attribute__((constructor)) static void register_##name(void)        \
    {                                                                     \
        fs_test_register(#name, test_##name);                             \
    }                                                                     \
    static void test_##name(void)

#define CHECK(cond)                                                       \
    do {                                                                  \
        if (!(cond))                                                      \
            fs_test_fail(__FILE__, __LINE__, "CHECK(%s)", #cond);         \
    } while (0)

#define REQUIRE(cond)                                                     \
    do {                                                                  \
        if (!(cond)) {                                                    \
            fs_test_fail(__FILE__, __LINE__, "REQUIRE(%s)", #cond);       \
            return;                                                       \
        }                                                                 \
    } while (0)

#define CHECK_MSG(cond, ...)                                              \
    do {                                                                  \
        if (!(cond))                                                      \
            fs_test_fail(__FILE__, __LINE__, __VA_ARGS__);                \
    } while (0)

#define CHECK_INT(a, b)                                                   \
    do {                                                                  \
        long long a_ = (long long)(a), b_ = (long long)(b);               \
        if (a_ != b_)                                                     \
            fs_test_fail(__FILE__, __LINE__, "%s == %s: %lld vs %lld",    \
                         #a, #b, a_, b_);                                 \
    } while (0)

#define CHECK_STR(a, b)                                                   \
    do {                                                                  \
        const char *a_ = (a), *b_ = (b);                                  \
        if (!a_ || !b_ || strcmp(a_, b_) != 0)                            \
            fs_test_fail(__FILE__, __LINE__, "%s == %s: \"%s\" vs \"%s\"", \
                         #a, #b, a_ ? a_ : "(null)", b_ ? b_ : "(null)"); \
    } while (0)

#define CHECK_NEAR(a, b, tol)                                             \
    do {                                                                  \
        double a_ = (double)(a), b_ = (double)(b), t_ = (double)(tol);    \
        if (!(fabs(a_ - b_) <= t_))                                       \
            fs_test_fail(__FILE__, __LINE__,                              \
                         "%s ~ %s: %.9g vs %.9g (|diff| %.3g > %.3g)",    \
                         #a, #b, a_, b_, fabs(a_ - b_), t_);              \
    } while (0)

/* Status check: expects FS_OK and prints the error message otherwise.
 * errp points at the fs_error the call filled in. */
#define CHECK_OK(expr, errp)                                              \
    do {                                                                  \
        int rc_ = (expr);                                                 \
        if (rc_ != 0)                                                     \
            fs_test_fail(__FILE__, __LINE__, "%s -> %d (%s)", #expr, rc_, \
                         (errp)->msg);                                    \
    } while (0)

#define SKIP(reason)                                                      \
    do {                                                                  \
        fs_test_skip(reason);                                             \
        return;                                                           \
    } while (0)

#endif

/* The test runner: see tests/harness.h. */
#include "harness.h"

#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "facesearch/common.h"

#define MAX_TESTS 1024

static struct {
    const char *name;
    fs_test_fn fn;
} tests[MAX_TESTS];
static int n_tests;
static int cur_failures, cur_skipped;
static char tmpdir[256];

void fs_test_register(const char *name, fs_test_fn fn)
{
    if (n_tests == MAX_TESTS) {
        fprintf(stderr, "harness: too many tests\n");
        exit(3);
    }
    tests[n_tests].name = name;
    tests[n_tests].fn = fn;
    n_tests++;
}

void fs_test_fail(const char *file, int line, const char *fmt, ...)
{
    /* Cap the noise of a test that fails in a loop. */
    if (cur_failures++ >= 20)
        return;
    va_list ap;
    va_start(ap, fmt);
    fprintf(stdout, "    %s:%d: ", file, line);
    vfprintf(stdout, fmt, ap);
    fputc('\n', stdout);
    va_end(ap);
}

void fs_test_skip(const char *reason)
{
    cur_skipped = 1;
    printf("    skipped: %s\n", reason);
}

int fs_test_failed_now(void) { return cur_failures > 0; }

static const char *env_or(const char *var, const char *dflt)
{
    const char *v = getenv(var);
    return v && *v ? v : dflt;
}

const char *fs_test_models_dir(void) { return env_or("FS_TEST_MODELS", "models"); }
const char *fs_test_bin(void) { return env_or("FS_TEST_BIN", "build/facesearch"); }

const char *fs_test_shared_dir(void)
{
    const char *d = env_or("FS_SHARED", "../shared");
    struct stat st;
    return stat(d, &st) == 0 && S_ISDIR(st.st_mode) ? d : NULL;
}

const char *fs_test_tmpdir(void)
{
    if (!tmpdir[0]) {
        snprintf(tmpdir, sizeof tmpdir, "%s/fs-test-XXXXXX", env_or("TMPDIR", "/tmp"));
        if (!mkdtemp(tmpdir)) {
            perror("mkdtemp");
            exit(3);
        }
    }
    return tmpdir;
}

int fs_test_sh(const char *cmd, char *out, size_t cap)
{
    FILE *p = popen(cmd, "r");
    if (!p)
        return -1;
    size_t n = fread(out, 1, cap - 1, p);
    out[n] = '\0';
    /* Drain the rest so the child never blocks on a full pipe. */
    char sink[4096];
    while (fread(sink, 1, sizeof sink, p) > 0)
        ;
    int st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static int selected(const char *name, int argc, char **argv)
{
    if (argc < 2)
        return 1;
    for (int i = 1; i < argc; i++)
        if (strstr(name, argv[i]))
            return 1;
    return 0;
}

int main(int argc, char **argv)
{
    int passed = 0, failed = 0, skipped = 0;
    setvbuf(stdout, NULL, _IOLBF, 0);
    for (int i = 0; i < n_tests; i++) {
        if (!selected(tests[i].name, argc, argv))
            continue;
        cur_failures = cur_skipped = 0;
        double t0 = fs_now();
        tests[i].fn();
        double dt = fs_now() - t0;
        if (cur_failures) {
            failed++;
            printf("FAIL %s (%.2fs)\n", tests[i].name, dt);
        } else if (cur_skipped) {
            skipped++;
            printf("skip %s\n", tests[i].name);
        } else {
            passed++;
            printf("ok   %s (%.2fs)\n", tests[i].name, dt);
        }
    }
    if (tmpdir[0] && !getenv("FS_TEST_KEEP")) {
        char cmd[300];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
        if (system(cmd) != 0)
            fprintf(stderr, "harness: could not remove %s\n", tmpdir);
    }
    if (skipped)
        printf("%d skipped\n", skipped);
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}

int fs_test_spawn(const char *args)
{
    pid_t pid = fork();
    if (pid == 0) {
        int null = open("/dev/null", O_WRONLY);
        dup2(null, 1);
        dup2(null, 2);
        char cmd[8192];
        snprintf(cmd, sizeof cmd, "exec %s %s", fs_test_bin(), args);
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    return (int)pid;
}

int fs_test_kill_rounds(void)
{
    return getenv("FS_TEST_SANITIZED") ? 5 : 20;
}

int fs_test_kill_after(const char *args, double seconds)
{
    pid_t pid = fs_test_spawn(args);
    if (pid <= 0)
        return -1;
    usleep((useconds_t)(seconds * 1e6));
    kill(pid, SIGKILL);
    int st;
    waitpid(pid, &st, 0);
    return WIFSIGNALED(st) ? 1 : 0;
}

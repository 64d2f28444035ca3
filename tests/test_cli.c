/* The command-line front door: help, version, exit codes. */
#include <stdlib.h>
#include <string.h>

#include "facesearch/config.h"
#include "harness.h"

/* Help texts name defaults as "(section.key, VALUE" or "(section.key,
 * default VALUE": each must be the value the configuration really starts
 * with (a changed default must not leave a stale help line).  Returns the
 * number of defaults checked. */
static int check_help_defaults(const char *cmd, const char *help)
{
    fs_config *cfg = fs_config_create();
    int checked = 0;
    for (int i = 0; cfg && i < fs_config_key_count(); i++) {
        const fs_config_key *key = fs_config_key_at(i);
        char pat[128];
        snprintf(pat, sizeof pat, "(%s, ", key->name);
        for (const char *p = strstr(help, pat); p; p = strstr(p + 1, pat)) {
            const char *v = p + strlen(pat);
            if (strncmp(v, "default ", 8) == 0)
                v += 8;
            v += *v == '\''; /* a quoted text value */
            char shown[64];
            size_t n = strcspn(v, "');, \n");
            snprintf(shown, sizeof shown, "%.*s", (int)(n < 63 ? n : 63), v);
            int numeric = key->type == FS_CFG_INT || key->type == FS_CFG_REAL;
            if (numeric && !strchr("0123456789.-", shown[0] ? shown[0] : 'x'))
                continue; /* "(a.key, b.key)": a list of keys, not a value */
            const char *real = fs_config_text(cfg, key->name);
            int same = numeric ? strtod(shown, NULL) == strtod(real, NULL)
                               : strcmp(shown, real) == 0;
            CHECK_MSG(same, "%s --help: %s shown as %s, default is %s", cmd, key->name, shown,
                      real);
            checked++;
        }
    }
    fs_config_destroy(cfg);
    return checked;
}

/* Runs `facesearch ARGS` capturing stdout+stderr; returns the exit status. */
static int run(const char *args, char *out, size_t cap)
{
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "%s %s 2>&1", fs_test_bin(), args);
    return fs_test_sh(cmd, out, cap);
}

TEST(cli_version_and_help)
{
    static char out[65536];
    CHECK_INT(run("--version", out, sizeof out), 0);
    CHECK(strncmp(out, "facesearch ", 11) == 0);
    CHECK_INT(run("--help", out, sizeof out), 0);
    CHECK(strstr(out, "usage: facesearch") != NULL);
    CHECK_INT(run("", out, sizeof out), 1);
    CHECK_INT(run("frobnicate", out, sizeof out), 1);
    CHECK(strstr(out, "'frobnicate' is not a facesearch command") != NULL);
}

TEST(cli_every_command_has_help)
{
    static char list[65536], out[65536];
    REQUIRE(run("--help", list, sizeof list) == 0);
    const char *p = strstr(list, "Commands:\n");
    REQUIRE(p != NULL);
    p += 10;
    int n = 0, defaults = 0;
    char name[64];
    /* Each command line is "  name  summary". */
    while (sscanf(p, "  %63s", name) == 1 && strncmp(p, "  ", 2) == 0) {
        char args[128];
        snprintf(args, sizeof args, "%s --help", name);
        CHECK_MSG(run(args, out, sizeof out) == 0, "%s --help failed", name);
        CHECK_MSG(strstr(out, "usage: facesearch ") != NULL, "%s --help prints no usage", name);
        defaults += check_help_defaults(name, out);
        snprintf(args, sizeof args, "%s --no-such-flag", name);
        CHECK_MSG(run(args, out, sizeof out) == 1, "%s with a bad flag must exit 1", name);
        n++;
        p = strchr(p, '\n');
        if (!p)
            break;
        p++;
    }
    CHECK(n >= 1);
    static const char *const kinds[] = {"lfw", "ident", "cluster"};
    for (int i = 0; i < 3; i++) {
        snprintf(name, sizeof name, "eval %s --help", kinds[i]);
        CHECK_MSG(run(name, out, sizeof out) == 0, "%s failed", name);
        defaults += check_help_defaults(name, out);
    }
    CHECK_MSG(defaults >= 10, "only %d defaults found in the help texts", defaults);
}

TEST(cli_bad_config_is_usage_error)
{
    static char out[4096];
    char path[512], args[700];
    snprintf(path, sizeof path, "%s/cli-bad.conf", fs_test_tmpdir());
    FILE *f = fopen(path, "w");
    REQUIRE(f);
    fputs("[decode]\nmax_pixel = 5\n", f);
    fclose(f);
    snprintf(args, sizeof args, "info --config %s models/demo/sample1.jpg", path);
    CHECK_INT(run(args, out, sizeof out), 1);
    CHECK_MSG(strstr(out, "cli-bad.conf:2: unknown key 'decode.max_pixel'") != NULL, "got: %s", out);
}

/*
 * Every flag every command's --help lists is parsed by that command: run as
 * `facesearch CMD --FLAG [VALUE] --help`, it must be accepted (exit 0, the
 * usage printed), and no flag may be listed twice in one help text.  Together
 * with cli_getopt's check that no two options share a code, this catches a
 * flag that is documented but unknown, or one that silently acts as another
 * (ingest's --models once set --manifest, its --precision set --prune).
 */
#include <ctype.h>
#include <limits.h>
#include <stdlib.h>

#include "harness.h"

/* A value each kind of flag argument accepts. */
static const char *value_for(const char *flag, const char *meta)
{
    static const struct {
        const char *flag, *value;
    } known[] = {
        {"--config", "configs/default.conf"}, {"--recognizer", "mfn512"},
        {"--detector", "ssd"}, {"--precision", "auto"}, {"--fusion-weight", "0.5"},
        {"--min-score", "0.5"}, {"--input-size", "512"}, {"--method", "template"},
        {"--format", "text"}, {"--shards", "2"}, {"--protocol", "archive"},
        {"--baseline", "ssd"}, {"--far", "0.01"}, {"--variants", "flip"},
    };
    for (size_t i = 0; i < sizeof known / sizeof *known; i++)
        if (strcmp(flag, known[i].flag) == 0)
            return known[i].value;
    static char first[64];
    const char *bar = strchr(meta, '|');
    if (bar && (size_t)(bar - meta) < sizeof first) {
        memcpy(first, meta, (size_t)(bar - meta));
        first[bar - meta] = '\0';
        return first;
    }
    return "1";
}

typedef struct flag {
    char name[48], meta[48];
} flag;

/* The flags of an options list: lines whose first non-blank is '-', each
 * "-x META" or "--name META" up to the description (two blanks). */
static int parse_flags(const char *help, flag *out, int cap)
{
    int n = 0;
    for (const char *line = help; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
        const char *p = line;
        while (*p == ' ')
            p++;
        if (*p != '-' || p == line)
            continue;
        const char *end = strstr(p, "  ");
        const char *nl = strchr(p, '\n');
        if (!end || (nl && nl < end))
            end = nl ? nl : p + strlen(p);
        while (p < end && n < cap) {
            flag f = {"", ""};
            size_t k = strcspn(p, " ,\n");
            if ((size_t)(end - p) < k)
                k = (size_t)(end - p);
            if (k >= sizeof f.name)
                break;
            memcpy(f.name, p, k);
            p += k;
            if (*p == ' ' && p + 1 < end && p[1] != '-') {
                size_t m = strcspn(p + 1, " ,\n");
                if (m < sizeof f.meta && p + 1 + m <= end)
                    memcpy(f.meta, p + 1, m);
                p += 1 + m;
            }
            /* A flag is a dash or two and [a-z0-9-] ("--json:" in prose is not). */
            int ok = f.name[0] == '-' && f.name[1] && !isdigit((unsigned char)f.name[1]);
            for (const char *c = f.name; ok && *c; c++)
                ok = *c == '-' || islower((unsigned char)*c) || isdigit((unsigned char)*c);
            if (ok)
                out[n++] = f;
            while (p < end && (*p == ',' || *p == ' '))
                p++;
            if (p < end && *p != '-')
                break;
        }
    }
    return n;
}

/* Every command's name and --help text, eval's kinds included: calls
 * fn(ctx, cmd, help) for each; returns how many commands there were. */
static int each_command(void (*fn)(void *ctx, const char *cmd, const char *help), void *ctx)
{
    char sh[512];
    static char list[16384], help[65536];
    snprintf(sh, sizeof sh, "%s --help 2>&1", fs_test_bin());
    if (fs_test_sh(sh, list, sizeof list) != 0)
        return 0;
    int commands = 0;
    for (char *line = strtok(list, "\n"); line; line = strtok(NULL, "\n")) {
        char name[32];
        /* The command table: "  name   summary". */
        if (line[0] != ' ' || line[1] != ' ' || !islower((unsigned char)line[2]) ||
            sscanf(line, " %31s", name) != 1)
            continue;
        commands++;
        /* Commands with kinds: the flags are the kinds'. */
        const char *evals[] = {"eval lfw", "eval detect", "eval ident", "eval cluster",
                               "eval enrol"};
        const char *people[] = {"person add", "person from-group", "person list",
                                "person show", "person remove", "person rename",
                                "person unassign"};
        int eval = strcmp(name, "eval") == 0, person = strcmp(name, "person") == 0;
        const char **kinds = eval ? evals : people;
        int n_kinds = eval ? 5 : person ? 7 : 0;
        for (int k = 0; k <= n_kinds; k++) {
            const char *cmd = k == 0 ? name : kinds[k - 1];
            snprintf(sh, sizeof sh, "%s %s --help 2>&1", fs_test_bin(), cmd);
            int rc = fs_test_sh(sh, help, sizeof help);
            CHECK_MSG(rc == 0 && strncmp(help, "usage:", 6) == 0, "%s --help -> %d: %.200s",
                      cmd, rc, help);
            fn(ctx, cmd, help);
        }
    }
    return commands;
}

static void check_flags(void *ctx, const char *cmd, const char *help)
{
    (void)ctx;
    char sh[8192];
    static char out[65536];
    flag flags[128];
    int n = parse_flags(help, flags, 128);
    /* eval and person only dispatch to their kinds, which have the flags. */
    CHECK_MSG(n > 0 || strcmp(cmd, "eval") == 0 || strcmp(cmd, "person") == 0,
              "%s --help lists no flags", cmd);
    for (int i = 0; i < n; i++) {
        for (int j = 0; j < i; j++)
            CHECK_MSG(strcmp(flags[i].name, flags[j].name) != 0, "%s --help lists %s twice",
                      cmd, flags[i].name);
        if (strcmp(flags[i].name, "--help") == 0 || strcmp(flags[i].name, "-h") == 0)
            continue;
        char arg[160] = "";
        if (flags[i].meta[0])
            snprintf(arg, sizeof arg, " '%s'", value_for(flags[i].name, flags[i].meta));
        if (snprintf(sh, sizeof sh, "%s %s %s%s --help 2>&1", fs_test_bin(), cmd,
                     flags[i].name, arg) >= (int)sizeof sh)
            continue;
        int rc = fs_test_sh(sh, out, sizeof out);
        CHECK_MSG(rc == 0 && strncmp(out, "usage:", 6) == 0, "`%s %s%s --help` -> %d: %.300s",
                  cmd, flags[i].name, arg, rc, out);
    }
}

TEST(cli_every_listed_flag_of_every_command_parses)
{
    int commands = each_command(check_flags, NULL);
    CHECK_MSG(commands >= 12, "only %d commands found in facesearch --help", commands);
}

/* The man page (tools/manpage.sh, what make install installs) has a section
 * per command and names every flag its --help lists. */
static void check_in_man(void *ctx, const char *cmd, const char *help)
{
    const char *man = ctx;
    char section[64];
    snprintf(section, sizeof section, ".SS facesearch %s\n", cmd);
    CHECK_MSG(strstr(man, section) != NULL, "no man page section for %s", cmd);
    flag flags[128];
    int n = parse_flags(help, flags, 128);
    for (int i = 0; i < n; i++) {
        char esc[128] = "";
        for (const char *c = flags[i].name; *c && strlen(esc) < sizeof esc - 3; c++)
            strcat(esc, *c == '-' ? "\\-" : (char[]){*c, 0});
        CHECK_MSG(strstr(man, esc) != NULL, "the man page lacks %s of %s", flags[i].name, cmd);
    }
}

TEST(cli_man_page_follows_every_help_text)
{
    char sh[1024];
    static char man[1 << 18], warn[4096];
    snprintf(sh, sizeof sh, "tools/manpage.sh %s > %s/facesearch.1 && cat %s/facesearch.1",
             fs_test_bin(), fs_test_tmpdir(), fs_test_tmpdir());
    REQUIRE(fs_test_sh(sh, man, sizeof man) == 0);
    CHECK(strncmp(man, ".TH FACESEARCH 1", 16) == 0);
    each_command(check_in_man, man);
    /* groff's own checks: no warning on the page. */
    snprintf(sh, sizeof sh, "command -v groff >/dev/null || exit 0; "
             "groff -man -ww -z %s/facesearch.1 2>&1", fs_test_tmpdir());
    CHECK_INT(fs_test_sh(sh, warn, sizeof warn), 0);
    CHECK_MSG(warn[0] == '\0', "groff: %s", warn);
}

/* Bash completion offers the commands, then a command's own flags. */
TEST(cli_bash_completion_offers_commands_and_flags)
{
    char bin[PATH_MAX];
    static char sh[1 << 16], out[8192];
    REQUIRE(realpath(fs_test_bin(), bin));
    snprintf(sh, sizeof sh, "command -v bash >/dev/null || exit 77; bash -c '"
             "source tools/completion.bash; "
             "COMP_WORDS=(%s in); COMP_CWORD=1; _facesearch %s; echo \"${COMPREPLY[*]}\"; "
             "COMP_WORDS=(%s ingest --mo); COMP_CWORD=2; _facesearch %s; "
             "echo \"${COMPREPLY[*]}\"; "
             "COMP_WORDS=(%s eval lfw --pa); COMP_CWORD=3; _facesearch %s; "
             "echo \"${COMPREPLY[*]}\"'", bin, bin, bin, bin, bin, bin);
    int rc = fs_test_sh(sh, out, sizeof out);
    if (rc == 77)
        SKIP("no bash");
    CHECK_INT(rc, 0);
    CHECK_MSG(!strncmp(out, "info ingest init\n", 17) || !strncmp(out, "info init ingest\n", 17),
              "commands for 'in': %s", out);
    CHECK_MSG(strstr(out, "\n--models\n") != NULL, "ingest flags for '--mo': %s", out);
    CHECK_MSG(strstr(out, "\n--pairs\n") != NULL, "eval lfw flags for '--pa': %s", out);
}

/* The binary run from another directory finds the checkout's models next to
 * itself (build/../models); a copy with no models anywhere near says where
 * it looked. */
TEST(cli_models_are_found_next_to_the_binary)
{
    char bin[PATH_MAX], models[PATH_MAX], copy[PATH_MAX];
    static char cmd[1 << 16], out[8192];
    REQUIRE(realpath(fs_test_bin(), bin));
    if (!realpath(fs_test_models_dir(), models))
        SKIP("no models (make models)");
    char expect[PATH_MAX + 16], mine[PATH_MAX + 16];
    snprintf(expect, sizeof expect, "%s", models);
    /* Only a binary in BUILD/ of the checkout has the models at ../models. */
    snprintf(mine, sizeof mine, "%s", bin);
    *strrchr(mine, '/') = '\0';
    strcat(mine, "/../models");
    char resolved[PATH_MAX];
    if (!realpath(mine, resolved) || strcmp(resolved, expect) != 0)
        SKIP("the binary under test is not BUILD/facesearch of this checkout");
    snprintf(cmd, sizeof cmd, "cd %s && %s detect %s/demo/sample1.jpg 2>&1", fs_test_tmpdir(),
             bin, models);
    CHECK_INT(fs_test_sh(cmd, out, sizeof out), 0);
    CHECK_MSG(strstr(out, "3 faces") != NULL, "from another directory: %s", out);
    snprintf(copy, sizeof copy, "%s/lonely/bin", fs_test_tmpdir());
    snprintf(cmd, sizeof cmd, "mkdir -p %s && cp %s %s/ && cd %s && ./facesearch detect "
             "%s/demo/sample1.jpg 2>&1", copy, bin, copy, copy, models);
    CHECK_INT(fs_test_sh(cmd, out, sizeof out), 2);
    CHECK_MSG(strstr(out, "no models directory found (looked in models, ") &&
                  strstr(out, "/share/facesearch/models") && strstr(out, "--models DIR"),
              "a lost binary says where it looked: %s", out);
}

/* The systemd units: systemd-analyze accepts them, and the service's own
 * command lines run the nightly job on a small archive. */
TEST(cli_systemd_units_run_the_nightly_job)
{
    char bin[PATH_MAX], dir[PATH_MAX];
    static char sh[1 << 16], out[16384];
    REQUIRE(realpath(fs_test_bin(), bin));
    snprintf(dir, sizeof dir, "%s/systemd", fs_test_tmpdir());
    /* The units as installed for this binary (make install rewrites the
     * path the same way), minus the man page link that is not installed. */
    snprintf(sh, sizeof sh,
             "mkdir -p %s/photos && cp %s/demo/sample1.jpg %s/demo/sample2.jpg %s/photos/ && "
             "for u in service timer; do sed -e 's|/usr/local/bin/facesearch|%s|' "
             "-e '/^Documentation=/d' configs/systemd/facesearch-nightly.$u "
             "> %s/facesearch-nightly.$u; done",
             dir, fs_test_models_dir(), fs_test_models_dir(), dir, bin, dir);
    REQUIRE(fs_test_sh(sh, out, sizeof out) == 0);
    snprintf(sh, sizeof sh, "command -v systemd-analyze >/dev/null || exit 0; "
             "systemd-analyze verify %s/facesearch-nightly.service %s/facesearch-nightly.timer 2>&1",
             dir, dir);
    CHECK_INT(fs_test_sh(sh, out, sizeof out), 0);
    CHECK_MSG(out[0] == '\0', "systemd-analyze: %s", out);
    /* Each ExecStart with the unit's variables set as systemd would. */
    snprintf(sh, sizeof sh,
             "set -e; FACESEARCH_DB=%s/db; FACESEARCH_PHOTOS=%s/photos; "
             "sed -n 's/^ExecStart=//p' %s/facesearch-nightly.service | "
             "while read -r line; do eval \"$line\" >/dev/null; done; "
             "%s stats --db %s/db --json", dir, dir, dir, bin, dir);
    CHECK_INT(fs_test_sh(sh, out, sizeof out), 0);
    const char *p = strstr(out, "\"images_ok\":");
    CHECK_MSG(p && atoi(p + 12) == 2, "the nightly job's database: %s", out);
    snprintf(sh, sizeof sh, "test -s %s/db/faces.faiss", dir);
    CHECK_MSG(fs_test_sh(sh, out, sizeof out) == 0, "the nightly job built no index");
}

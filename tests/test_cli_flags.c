/*
 * Every flag every command's --help lists is parsed by that command: run as
 * `facesearch CMD --FLAG [VALUE] --help`, it must be accepted (exit 0, the
 * usage printed), and no flag may be listed twice in one help text.  Together
 * with cli_getopt's check that no two options share a code, this catches a
 * flag that is documented but unknown, or one that silently acts as another
 * (ingest's --models once set --manifest, its --precision set --prune).
 */
#include <ctype.h>
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
        {"--min-score", "0.5"}, {"--input-size", "512"}, {"--method", "whispers"},
        {"--format", "text"}, {"--shards", "2"}, {"--protocol", "archive"},
        {"--baseline", "ssd"},
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

static void check_command(const char *cmd)
{
    char sh[8192];
    static char help[65536], out[65536];
    snprintf(sh, sizeof sh, "%s %s --help 2>&1", fs_test_bin(), cmd);
    int rc = fs_test_sh(sh, help, sizeof help);
    CHECK_MSG(rc == 0 && strncmp(help, "usage:", 6) == 0, "%s --help -> %d: %.200s", cmd, rc,
              help);
    flag flags[128];
    int n = parse_flags(help, flags, 128);
    CHECK_MSG(n > 0, "%s --help lists no flags", cmd);
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
        rc = fs_test_sh(sh, out, sizeof out);
        CHECK_MSG(rc == 0 && strncmp(out, "usage:", 6) == 0, "`%s %s%s --help` -> %d: %.300s",
                  cmd, flags[i].name, arg, rc, out);
    }
}

TEST(cli_every_listed_flag_of_every_command_parses)
{
    char sh[512];
    static char list[16384];
    snprintf(sh, sizeof sh, "%s --help 2>&1", fs_test_bin());
    REQUIRE(fs_test_sh(sh, list, sizeof list) == 0);
    int commands = 0;
    for (char *line = strtok(list, "\n"); line; line = strtok(NULL, "\n")) {
        char name[32];
        /* The command table: "  name   summary". */
        if (line[0] != ' ' || line[1] != ' ' || !islower((unsigned char)line[2]) ||
            sscanf(line, " %31s", name) != 1)
            continue;
        commands++;
        if (strcmp(name, "eval") == 0) {
            const char *kinds[] = {"eval lfw", "eval detect", "eval ident", "eval cluster"};
            for (size_t k = 0; k < sizeof kinds / sizeof *kinds; k++)
                check_command(kinds[k]);
        } else {
            check_command(name);
        }
    }
    CHECK_MSG(commands >= 12, "only %d commands found in facesearch --help", commands);
}

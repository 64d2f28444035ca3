/* Shared command-line plumbing (see tools/cli.h). */
#include "cli.h"

#include "facesearch/face.h"
#include "facesearch/image.h"

#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Where `make install` puts the models (share/facesearch under PREFIX). */
#ifndef FS_DATADIR
#define FS_DATADIR "/usr/local/share/facesearch"
#endif

static int is_dir(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

void cli_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("facesearch: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

int cli_fail(const fs_error *e)
{
    cli_error("%s", e->msg[0] ? e->msg : fs_status_name(e->code));
    return fs_exit_code(e->code);
}

int cli_usage_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "facesearch %s: ", cmd);
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\nTry 'facesearch %s --help'.\n", cmd);
    va_end(ap);
    return EXIT_USAGE;
}

int cli_model_places(char places[CLI_MODEL_PLACES][4200])
{
    int n = 0;
    snprintf(places[n++], 4200, "models");
    char exe[4096];
    ssize_t len = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (len > 0) {
        exe[len] = '\0';
        char *slash = strrchr(exe, '/');
        if (slash) {
            *slash = '\0'; /* the executable's directory: build/ or PREFIX/bin */
            snprintf(places[n++], 4200, "%s/../models", exe);
            snprintf(places[n++], 4200, "%s/../share/facesearch/models", exe);
        }
    }
    snprintf(places[n++], 4200, "%s/models", FS_DATADIR);
    return n;
}

const char *cli_decode_helper(char *buf, size_t cap)
{
    char exe[4096];
    ssize_t len = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (len <= 0)
        return NULL;
    exe[len] = '\0';
    char *slash = strrchr(exe, '/');
    if (!slash)
        return NULL;
    *slash = '\0';
    snprintf(buf, cap, "%s/facesearch", exe);
    return access(buf, X_OK) == 0 ? buf : NULL;
}

int cli_decode_file(const char *path, const fs_decode_opts *o, fs_image *img,
                    fs_image_info *info, fs_error *e)
{
    uint8_t head[64];
    size_t n = 0;
    FILE *f = fopen(path, "rb");
    if (f) {
        n = fread(head, 1, sizeof head, f);
        fclose(f);
    }
    fs_format fmt = fs_image_sniff(head, n);
    char helper[4200];
    if ((fmt == FS_FORMAT_HEIF || fmt == FS_FORMAT_AVIF) &&
        cli_decode_helper(helper, sizeof helper))
        return fs_image_decode_isolated(helper, path, o, img, info, e);
    return fs_image_decode_file(path, o, img, info, e);
}

int cli_engine_create(const fs_config *cfg, const fs_engine_opts *o, fs_engine **out,
                      fs_error *e)
{
    const char *models = fs_config_str(cfg, "paths.models");
    int rc = fs_engine_create(models, o, out, e);
    if (rc == FS_EMODEL && strcmp(models, "models") == 0 && !is_dir(models)) {
        char places[CLI_MODEL_PLACES][4200];
        int n = cli_model_places(places);
        char where[CLI_MODEL_PLACES * 4200 + 16] = "";
        for (int i = 0; i < n; i++) {
            strcat(where, i ? ", " : "");
            strcat(where, places[i]);
        }
        fs_fail(e, FS_EMODEL, "no models directory found (looked in %s): give --models DIR, "
                "set paths.models, or run make models", where);
    }
    return rc;
}

fs_config *cli_config_open(int argc, char **argv, int *exit_code)
{
    fs_config *cfg = fs_config_create();
    if (!cfg) {
        cli_error("out of memory");
        *exit_code = EXIT_INTERNAL;
        return NULL;
    }
    const char *path = getenv("FACESEARCH_CONFIG");
    if (path && !*path)
        path = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--") == 0)
            break;
        if (strcmp(argv[i], "--config") == 0 && i + 1 < argc)
            path = argv[++i];
        else if (strncmp(argv[i], "--config=", 9) == 0)
            path = argv[i] + 9;
    }
    if (path) {
        fs_error e = {0};
        if (fs_config_load(cfg, path, &e) != FS_OK) {
            *exit_code = e.code == FS_EIO ? EXIT_DATA : EXIT_USAGE;
            cli_error("%s", e.msg);
            fs_config_destroy(cfg);
            return NULL;
        }
    }
    /* The default "models" is relative to a source checkout; a binary run
     * from elsewhere looks next to itself, then in its install prefix. */
    const char *models = fs_config_str(cfg, "paths.models");
    if (strcmp(models, "models") == 0 && !is_dir(models)) {
        char places[CLI_MODEL_PLACES][4200];
        int n = cli_model_places(places);
        for (int i = 1; i < n; i++)
            if (is_dir(places[i])) {
                fs_error e = {0};
                fs_config_set(cfg, "paths.models", places[i], "models found", &e);
                break;
            }
    }
    *exit_code = EXIT_OK;
    return cfg;
}

int cli_config_set(fs_config *cfg, const char *key, const char *value,
                   const char *flag)
{
    fs_error e = {0};
    if (fs_config_set(cfg, key, value, flag, &e) != FS_OK) {
        cli_error("%s", e.msg);
        return EXIT_USAGE;
    }
    return 0;
}

void json_str(FILE *f, const char *s)
{
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        switch (*p) {
        case '"': fputs("\\\"", f); break;
        case '\\': fputs("\\\\", f); break;
        case '\n': fputs("\\n", f); break;
        case '\r': fputs("\\r", f); break;
        case '\t': fputs("\\t", f); break;
        default:
            if (*p < 0x20)
                fprintf(f, "\\u%04x", *p);
            else
                fputc(*p, f);
        }
    }
    fputc('"', f);
}

double cli_threshold(const fs_config *cfg, const char *section, const char *recognizer)
{
    char key[64];
    snprintf(key, sizeof key, "%s.threshold", section);
    double t = fs_config_real(cfg, key);
    if (t != 0)
        return t;
    snprintf(key, sizeof key, "%s.%s", section, recognizer);
    return fs_config_real(cfg, key);
}

int cli_getopt(int argc, char **argv, const char *shortopts, const struct option *opts)
{
    for (const struct option *a = opts; a->name; a++)
        for (const struct option *b = a + 1; b->name; b++)
            if (!a->flag && !b->flag && a->val == b->val) {
                cli_error("internal error: options --%s and --%s share the code %d",
                          a->name, b->name, a->val);
                exit(EXIT_INTERNAL);
            }
    return getopt_long(argc, argv, shortopts, opts, NULL);
}

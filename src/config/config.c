/* Configuration values: parsing, validation, lookup (see facesearch/config.h). */
#include "facesearch/config.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

typedef struct value {
    char *text;      /* canonical text, owned */
    long long i;
    double r;
} value;

struct fs_config {
    int n;
    value *v;        /* parallel to the schema */
};

static int key_index(const char *key)
{
    int n = fs_config_key_count();
    for (int i = 0; i < n; i++)
        if (strcmp(fs_config_key_at(i)->name, key) == 0)
            return i;
    return -1;
}

static int parse_bool(const char *s, int *out)
{
    static const char *const yes[] = {"true", "yes", "on", "1"};
    static const char *const no[] = {"false", "no", "off", "0"};
    for (int i = 0; i < 4; i++) {
        if (strcasecmp(s, yes[i]) == 0) { *out = 1; return 1; }
        if (strcasecmp(s, no[i]) == 0) { *out = 0; return 1; }
    }
    return 0;
}

static int enum_has(const char *choices, const char *s)
{
    size_t n = strlen(s);
    for (const char *p = choices; p && *p;) {
        const char *bar = strchr(p, '|');
        size_t len = bar ? (size_t)(bar - p) : strlen(p);
        if (len == n && strncmp(p, s, n) == 0)
            return 1;
        p = bar ? bar + 1 : NULL;
    }
    return 0;
}

/* Validates text against key k and stores it in *v. */
static int assign(const fs_config_key *k, value *v, const char *text,
                  const char *where, fs_error *err)
{
    value nv = {0};
    char *end;
    switch (k->type) {
    case FS_CFG_INT:
        errno = 0;
        nv.i = strtoll(text, &end, 10);
        if (errno || end == text || *end)
            return fs_fail(err, FS_EUSAGE, "%s: %s: '%s' is not an integer", where, k->name, text);
        if (nv.i < k->min || nv.i > k->max)
            return fs_fail(err, FS_EUSAGE, "%s: %s: %lld is outside [%.15g, %.15g]",
                           where, k->name, nv.i, k->min, k->max);
        nv.r = (double)nv.i;
        break;
    case FS_CFG_REAL:
        errno = 0;
        nv.r = strtod(text, &end);
        if (errno || end == text || *end || !isfinite(nv.r))
            return fs_fail(err, FS_EUSAGE, "%s: %s: '%s' is not a number", where, k->name, text);
        if (nv.r < k->min || nv.r > k->max)
            return fs_fail(err, FS_EUSAGE, "%s: %s: %g is outside [%g, %g]",
                           where, k->name, nv.r, k->min, k->max);
        break;
    case FS_CFG_BOOL: {
        int b;
        if (!parse_bool(text, &b))
            return fs_fail(err, FS_EUSAGE, "%s: %s: '%s' is not a boolean (true/false)",
                           where, k->name, text);
        nv.i = b;
        text = b ? "true" : "false";
        break;
    }
    case FS_CFG_ENUM:
        if (!enum_has(k->choices, text))
            return fs_fail(err, FS_EUSAGE, "%s: %s: '%s' is not one of %s",
                           where, k->name, text, k->choices);
        break;
    case FS_CFG_STRING:
        break;
    }
    nv.text = strdup(text);
    if (!nv.text)
        return fs_fail(err, FS_ENOMEM, "%s: out of memory", where);
    free(v->text);
    *v = nv;
    return FS_OK;
}

fs_config *fs_config_create(void)
{
    fs_config *cfg = calloc(1, sizeof *cfg);
    if (!cfg)
        return NULL;
    cfg->n = fs_config_key_count();
    cfg->v = calloc((size_t)cfg->n, sizeof *cfg->v);
    if (!cfg->v) {
        free(cfg);
        return NULL;
    }
    for (int i = 0; i < cfg->n; i++) {
        fs_error e = {0};
        const fs_config_key *k = fs_config_key_at(i);
        if (assign(k, &cfg->v[i], k->dflt, "built-in default", &e) != FS_OK) {
            /* A schema bug (default out of range) or out of memory. */
            fprintf(stderr, "facesearch: %s\n", e.msg);
            fs_config_destroy(cfg);
            return NULL;
        }
    }
    return cfg;
}

void fs_config_destroy(fs_config *cfg)
{
    if (!cfg)
        return;
    for (int i = 0; i < cfg->n; i++)
        free(cfg->v[i].text);
    free(cfg->v);
    free(cfg);
}

int fs_config_set(fs_config *cfg, const char *key, const char *value_text,
                  const char *origin, fs_error *err)
{
    const char *where = origin ? origin : key;
    int i = key_index(key);
    if (i < 0)
        return fs_fail(err, FS_EUSAGE, "%s: unknown key '%s'", where, key);
    return assign(fs_config_key_at(i), &cfg->v[i], value_text, where, err);
}

static char *trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    char *e = s + strlen(s);
    while (e > s && isspace((unsigned char)e[-1]))
        *--e = '\0';
    return s;
}

int fs_config_load(fs_config *cfg, const char *path, fs_error *err)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return fs_fail(err, FS_EIO, "%s: cannot open config: %s", path, strerror(errno));
    char line[4096], section[128] = "", where[600], key[300];
    int lineno = 0, rc = FS_OK;
    while (rc == FS_OK && fgets(line, sizeof line, f)) {
        lineno++;
        snprintf(where, sizeof where, "%s:%d", path, lineno);
        if (!strchr(line, '\n') && !feof(f)) {
            rc = fs_fail(err, FS_EUSAGE, "%s: line too long", where);
            break;
        }
        char *s = trim(line);
        if (!*s || *s == '#' || *s == ';')
            continue;
        if (*s == '[') {
            char *close = strchr(s, ']');
            if (!close || *trim(close + 1) || close == s + 1 ||
                (size_t)(close - s) >= sizeof section) {
                rc = fs_fail(err, FS_EUSAGE, "%s: bad section header '%s'", where, s);
                break;
            }
            *close = '\0';
            snprintf(section, sizeof section, "%s", trim(s + 1));
            continue;
        }
        char *eq = strchr(s, '=');
        if (!eq) {
            rc = fs_fail(err, FS_EUSAGE, "%s: expected 'name = value', got '%s'", where, s);
            break;
        }
        *eq = '\0';
        char *name = trim(s), *val = trim(eq + 1);
        /* Allow trailing comments after whitespace: "x = 3   # why". */
        for (char *c = val; *c; c++)
            if ((*c == '#' || *c == ';') && c > val && isspace((unsigned char)c[-1])) {
                *c = '\0';
                val = trim(val);
                break;
            }
        if (!*name) {
            rc = fs_fail(err, FS_EUSAGE, "%s: missing key name", where);
            break;
        }
        if (section[0])
            snprintf(key, sizeof key, "%s.%s", section, name);
        else
            snprintf(key, sizeof key, "%s", name);
        rc = fs_config_set(cfg, key, val, where, err);
    }
    if (rc == FS_OK && ferror(f))
        rc = fs_fail(err, FS_EIO, "%s: read error", path);
    fclose(f);
    return rc;
}

static const value *lookup(const fs_config *cfg, const char *key, fs_config_type t)
{
    int i = key_index(key);
    const fs_config_key *k = fs_config_key_at(i);
    if (!k || (k->type != t && !(t == FS_CFG_STRING && k->type == FS_CFG_ENUM))) {
        fprintf(stderr, "facesearch: internal error: config key '%s' missing or mistyped\n", key);
        abort();
    }
    return &cfg->v[i];
}

long long fs_config_int(const fs_config *cfg, const char *key)
{
    return lookup(cfg, key, FS_CFG_INT)->i;
}

double fs_config_real(const fs_config *cfg, const char *key)
{
    return lookup(cfg, key, FS_CFG_REAL)->r;
}

int fs_config_bool(const fs_config *cfg, const char *key)
{
    return (int)lookup(cfg, key, FS_CFG_BOOL)->i;
}

const char *fs_config_str(const fs_config *cfg, const char *key)
{
    return lookup(cfg, key, FS_CFG_STRING)->text;
}

const char *fs_config_text(const fs_config *cfg, const char *key)
{
    int i = key_index(key);
    return i < 0 ? NULL : cfg->v[i].text;
}

/*
 * facesearch/config.h — every tunable in one place.
 *
 * A configuration is a set of typed keys "section.name" with built-in
 * defaults (the same values configs/default.conf spells out).  Values come,
 * in increasing priority, from the defaults, a config file (INI style:
 * `[section]` headers, `name = value` lines, `#` or `;` comments) and
 * per-option command-line flags (fs_config_set).  An unknown key or a value
 * of the wrong type or out of range is an error naming where it came from
 * ("file:line: ..." for files).
 */
#ifndef FACESEARCH_CONFIG_H
#define FACESEARCH_CONFIG_H

#include "facesearch/common.h"

typedef struct fs_config fs_config;

typedef enum fs_config_type {
    FS_CFG_INT,    /* 64-bit integer, range-checked */
    FS_CFG_REAL,   /* double, range-checked */
    FS_CFG_BOOL,   /* true/false/yes/no/on/off/1/0 */
    FS_CFG_STRING, /* free text (paths, factory strings) */
    FS_CFG_ENUM    /* one of a '|'-separated list of words */
} fs_config_type;

/* Description of one key (the schema lives in src/config/keys.c). */
typedef struct fs_config_key {
    const char *name;     /* "section.name" */
    fs_config_type type;
    const char *dflt;     /* default, as text */
    double min, max;      /* range for INT/REAL (inclusive) */
    const char *choices;  /* ENUM: "a|b|c" */
    const char *doc;      /* one line */
} fs_config_key;

/* Creates a configuration holding the built-in defaults.  Returns NULL only
 * when out of memory.  Release with fs_config_destroy. */
fs_config *fs_config_create(void);

/* Frees cfg and every string it holds; NULL is a no-op. */
void fs_config_destroy(fs_config *cfg);

/* Reads an INI file over the current values.  Errors: FS_EIO (cannot read),
 * FS_EUSAGE ("path:line: unknown key 'x'", bad syntax, bad value). */
int fs_config_load(fs_config *cfg, const char *path, fs_error *err);

/* Sets one key from text ("detect.min_score", "0.6").  `origin` names where
 * the value came from for messages (e.g. "--min-score"); may be NULL.
 * Errors: FS_EUSAGE for unknown keys and invalid values. */
int fs_config_set(fs_config *cfg, const char *key, const char *value,
                  const char *origin, fs_error *err);

/* Typed getters.  The key must exist and have that type (a programming error
 * otherwise: they abort with a message, as a wrong key name is a bug). */
long long fs_config_int(const fs_config *cfg, const char *key);
double fs_config_real(const fs_config *cfg, const char *key);
int fs_config_bool(const fs_config *cfg, const char *key);
const char *fs_config_str(const fs_config *cfg, const char *key); /* also ENUM */

/* The value of any key as canonical text (booleans as true/false); NULL for
 * an unknown key.  The pointer stays valid until the key is set again. */
const char *fs_config_text(const fs_config *cfg, const char *key);

/* The schema: number of keys and the i-th key (0 <= i < count). */
int fs_config_key_count(void);
const fs_config_key *fs_config_key_at(int i);

#endif

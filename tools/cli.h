/*
 * tools/cli.h — what every `facesearch <command>` shares: the command table,
 * option parsing over the configuration, error printing and JSON helpers.
 */
#ifndef FS_TOOLS_CLI_H
#define FS_TOOLS_CLI_H

#include <stdio.h>

#include "facesearch/common.h"
#include "facesearch/config.h"

/* Exit codes (stable; scripts rely on them). */
enum { EXIT_OK = 0, EXIT_USAGE = 1, EXIT_DATA = 2, EXIT_INTERNAL = 3 };

typedef struct fs_command {
    const char *name;
    int (*run)(int argc, char **argv); /* argv[0] is the command name */
    const char *summary;
} fs_command;

/* Prints "facesearch: <msg>" to stderr. */
void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Prints e's message and returns the exit code for its status. */
int cli_fail(const fs_error *e);

/* Prints "facesearch <cmd>: <msg>\nTry 'facesearch <cmd> --help'." and
 * returns EXIT_USAGE. */
int cli_usage_error(const char *cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/*
 * The configuration a command runs with: defaults, then --config FILE (or
 * $FACESEARCH_CONFIG), then flags.  cli_config_open scans argv for --config
 * first so that flags given before it still win.  Returns NULL after printing
 * the error (exit code in *exit_code).
 */
fs_config *cli_config_open(int argc, char **argv, int *exit_code);

/* Applies one flag value to a config key, printing the error on failure.
 * Returns 0 on success, else the exit code. */
int cli_config_set(fs_config *cfg, const char *key, const char *value,
                   const char *flag);

/* A cosine-similarity threshold of `section` ("verify", "query", "dedup")
 * for a recogniser: SECTION.threshold when set (non-zero), else
 * SECTION.RECOGNIZER, the recogniser's calibrated value. */
double cli_threshold(const fs_config *cfg, const char *section, const char *recognizer);

/* Where a default paths.models ("models", relative to a source checkout)
 * is looked for, in order: ./models, next to the executable
 * (EXE_DIR/../models: build/facesearch finds the checkout's models from any
 * directory), the prefix the executable sits in
 * (EXE_DIR/../share/facesearch/models) and the prefix it was built for
 * (FS_DATADIR/models).  cli_config_open takes the first that exists.
 * Fills places and returns how many. */
#define CLI_MODEL_PLACES 4
int cli_model_places(char places[CLI_MODEL_PLACES][4200]);

/* The plain facesearch binary next to this one (itself, or the sibling of
 * facesearch-mpi), which decodes HEIF/AVIF photos in a child process for
 * ingest (fs_image_decode_isolated); NULL when there is none (then they are
 * decoded in-process).  Written into buf. */
const char *cli_decode_helper(char *buf, size_t cap);

/* fs_image_decode_file, except that HEIF/AVIF photos are decoded in a
 * child process when cli_decode_helper finds one: a hostile file that
 * crashes libheif costs that photo, not the command. */
struct fs_image;
struct fs_image_info;
struct fs_decode_opts;
int cli_decode_file(const char *path, const struct fs_decode_opts *o, struct fs_image *img,
                    struct fs_image_info *info, fs_error *e);

/* fs_engine_create over paths.models; when the default was found nowhere,
 * the error says where it looked. */
struct fs_engine;
struct fs_engine_opts;
int cli_engine_create(const fs_config *cfg, const struct fs_engine_opts *o,
                      struct fs_engine **out, fs_error *e);

/* getopt_long(argc, argv, shortopts, opts, NULL), after checking that no
 * two long options of the table share a code: such a pair makes one flag
 * silently act as the other (ingest's --models once set --manifest).  A
 * clash is a bug, reported with both names, and ends the process with
 * EXIT_INTERNAL, so every command's --help run in the tests catches it. */
struct option;
int cli_getopt(int argc, char **argv, const char *shortopts, const struct option *opts);

/* Writes s as a JSON string literal (with quotes) to f. */
void json_str(FILE *f, const char *s);

#endif

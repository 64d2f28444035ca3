/*
 * tools/face_cli.h — what the face commands (detect, embed, verify) share:
 * the engine options as flags over the configuration, engine and worker
 * set-up, decoding and running one photo, JSON for a face.
 */
#ifndef FS_TOOLS_FACE_CLI_H
#define FS_TOOLS_FACE_CLI_H

#include <getopt.h>
#include <stdio.h>

#include "cli.h"
#include "facesearch/face.h"

/* Codes of the long-only face options (above any character). */
enum {
    FACE_OPT_FIT = 1000, FACE_OPT_NO_FIT, FACE_OPT_TILE, FACE_OPT_FALLBACK,
    FACE_OPT_NO_FALLBACK, FACE_OPT_ALIGN, FACE_OPT_FLIP, FACE_OPT_NO_FLIP, FACE_OPT_REFERENCE,
    FACE_OPT_RECOGNIZER, FACE_OPT_FUSION_WEIGHT, FACE_OPT_LM_FLIP, FACE_OPT_NO_LM_FLIP
};

/* Long options every face command accepts; splice into its option table. */
#define FACE_CLI_LONG_OPTIONS                                  \
    {"config", required_argument, 0, 'C'},                     \
    {"models", required_argument, 0, 'm'},                     \
    {"detector", required_argument, 0, 'D'},                   \
    {"min-score", required_argument, 0, 'S'},                  \
    {"max-faces", required_argument, 0, 'M'},                  \
    {"input-size", required_argument, 0, 'I'},                 \
    {"no-orientation", no_argument, 0, 'O'},                   \
    {"threads", required_argument, 0, 'T'},                    \
    {"precision", required_argument, 0, 'P'},                  \
    {"fit", no_argument, 0, FACE_OPT_FIT},                     \
    {"no-fit", no_argument, 0, FACE_OPT_NO_FIT},               \
    {"tile", required_argument, 0, FACE_OPT_TILE},             \
    {"fallback", no_argument, 0, FACE_OPT_FALLBACK},           \
    {"no-fallback", no_argument, 0, FACE_OPT_NO_FALLBACK},     \
    {"align", required_argument, 0, FACE_OPT_ALIGN},           \
    {"flip", no_argument, 0, FACE_OPT_FLIP},                   \
    {"no-flip", no_argument, 0, FACE_OPT_NO_FLIP},             \
    {"reference", no_argument, 0, FACE_OPT_REFERENCE},         \
    {"recognizer", required_argument, 0, FACE_OPT_RECOGNIZER}, \
    {"fusion-weight", required_argument, 0, FACE_OPT_FUSION_WEIGHT}, \
    {"landmark-flip", no_argument, 0, FACE_OPT_LM_FLIP},       \
    {"no-landmark-flip", no_argument, 0, FACE_OPT_NO_LM_FLIP}

/* Help lines for FACE_CLI_LONG_OPTIONS. */
void face_cli_help_options(FILE *f);

/* Applies one of FACE_CLI_LONG_OPTIONS (getopt code c, value arg) to cfg.
 * Returns 0 when applied, an exit code when the value is bad (message
 * printed), or -1 when c is not one of them. */
int face_cli_option(fs_config *cfg, int c, const char *arg);

/* A command's handler for its own options (code c, value arg): returns 0 or
 * an exit code. */
typedef int (*face_cli_flag_fn)(void *ctx, fs_config *cfg, int c, const char *arg);

/* Parses argv for command `cmd`: --help (calls help), the command's own
 * options `extra` (terminated by a zero entry; passed to flag with ctx) and
 * FACE_CLI_LONG_OPTIONS, over the configuration (cli_config_open).  Returns
 * -1 with *cfg set (caller destroys it) and optind at the first operand, or
 * an exit code to return at once (0 after --help). */
int face_cli_parse(int argc, char **argv, const char *cmd, void (*help)(void),
                   const struct option *extra, face_cli_flag_fn flag, void *ctx,
                   fs_config **cfg);

typedef struct face_cli {
    fs_engine *engine;
    fs_worker *worker;
    fs_decode_opts dopts;
    fs_face *faces;  /* max_faces entries */
    int cap;
} face_cli;

/* Engine options and decoding options from cfg.  Returns 0, or an exit code
 * after printing the error. */
int face_cli_options(const fs_config *cfg, fs_engine_opts *o, fs_decode_opts *d);

/* Creates the engine (models from paths.models) and one worker from cfg.
 * Returns 0, or an exit code after printing the error. */
int face_cli_start(face_cli *fc, const fs_config *cfg);

/* Releases what face_cli_start made; safe on a zeroed struct. */
void face_cli_end(face_cli *fc);

/* Decodes path into *img (released by the caller with fs_image_free) and
 * runs `stages`; faces land in fc->faces, their count in *n, the time spent
 * (decode excluded) in *ms.  Returns 0 or an exit code after printing an
 * error that names the file. */
int face_cli_photo(face_cli *fc, const char *path, int stages, fs_image *img, int *n,
                   double *ms);

/* Prints the faces of one photo found by engine e. */
typedef void (*face_cli_print_fn)(void *ctx, const fs_engine *e, const char *path,
                                  const fs_image *img, const fs_face *faces, int n, double ms);

/* The body of a per-photo command: starts the engine from cfg (destroying
 * cfg), runs `stages` on argv[first..argc-1] one by one and prints each with
 * print; a photo that fails is reported and skipped.  Returns the exit code:
 * 0, or the worst one met. */
int face_cli_each_photo(fs_config *cfg, int argc, char **argv, int first, int stages,
                        face_cli_print_fn print, void *ctx);

/* Writes a face as a JSON object: score, box {x,y,width,height}, and the
 * landmarks ([[x,y],...]) when asked and present, and the descriptor's
 * first descriptor_dim values when > 0 and present (the golden files'
 * layout, so tools/compare.mjs can diff them). */
void face_cli_json_face(FILE *f, const fs_face *face, int landmarks, int descriptor_dim);

/* Writes {"path":...,"width":...,"height":...,"faces":[...],"ms":...} on
 * one line; with descriptors, also "descriptor_mode" (e's). */
void face_cli_json_photo(FILE *f, const fs_engine *e, const char *path, const fs_image *img,
                         const fs_face *faces, int n, double ms, int landmarks,
                         int descriptor);

#endif

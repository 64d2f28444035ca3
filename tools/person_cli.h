/* tools/person_cli.h — what `facesearch person` subcommands share. */
#ifndef FS_TOOLS_PERSON_CLI_H
#define FS_TOOLS_PERSON_CLI_H

#include <stdint.h>

#include "facesearch/config.h"
#include "facesearch/people.h"

/* The flags of every person subcommand (each documents those it uses). */
typedef struct person_opts {
    int json, augment;
    uint64_t *ids;   /* --face-id, repeatable */
    int n_ids;
} person_opts;

/* Parses argv (argv[0] the subcommand) with the engine's flags, --db,
 * --json, --face-id, --augment.  Returns -1 with *cfg set and optind at the
 * first operand, or an exit code. */
int person_parse(int argc, char **argv, const char *cmd, void (*help)(void), person_opts *o,
                 fs_config **cfg);

/* Writes an example's `"face_id":ID-or-null,"photo":"..."` JSON members. */
void person_json_face(const fs_example *x);

/* Enrols faces: `person add` and `person from-group`. */
int person_add(int argc, char **argv);
int person_from_group(int argc, char **argv);

/* Every face of the dedup group holding face `rep`, grouped as `facesearch
 * dedup` groups them with cfg's settings (tools/cmd_dedup.c): *ids
 * (malloc'ed) and *n.  Returns an exit code (message printed). */
int dedup_group_of(fs_config *cfg, uint64_t rep, uint64_t **ids, size_t *n);

/* The names of the last `facesearch label` run (tools/label_names.c):
 * NULL when dir has no people or was never labelled (label_name then
 * gives ""). */
typedef struct label_names label_names;
label_names *label_names_open(const char *dir);
/* The name of face's person into out ("" for unknown or unlabelled). */
const char *label_name(label_names *n, uint64_t face, char out[FS_PERSON_NAME_MAX + 1]);
void label_names_close(label_names *n);

#endif

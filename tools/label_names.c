/* The names `facesearch label` gave stored faces, for the commands that
 * print faces (query, dedup). */
#include <stdlib.h>

#include "person_cli.h"

struct label_names {
    fs_people *p;
    uint64_t fingerprint; /* of the last finished label run */
};

label_names *label_names_open(const char *dir)
{
    fs_people *p = NULL;
    fs_label_summary sum;
    if (fs_people_open(dir, FS_DB_READONLY, &p, NULL) != FS_OK ||
        fs_people_label_summary(p, &sum, NULL) != FS_OK || !sum.fingerprint) {
        fs_people_close(p);
        return NULL;
    }
    label_names *n = malloc(sizeof *n);
    if (!n) {
        fs_people_close(p);
        return NULL;
    }
    n->p = p;
    n->fingerprint = sum.fingerprint;
    return n;
}

const char *label_name(label_names *n, uint64_t face, char out[FS_PERSON_NAME_MAX + 1])
{
    fs_label l;
    out[0] = '\0';
    if (n && fs_people_labels_get(n->p, &face, 1, &l, NULL) == FS_OK && l.person &&
        l.fingerprint == n->fingerprint)
        fs_people_name_of(n->p, l.person, out, NULL);
    return out;
}

void label_names_close(label_names *n)
{
    if (!n)
        return;
    fs_people_close(n->p);
    free(n);
}

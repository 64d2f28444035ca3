/*
 * tests/ingest_util.h — what the end-to-end tests of ingest and of faults
 * share: photo folders with real faces, running the binary, and a digest of
 * a database's content.
 */
#ifndef FS_TEST_INGEST_UTIL_H
#define FS_TEST_INGEST_UTIL_H

#include <stddef.h>

/* A folder <tmpdir>/name of n photos: crops/rescales of the six samples
 * (real faces), each different.  Returns its path (static storage) or NULL. */
const char *make_photos(const char *name, int n);

/* Runs the built facesearch with args; stdout+stderr into out.  Returns the
 * exit status (fs_test_sh). */
int fsr(const char *args, char *out, size_t cap);

/* The value of "key": in a one-line JSON object, or -1. */
long long json_num(const char *json, const char *key);

/* A canonical digest of a database's content, independent of ids and of the
 * order photos were processed in (malloc'ed; "" for no database).  *faces:
 * faces in the photo records, *table: rows of the face table, *counted: the
 * stats counter; the three agree on a sound database. */
char *db_digest(const char *dir, long *faces, long *table, long *counted);

#endif

/* The descriptor space a database is tied to (see store_cli.h). */
#include "store_cli.h"

#include <stdio.h>
#include <string.h>

void store_cli_model(const fs_engine *e, fs_db_model *m, char *buf, size_t cap)
{
    /* id in the first 256 bytes, the weight checksums after it. */
    const char *rec_file = "face_recognition_model.bin", *rec_sum = "";
    size_t used = 256;
    buf[used] = '\0';
    for (int i = 0, n = fs_engine_weight_files(e, 0, NULL, NULL); i < n; i++) {
        const char *file, *sum;
        fs_engine_weight_files(e, i, &file, &sum);
        if (strstr(file, "recognition") && strstr(file, ".bin")) {
            rec_file = file;
            rec_sum = sum;
        }
        if (used < cap)
            used += (size_t)snprintf(buf + used, cap - used, "%s%s=%s", i ? ";" : "", file, sum);
    }
    /* Descriptors of another crop or flip mode live in another space:
     * the mode is part of the id, so such a database is refused. */
    snprintf(buf, 256, "face-api-1.7.15/%s@%.16s/%s", rec_file, rec_sum,
             fs_engine_descriptor_mode(e));
    m->id = buf;
    m->checksum = buf + 256;
    m->dim = FS_DESCRIPTOR_DIM;
}

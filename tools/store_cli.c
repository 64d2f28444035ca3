/* The descriptor space a database is tied to (see store_cli.h). */
#include "store_cli.h"

#include <stdio.h>
#include <string.h>

void store_cli_model(const fs_engine *e, fs_db_model *m, char *buf, size_t cap)
{
    const char *rec_file = "face_recognition_model.bin", *rec_sum = "";
    char all[400] = "";
    size_t used = 0;
    for (int i = 0, n = fs_engine_weight_files(e, 0, NULL, NULL); i < n; i++) {
        const char *file, *sum;
        fs_engine_weight_files(e, i, &file, &sum);
        if (strstr(file, "recognition")) {
            rec_file = file;
            rec_sum = sum;
        }
        used += (size_t)snprintf(all + used, used < sizeof all ? sizeof all - used : 0, "%s%s=%.16s",
                                 i ? ";" : "", file, sum);
    }
    size_t half = cap / 2;
    snprintf(buf, half, "face-api-1.7.15/%s@%.16s/%s", rec_file, rec_sum,
             fs_engine_descriptor_mode(e));
    snprintf(buf + half, cap - half, "%s", all);
    m->id = buf;
    m->checksum = buf + half;
    m->dim = FS_DESCRIPTOR_DIM;
}

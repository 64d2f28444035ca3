/* libFuzzer harness for the ingest manifest reader (a path per line). */
#include <stddef.h>
#include <stdint.h>

#include "facesearch/scan.h"
#include "fuzz_file.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
    const char *path = fuzz_write("fuzz.manifest", data, len);
    fs_scan *s = NULL;
    fs_error err = {0};
    if (fs_scan_open_manifest(path, &s, &err) != FS_OK)
        return 0;
    const char *p;
    /* Errors (an over-long line) are per entry: the walk goes on. */
    for (int i = 0; i < 100000; i++) {
        int st = fs_scan_next(s, &p, &err);
        if (st == FS_OK && !p)
            break;
        if (p)
            (void)p[0];
    }
    fs_scan_close(s);
    return 0;
}

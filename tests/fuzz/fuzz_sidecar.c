/* libFuzzer harness for the index sidecar reader (faces.faiss.json). */
#include <stddef.h>
#include <stdint.h>

#include "../../src/index/internal.h"
#include "fuzz_file.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
    const char *path = fuzz_write("faces.faiss.json", data, len);
    fs_index_info info;
    fs_error err = {0};
    fs_index_sidecar_read(path, &info, &err);
    return 0;
}

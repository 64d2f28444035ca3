/* libFuzzer harness for the configuration file reader (INI-style text). */
#include <stddef.h>
#include <stdint.h>

#include "facesearch/config.h"
#include "fuzz_file.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
    const char *path = fuzz_write("fuzz.conf", data, len);
    fs_config *cfg = fs_config_create();
    if (!cfg)
        return 0;
    fs_error err = {0};
    fs_config_load(cfg, path, &err);
    fs_config_destroy(cfg);
    return 0;
}

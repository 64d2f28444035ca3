/*
 * libFuzzer harness for the ONNX reader: protobuf-c's decoding of the file
 * and our mapping of its graph onto an fs_net (operators, attributes,
 * initialisers checked against declared shapes, the plan at the declared
 * input size).
 */
#include <stddef.h>
#include <stdint.h>

#include "facesearch/nn.h"
#include "fuzz_file.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
    const char *path = fuzz_write("fuzz.onnx", data, len);
    fs_onnx_model m = {0};
    fs_error err = {0};
    if (fs_onnx_load(path, &m, &err) == FS_OK)
        fs_net_free(m.net);
    return 0;
}

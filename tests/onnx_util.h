/*
 * tests/onnx_util.h — a one-node ONNX graph written with the protobuf-c code
 * generated from onnx.proto, for the loader's error tests and the fuzzing
 * seeds.
 */
#ifndef FS_TEST_ONNX_UTIL_H
#define FS_TEST_ONNX_UTIL_H

#include <stdint.h>

/* Writes to path a model: input x [1,4,8,8] -> node `op` -> output y; a Conv
 * gets weight initialiser w [4,4,3,3] and the attributes pads (4 values) and
 * dilations (dilation, dilation).  Returns 0, or -1 on a write error. */
int tu_onnx_tiny(const char *path, const char *op, const int64_t *pads, int64_t dilation);

#endif

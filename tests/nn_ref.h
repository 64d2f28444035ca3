/*
 * tests/nn_ref.h — reference implementations of the NN ops written straight
 * from the TensorFlow definitions (in double), and random test data, shared
 * by the runtime tests of both precisions.
 */
#ifndef FS_TEST_NN_REF_H
#define FS_TEST_NN_REF_H

#include <stddef.h>

#include "facesearch/nn.h"

/* Deterministic pseudo-random values in [-1, 1). */
float nn_frand(unsigned *state);
void nn_fill(float *x, size_t n, unsigned seed);

/* An activation, as its definition. */
float nn_act(float v, fs_act a);

/* TF conv (dw = 0) or depthwise conv (dw = 1) of an h x w x cin NHWC input
 * into oh x ow outputs, in double.  If abs_out is not NULL it receives, per
 * output, the sum of the magnitudes of the terms (|x w| summed, times
 * |scale|): the scale of the rounding error a reduced precision may make. */
void nn_ref_conv(const float *in, int h, int w, int cin, const fs_conv_desc *d, int dw,
                 float *out, double *abs_out, int oh, int ow);

/* Plans net twice for an h x w input, with flags_a and flags_b, runs both on
 * the same random input (seed) and returns 1 when node `node` comes out
 * bit for bit the same; 0 otherwise (or when planning failed: a test
 * failure is recorded).  *ws_a / *ws_b (may be NULL) get the workspace
 * sizes, *prec_b the second plan's precision. */
int nn_plans_agree(const fs_net *net, int h, int w, int flags_a, int flags_b, int node,
                   unsigned seed, size_t *ws_a, size_t *ws_b, fs_precision *prec_b);

/* Runs the conv/depthwise cases of the runtime tests (odd sizes, both
 * paddings, strides, every activation, several chunks) at precision p and
 * checks each against nn_ref_conv: within 1e-5 relative in fp32; in bf16
 * within 2^-8 of the term magnitudes (inputs and weights each rounded to
 * 8 significant bits) plus float32 summation. */
void nn_conv_cases(fs_precision p);

#endif

/* Private to src/nn: the layer record shared by the builder, the planner and
 * the op kernels (one file per op family). */
#ifndef FS_NN_INTERNAL_H
#define FS_NN_INTERNAL_H

#include "facesearch/nn.h"

#define FS_NN_MAX_INPUTS 8

typedef enum layer_type {
    L_INPUT,
    L_CONV,  /* regular conv, weights [kh*kw*cin][cout] */
    L_DW,    /* depthwise conv, weights [kh*kw][c] */
    L_POOL,
    L_ADD,
    L_MEAN,
    L_FC     /* weights [in][out] */
} layer_type;

typedef struct layer {
    layer_type type;
    char *name;
    int n_in;
    int in[FS_NN_MAX_INPUTS];
    int kh, kw, cin, cout, stride;
    fs_pad pad;
    fs_act act;
    fs_pool_kind pool;
    float *w, *b;    /* folded weights and bias (owned, 64-byte aligned) */
    int is_output;
} layer;

struct fs_net {
    char *name;
    layer *layers;
    int n, cap;
    fs_error err;  /* first builder error */
};

/* Output size along one axis and the padding before it (TF SAME/VALID).
 * Returns the size, or 0 when the input is too small (VALID). */
int fs_nn_out_size(int in, int k, int stride, fs_pad pad, int *pad_before);

/* One activation. */
static inline float fs_nn_act(float v, fs_act act)
{
    switch (act) {
    case FS_ACT_RELU: return v > 0.0f ? v : 0.0f;
    case FS_ACT_RELU6: return v < 0.0f ? 0.0f : v > 6.0f ? 6.0f : v;
    case FS_ACT_LEAKY: return v > 0.0f ? v : 0.1f * v;
    case FS_ACT_NONE: break;
    }
    return v;
}

/* Applies act to n values in place (vectorised: the switch is outside the
 * loops, so no per-element branches). */
void fs_nn_act_inplace(float *x, size_t n, fs_act act);

/* Applies per-channel bias and activation to rows x c values in place. */
void fs_nn_bias_act(float *x, size_t rows, int c, const float *bias, fs_act act);

/* Rows of the output a conv processes per sgemm call, so the im2col chunk
 * and the output chunk stay in L2; the scratch holds rows*K floats. */
int fs_nn_conv_chunk_rows(const layer *L, int out_pixels);

/* Kernels.  `in` are the input tensors, `out` has its shape set. */
void fs_nn_conv(const layer *L, const fs_tensor *in, fs_tensor *out, float *scratch);
void fs_nn_depthwise(const layer *L, const fs_tensor *in, fs_tensor *out);
void fs_nn_pool(const layer *L, const fs_tensor *in, fs_tensor *out);
void fs_nn_mean(const fs_tensor *in, fs_tensor *out);
void fs_nn_add(const layer *L, const fs_tensor *in, fs_tensor *out);
void fs_nn_fc(const layer *L, const fs_tensor *in, fs_tensor *out);

#endif

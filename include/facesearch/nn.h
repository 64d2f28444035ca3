/*
 * facesearch/nn.h — a small float32 CNN runtime on OpenBLAS.
 *
 * Five parts:
 *
 *  1. JSON: a strict, bounded parser for TF.js weight manifests (and the test
 *     data).  Malformed input is an error with a byte offset, never a crash.
 *  2. Weights: a TF.js manifest + its .bin shards, dequantised to float32 and
 *     looked up by name with a shape check, so a wrong or damaged model file
 *     is a clear FS_EMODEL naming the file and the tensor.
 *  3. Networks (fs_net): a list of layers — conv (im2col + sgemm; 1x1 convs go
 *     straight to sgemm), depthwise conv, pooling, residual add, global mean,
 *     fully connected — each with its bias and activation fused.  Batch-norm
 *     and per-channel scale layers are folded into the conv weights when the
 *     layer is added.  Activations are NHWC, batch 1, TensorFlow padding
 *     semantics (SAME pads the extra pixel at the bottom/right).
 *  4. ONNX: fs_onnx_load maps an .onnx graph (Conv, PRelu, Add, Reshape)
 *     onto the same layers.
 *  5. Plans (fs_plan): a network's shapes, buffer layout and arithmetic
 *     precision (float32, or bfloat16 products on AVX-512 BF16) for one input
 *     size.  Running a plan allocates nothing: every activation lives at a
 *     fixed offset of a caller-provided workspace, buffers are reused once
 *     their last reader has run, and the im2col scratch is part of it too.
 *
 * Threading: a built fs_net and an fs_plan are immutable and may be shared by
 * any number of threads; each thread passes its own workspace.  The float32
 * path calls cblas_sgemm (the bf16 path, its own single-threaded kernel); inside an OpenMP parallel region the OpenMP build of
 * OpenBLAS runs it single-threaded (call openblas_set_num_threads(1)
 * otherwise when threads are managed elsewhere).
 */
#ifndef FACESEARCH_NN_H
#define FACESEARCH_NN_H

#include <stddef.h>
#include <stdint.h>

#include "facesearch/common.h"

/* ------------------------------------------------------------------ tensors */

/* A batch-1 NHWC float32 tensor view: element (y, x, c) is
 * data[(y * w + x) * c_count + c].  Does not own data. */
typedef struct fs_tensor {
    int h, w, c;
    float *data;
} fs_tensor;

/* Number of elements of t. */
static inline size_t fs_tensor_count(fs_tensor t)
{
    return (size_t)t.h * (size_t)t.w * (size_t)t.c;
}

/* 64-byte aligned allocation for workspaces and weights; size 0 gives a
 * valid minimal block.  Returns NULL when out of memory.  Free with free(). */
void *fs_nn_alloc(size_t bytes);

/* --------------------------------------------------------------------- JSON */

typedef enum fs_json_type {
    FS_JSON_NULL,
    FS_JSON_BOOL,
    FS_JSON_NUMBER,
    FS_JSON_STRING,
    FS_JSON_ARRAY,
    FS_JSON_OBJECT
} fs_json_type;

typedef struct fs_json fs_json;

/* Parses len bytes of JSON text (RFC 8259; no trailing garbage, nesting at
 * most 64 deep) into a tree owned by the caller (*out, fs_json_free).  `what`
 * names the source in messages (e.g. the file name).
 * Errors: FS_ECORRUPT ("what: byte N: reason"), FS_ENOMEM. */
int fs_json_parse(const char *text, size_t len, const char *what, fs_json **out,
                  fs_error *err);

/* Frees a tree from fs_json_parse; NULL is a no-op. */
void fs_json_free(fs_json *j);

/* Type of a value (FS_JSON_NULL for a NULL pointer). */
fs_json_type fs_json_kind(const fs_json *j);

/* Elements of an array or members of an object; 0 otherwise. */
size_t fs_json_count(const fs_json *j);

/* i-th element of an array (or i-th member value of an object); NULL when out
 * of range or not a container.  Pointers stay valid until fs_json_free. */
const fs_json *fs_json_at(const fs_json *j, size_t i);

/* Member `key` of an object (the first if repeated); NULL if absent or j is
 * not an object. */
const fs_json *fs_json_get(const fs_json *j, const char *key);

/* Key of the i-th member of an object; NULL otherwise. */
const char *fs_json_key(const fs_json *j, size_t i);

/* The number (or dflt when j is not a number). */
double fs_json_number(const fs_json *j, double dflt);

/* A boolean as 1/0 (or dflt when j is not true/false). */
int fs_json_bool(const fs_json *j, int dflt);

/* The string (NUL-terminated, UTF-8) or NULL when j is not a string.  A
 * string containing U+0000 is cut at it. */
const char *fs_json_string(const fs_json *j);

/* Reads a whole array of numbers into out[0..n-1]; returns FS_OK only when j
 * is an array of exactly n numbers (FS_ECORRUPT otherwise, message names
 * `what`). */
int fs_json_numbers(const fs_json *j, double *out, size_t n, const char *what,
                    fs_error *err);

/* ------------------------------------------------------------------ weights */

typedef struct fs_weights fs_weights;

/* Loads DIR/MODEL-weights_manifest.json and the .bin shards it lists (paths
 * relative to DIR, concatenated in order).  Every float32 entry is decoded:
 * uint8-quantised ones as q*scale+min computed in double and rounded to
 * float, raw float32 ones copied byte-wise (they sit at unaligned offsets);
 * int32 graph constants are skipped by size.  The entry sizes must add up to
 * the shards' total size exactly.  Also records the sha256 of the manifest and
 * of every shard.
 * Errors: FS_EMODEL (missing, truncated, oversized or malformed files, with
 * the file name and reason), FS_ENOMEM. */
int fs_weights_load(const char *dir, const char *model, fs_weights **out,
                    fs_error *err);

/* Frees w; NULL is a no-op. */
void fs_weights_free(fs_weights *w);

/* The model name given to fs_weights_load. */
const char *fs_weights_model(const fs_weights *w);

/* Looks tensor `name` up and checks its shape (ndim dims in `shape`; a
 * scalar has ndim 0).  *data points into w (valid until fs_weights_free).
 * Marks the tensor used (see fs_weights_check_used).
 * Errors: FS_EMODEL ("MODEL: tensor 'name' missing" / "has shape [..],
 * expected [..]" / "is not float32"). */
int fs_weights_get(fs_weights *w, const char *name, int ndim, const int *shape,
                   const float **data, fs_error *err);

/* FS_OK when every float32 tensor of w was fetched with fs_weights_get, so a
 * network definition that forgets a tensor (or a model file with an
 * unexpected one) is caught.  Errors: FS_EMODEL naming the first unused one. */
int fs_weights_check_used(const fs_weights *w, fs_error *err);

/* Files behind w: index 0 is the manifest, 1.. the shards.  Returns the count;
 * fs_weights_file gives the file name (no directory) and its sha256 as 64
 * lowercase hex digits.  Pointers are valid until fs_weights_free. */
int fs_weights_file_count(const fs_weights *w);
void fs_weights_file(const fs_weights *w, int i, const char **name,
                     const char **sha256_hex);

/* ---------------------------------------------------------------- precision */

/*
 * Arithmetic of the regular convolutions (depthwise convs, pooling, sums and
 * fully connected layers always run in float32):
 *
 *   FS_PREC_FP32  float32 through OpenBLAS sgemm: the reference's arithmetic
 *                 (the parity tests' path).
 *   FS_PREC_BF16  conv inputs rounded to bfloat16 (8 significant bits, to
 *                 nearest even), weights to bfloat16 (or to two bfloat16
 *                 parts, 16 bits, in layers with short dot products, see
 *                 fs_net_prepare_bf16), products summed in float32, on
 *                 AVX-512 BF16 (vdpbf16ps) — 2-3x the speed of OpenBLAS
 *                 sgemm.  Net outputs move by about what a different JPEG
 *                 decoder does to them (docs/benchmarks.md).  A CPU without
 *                 AVX-512 BF16 runs float32 instead.
 *   FS_PREC_AUTO  the fastest precision whose accuracy has been verified on
 *                 this CPU: bf16 where available, else fp32.
 */
typedef enum fs_precision {
    FS_PREC_FP32 = 0,
    FS_PREC_BF16,
    FS_PREC_AUTO
} fs_precision;

/* Parses "fp32", "bf16" or "auto".  Errors: FS_EUSAGE naming the word. */
int fs_precision_parse(const char *name, fs_precision *p, fs_error *err);

/* "fp32", "bf16", "auto" ("?" for anything else). */
const char *fs_precision_name(fs_precision p);

/* 1 when this CPU (and OS) can run the bf16 kernel: AVX-512 F/BW/VL/BF16. */
int fs_nn_cpu_bf16(void);

/* What a request runs as here: FS_PREC_BF16 for bf16/auto on a CPU with
 * AVX-512 BF16, FS_PREC_FP32 otherwise. */
fs_precision fs_precision_effective(fs_precision requested);

/* Test and diagnostic hook: while `hide` is non-zero, fs_nn_cpu_bf16()
 * answers 0 as on a CPU without AVX-512 BF16, so plans created meanwhile fall
 * back to float32.  Process-wide; call it when no plan is being created. */
void fs_nn_cpu_hide_bf16(int hide);

/* ----------------------------------------------------------------- networks */

typedef enum fs_act {
    FS_ACT_NONE,
    FS_ACT_RELU,
    FS_ACT_RELU6,  /* clamp to [0, 6] */
    FS_ACT_LEAKY,  /* x > 0 ? x : 0.1 x (tiny YOLO) */
    FS_ACT_PRELU   /* x > 0 ? x : slope[c] x, a learnt slope per channel
                      (fs_conv_desc.slope; convs and depthwise convs only) */
} fs_act;

typedef enum fs_pad {
    FS_PAD_VALID,  /* no padding */
    FS_PAD_SAME,   /* TF: out = ceil(in/s), extra pixel at the bottom/right */
    FS_PAD_EXPLICIT /* ONNX/PyTorch: pad_px zeros on every side,
                      out = (in + 2 pad_px - k) / s + 1 */
} fs_pad;

/*
 * A convolution (regular or depthwise) as stored by TF: weights HWIO
 * [kh, kw, cin, cout] for a regular conv, [kh, kw, C] (i.e. [kh,kw,C,1]) for a
 * depthwise one.  The layer computes, per output channel o:
 *
 *     y = act(((conv(x) + bias[o]) * scale[o]) + shift[o])
 *
 * where bias, scale and shift are optional (NULL: 0, 1, 0) and act may be a
 * PReLU with its own slope per output channel.  This covers a
 * plain conv+bias, TF batch-norm (bias = -mean, scale = gamma/sqrt(var+eps),
 * shift = beta) and dlib-style affine layers; they are folded into the
 * weights in double precision when the layer is added.
 */
typedef struct fs_conv_desc {
    int kh, kw, cin, cout;
    int stride;
    fs_pad pad;
    fs_act act;
    const float *weights;
    const float *bias, *scale, *shift;
    int pad_px;          /* FS_PAD_EXPLICIT: zeros on each side */
    const float *slope;  /* FS_ACT_PRELU: cout slopes (copied) */
} fs_conv_desc;

typedef enum fs_pool_kind { FS_POOL_MAX, FS_POOL_AVG } fs_pool_kind;

typedef struct fs_net fs_net;

/* Creates an empty network called `name` whose input (node 0) has `channels`
 * channels.  Returns NULL when out of memory. */
fs_net *fs_net_create(const char *name, int channels);

/* Frees net; NULL is a no-op. */
void fs_net_free(fs_net *net);

/*
 * Layer builders.  Each appends a layer reading earlier node(s) and returns
 * its node id (> 0).  `name` labels the node (probes, profiles, errors;
 * copied).  On a bad argument or out of memory the net records the first
 * error (fs_net_status) and the builder returns -1; later builders given -1
 * as an input also return -1, so a network can be written straight through
 * and checked once.
 */
int fs_net_conv(fs_net *net, const char *name, int input, const fs_conv_desc *d);
int fs_net_depthwise(fs_net *net, const char *name, int input,
                     const fs_conv_desc *d);
int fs_net_pool(fs_net *net, const char *name, int input, fs_pool_kind kind,
                int k, int stride, fs_pad pad);
/* Sum of n (2..8) nodes, summed right to left: in[0] + (in[1] + (...)).
 * Shapes may differ: the output takes the largest height, width and channel
 * count, and a smaller input counts as zero-extended at the bottom, right and
 * in its last channels (ResNet shortcut padding). */
int fs_net_add(fs_net *net, const char *name, int n, const int *inputs,
               fs_act act);
/* Mean over height and width: [h, w, c] -> [1, 1, c]. */
int fs_net_mean(fs_net *net, const char *name, int input);
/* Fully connected on the flattened input (in = h*w*c values): weights [in,
 * out] row-major, y[o] = act(sum_i x[i] W[i,o] + bias[o]); bias may be NULL. */
int fs_net_fc(fs_net *net, const char *name, int input, int in, int out,
              const float *weights, const float *bias, fs_act act);

/* Adds a bfloat16 copy of every regular conv's weights, packed for the bf16
 * kernel, so plans created with FS_PLAN_BF16 can use it (the float32 weights
 * stay: one net serves plans of both precisions).  Layers with short dot
 * products (K = kh*kw*cin <= 128) keep 16-bit weights as two bf16 parts —
 * plain bf16 weights there biased the SSD's scores.  Call once after the last
 * layer, before the net is shared; calling again is a no-op.  Does nothing
 * (and succeeds) on a CPU without AVX-512 BF16.
 * Errors: FS_ENOMEM, or the net's own error state. */
int fs_net_prepare_bf16(fs_net *net, fs_error *err);

/* Marks a node as an output: its tensor stays valid after fs_plan_run. */
void fs_net_output(fs_net *net, int node);

/* FS_OK, or the first error a builder met (FS_EUSAGE / FS_ENOMEM, with the
 * net and layer name). */
int fs_net_status(const fs_net *net, fs_error *err);

/* Name of the network, number of nodes (input included) and a node's name. */
const char *fs_net_name(const fs_net *net);
int fs_net_nodes(const fs_net *net);
const char *fs_net_node_name(const fs_net *net, int node);

/* --------------------------------------------------------------------- ONNX */

/* A network read from an .onnx file. */
typedef struct fs_onnx_model {
    fs_net *net;           /* owned by the caller after success (fs_net_free) */
    int out;               /* the output node: a 1 x 1 x out_dim vector */
    int in_c, in_h, in_w;  /* the graph's declared input (NCHW in the file;
                              the net takes NHWC like every fs_net) */
    int out_dim;
    char sha256[65];       /* of the file, 64 hex digits */
} fs_onnx_model;

/*
 * Reads an ONNX model (protobuf decoded by protobuf-c from the format's own
 * onnx.proto) and maps its graph onto an fs_net: Conv (regular or
 * depthwise, symmetric pads), a PRelu after a Conv (fused), Add, and a final
 * Reshape to [1, N].  Weights are checked against the graph's dims and the
 * net is planned once at the declared input size to check the output is a
 * vector.  Call fs_net_prepare_bf16 on m->net for bf16 plans.
 * Errors: FS_EMODEL ("file: node 'name' (Op): reason" for an unsupported
 * operator, attribute or data type; "not a readable ONNX model" for a
 * truncated or corrupt file; a missing file), FS_ENOMEM.
 */
int fs_onnx_load(const char *path, fs_onnx_model *m, fs_error *err);

/* -------------------------------------------------------------------- plans */

typedef struct fs_plan fs_plan;

/* Plan flags. */
enum {
    FS_PLAN_KEEP_ALL = 1, /* every node keeps its own buffer (for probes);
                             without it a depthwise conv read only by the 1x1
                             conv after it is computed inside that conv, a
                             chunk at a time, and has no buffer */
    FS_PLAN_BF16 = 2      /* regular convs in bf16 (FS_PREC_BF16) when the CPU
                             has AVX-512 BF16 and the net was prepared with
                             fs_net_prepare_bf16; float32 otherwise */
};

/* Infers every shape for an in_h x in_w input and lays the buffers out.  The
 * plan refers to net, which must outlive it.
 * Errors: FS_EUSAGE (the input is too small for some layer, or net is in an
 * error state; the message names the layer), FS_ENOMEM. */
int fs_plan_create(const fs_net *net, int in_h, int in_w, int flags,
                   fs_plan **out, fs_error *err);

/* Frees plan; NULL is a no-op. */
void fs_plan_free(fs_plan *plan);

/* Bytes of workspace fs_plan_run needs (64-byte aligned, see fs_nn_alloc). */
size_t fs_plan_workspace(const fs_plan *plan);

/* Where the caller writes the network input (in_h * in_w * channels floats,
 * NHWC) inside workspace ws before fs_plan_run. */
float *fs_plan_input(const fs_plan *plan, void *ws);

/* Runs the network on the input already written to ws.  No allocation, no
 * failure: all checks were done by fs_plan_create.  If node_seconds is not
 * NULL it receives the wall time of every node (fs_net_nodes entries; a
 * fused depthwise conv gets 0, its time counts in the conv after it). */
void fs_plan_run(const fs_plan *plan, void *ws, double *node_seconds);

/* The tensor of node `node` in ws.  Valid after fs_plan_run for outputs, and
 * for every node with FS_PLAN_KEEP_ALL; the shape is valid any time. */
fs_tensor fs_plan_tensor(const fs_plan *plan, void *ws, int node);

/* The precision the plan's convolutions run at (FS_PREC_FP32 or _BF16). */
fs_precision fs_plan_precision(const fs_plan *plan);

/* Floating-point operations (multiply and add counted separately) of one
 * run, in total and for one node. */
double fs_plan_flops(const fs_plan *plan);
double fs_plan_node_flops(const fs_plan *plan, int node);

#endif

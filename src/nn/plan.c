/*
 * Plans: shape inference, buffer layout and execution.
 *
 * Buffers are assigned greedily in execution order: a node's buffer is freed
 * once its last reader has run, and the next node takes the lowest offset
 * that fits between the live ones.  The im2col scratch follows the buffers.
 * A depthwise conv feeding a 1x1 conv is fused into it (mark_fused).
 */
#include "nn_internal.h"

#include <stdlib.h>
#include <string.h>

typedef struct node_plan {
    int h, w, c;
    size_t off, size;  /* in floats */
    double flops;
    int fused;         /* a depthwise conv computed chunk by chunk inside the
                          1x1 conv that follows it: no buffer of its own */
} node_plan;

struct fs_plan {
    const fs_net *net;
    int bf16;  /* convs with packed bf16 weights run the bf16 kernel */
    node_plan *nodes;
    size_t scratch_off;
    size_t total_floats;
    double flops;
};

int fs_nn_out_size(int in, int k, int stride, fs_pad pad, int pad_px, int *pad_before)
{
    if (pad == FS_PAD_EXPLICIT) {
        *pad_before = pad_px;
        return in + 2 * pad_px >= k ? (in + 2 * pad_px - k) / stride + 1 : 0;
    }
    if (pad == FS_PAD_SAME) {
        int out = (in + stride - 1) / stride;
        int total = (out - 1) * stride + k - in;
        *pad_before = total > 0 ? total / 2 : 0;
        return out;
    }
    *pad_before = 0;
    return in >= k ? (in - k) / stride + 1 : 0;
}

int fs_nn_conv_chunk_rows(const layer *L, int out_pixels, int bf16, int fused)
{
    int k = L->kh * L->kw * L->cin;
    int rows;
    if (fused && bf16 && L->wb) {
        /* The fused depthwise chunk (float) and its bf16 copy: ~384 KiB
         * together, to stay in L2.  (The float32 path keeps the chunks of an
         * unfused conv: sgemm's sums depend on how M is split, and the fp32
         * results stay bit for bit what they were.) */
        rows = (64 * 1024) / (L->cin + 1);
    } else if (bf16 && L->wb) {
        /* The bf16 kernel fuses bias and activation into its stores, so only
         * the A chunk (re-read once per 32 output channels) must stay in L2:
         * ~384 KiB of bf16. */
        rows = (192 * 1024) / (k + 1);
    } else {
        int big = k > L->cout ? k : L->cout;
        rows = (256 * 1024) / big; /* ~1 MiB of A or C per chunk */
        if (rows < 256)
            rows = 256;
        rows = rows / 16 * 16;
    }
    if (bf16 && L->wb) /* whole 12-row micro-tiles */
        rows = rows < 48 ? 48 : rows / 12 * 12;
    return rows < out_pixels ? rows : out_pixels;
}

/* Shapes and flops of every node; FS_EUSAGE names a layer whose input is
 * too small. */
static int infer(const fs_net *net, node_plan *np, int in_h, int in_w, int bf16, size_t *scratch,
                 fs_error *err)
{
    *scratch = 0;
    np[0].h = in_h;
    np[0].w = in_w;
    np[0].c = net->layers[0].cout;
    for (int i = 1; i < net->n; i++) {
        const layer *L = &net->layers[i];
        const node_plan *a = &np[L->in[0]];
        node_plan *o = &np[i];
        int pb;
        o->c = L->cout;
        switch (L->type) {
        case L_CONV:
        case L_DW:
        case L_POOL:
            o->h = fs_nn_out_size(a->h, L->kh, L->stride, L->pad, L->pad_px, &pb);
            o->w = fs_nn_out_size(a->w, L->kw, L->stride, L->pad, L->pad_px, &pb);
            break;
        case L_ADD:
            o->h = o->w = 0;
            for (int k = 0; k < L->n_in; k++) {
                if (np[L->in[k]].h > o->h)
                    o->h = np[L->in[k]].h;
                if (np[L->in[k]].w > o->w)
                    o->w = np[L->in[k]].w;
            }
            break;
        case L_MEAN:
            o->h = o->w = a->h * a->w > 0 ? 1 : 0;
            break;
        case L_FC:
            if ((size_t)a->h * a->w * a->c != (size_t)L->cin)
                return fs_fail(err, FS_EUSAGE, "%s: layer '%s' expects %d inputs, gets %dx%dx%d",
                               net->name, L->name, L->cin, a->h, a->w, a->c);
            o->h = o->w = 1;
            break;
        case L_INPUT:
            break;
        }
        if (o->h < 1 || o->w < 1)
            return fs_fail(err, FS_EUSAGE, "%s: input %dx%d is too small for layer '%s'",
                           net->name, in_h, in_w, L->name);
        double m = (double)o->h * o->w;
        switch (L->type) {
        case L_CONV:
            o->flops = 2.0 * m * L->cout * L->kh * L->kw * L->cin;
            size_t s = fs_nn_conv_scratch(L, o->h * o->w, bf16, np[i - 1].fused);
            if (s > *scratch)
                *scratch = s;
            break;
        case L_DW: o->flops = 2.0 * m * L->cout * L->kh * L->kw; break;
        case L_POOL: o->flops = m * L->cout * L->kh * L->kw; break;
        case L_ADD: o->flops = m * o->c * (L->n_in - 1); break;
        case L_MEAN: o->flops = (double)a->h * a->w * a->c; break;
        case L_FC: o->flops = 2.0 * L->cin * L->cout; break;
        case L_INPUT: break;
        }
    }
    return FS_OK;
}

typedef struct block {
    size_t off, size;
    int until; /* last node that reads it */
} block;

/* Lowest offset where `size` floats fit beside the live blocks. */
static size_t place(const block *live, int n_live, size_t size)
{
    size_t best = (size_t)-1;
    for (int c = -1; c < n_live; c++) {
        size_t off = c < 0 ? 0 : live[c].off + live[c].size;
        int ok = 1;
        for (int j = 0; ok && j < n_live; j++)
            ok = off + size <= live[j].off || off >= live[j].off + live[j].size;
        if (ok && off < best)
            best = off;
    }
    return best;
}

/* Marks depthwise convs whose only reader is the 1x1 stride-1 conv right
 * after them (a separable conv): that conv computes them a chunk of rows at
 * a time, so their output never makes the round trip through memory.  The
 * arithmetic is unchanged.  readers is scratch for net->n counts. */
static void mark_fused(const fs_net *net, node_plan *np, int *readers)
{
    memset(readers, 0, (size_t)net->n * sizeof *readers);
    for (int i = 1; i < net->n; i++)
        for (int k = 0; k < net->layers[i].n_in; k++)
            readers[net->layers[i].in[k]]++;
    for (int i = 1; i + 1 < net->n; i++) {
        const layer *d = &net->layers[i], *c = &net->layers[i + 1];
        np[i].fused = d->type == L_DW && !d->is_output && readers[i] == 1 && c->type == L_CONV &&
                      c->n_in == 1 && c->in[0] == i && c->kh == 1 && c->kw == 1 && c->stride == 1;
    }
}

int fs_plan_create(const fs_net *net, int in_h, int in_w, int flags, fs_plan **out,
                   fs_error *err)
{
    *out = NULL;
    if (fs_net_status(net, err) != FS_OK)
        return err ? err->code : FS_EUSAGE;
    if (in_h < 1 || in_w < 1)
        return fs_fail(err, FS_EUSAGE, "%s: bad input size %dx%d", net->name, in_h, in_w);
    fs_plan *p = calloc(1, sizeof *p);
    int *until = calloc((size_t)net->n, sizeof *until);
    block *live = calloc((size_t)net->n, sizeof *live);
    if (p)
        p->nodes = calloc((size_t)net->n, sizeof *p->nodes);
    if (!p || !until || !live || !p->nodes) {
        free(until);
        free(live);
        fs_plan_free(p);
        return fs_fail(err, FS_ENOMEM, "%s: out of memory planning", net->name);
    }
    p->net = net;
    p->bf16 = (flags & FS_PLAN_BF16) && net->bf16_ready && fs_nn_cpu_bf16();
    if (!(flags & FS_PLAN_KEEP_ALL))
        mark_fused(net, p->nodes, until);
    size_t scratch;
    int st = infer(net, p->nodes, in_h, in_w, p->bf16, &scratch, err);
    if (st != FS_OK) {
        free(until);
        free(live);
        fs_plan_free(p);
        return st;
    }
    for (int i = 0; i < net->n; i++) {
        const layer *L = &net->layers[i];
        until[i] = (flags & FS_PLAN_KEEP_ALL) || L->is_output ? net->n : i;
        for (int k = 0; k < L->n_in; k++) {
            /* a conv with a fused depthwise conv reads that one's input */
            int src = p->nodes[L->in[k]].fused ? net->layers[L->in[k]].in[0] : L->in[k];
            if (until[src] < i)
                until[src] = i;
        }
        p->flops += p->nodes[i].flops;
    }
    int n_live = 0;
    size_t end = 0;
    for (int i = 0; i < net->n; i++) {
        int kept = 0;
        for (int j = 0; j < n_live; j++)
            if (live[j].until >= i)
                live[kept++] = live[j];
        n_live = kept;
        node_plan *np = &p->nodes[i];
        np->size = np->fused ? 0 : ((size_t)np->h * np->w * np->c + 15) / 16 * 16;
        np->off = place(live, n_live, np->size);
        live[n_live++] = (block){np->off, np->size, until[i]};
        if (np->off + np->size > end)
            end = np->off + np->size;
    }
    p->scratch_off = end;
    p->total_floats = end + (scratch + 15) / 16 * 16;
    free(until);
    free(live);
    *out = p;
    return FS_OK;
}

void fs_plan_free(fs_plan *plan)
{
    if (!plan)
        return;
    free(plan->nodes);
    free(plan);
}

size_t fs_plan_workspace(const fs_plan *plan) { return plan->total_floats * sizeof(float); }

float *fs_plan_input(const fs_plan *plan, void *ws)
{
    return (float *)ws + plan->nodes[0].off;
}

fs_tensor fs_plan_tensor(const fs_plan *plan, void *ws, int node)
{
    const node_plan *np = &plan->nodes[node];
    return (fs_tensor){np->h, np->w, np->c, ws ? (float *)ws + np->off : NULL};
}

double fs_plan_flops(const fs_plan *plan) { return plan->flops; }

fs_precision fs_plan_precision(const fs_plan *plan)
{
    return plan->bf16 ? FS_PREC_BF16 : FS_PREC_FP32;
}

double fs_plan_node_flops(const fs_plan *plan, int node)
{
    return node >= 0 && node < plan->net->n ? plan->nodes[node].flops : 0.0;
}

void fs_plan_run(const fs_plan *plan, void *ws, double *node_seconds)
{
    const fs_net *net = plan->net;
    float *scratch = (float *)ws + plan->scratch_off;
    if (node_seconds)
        node_seconds[0] = 0;
    for (int i = 1; i < net->n; i++) {
        const layer *L = &net->layers[i];
        if (plan->nodes[i].fused) { /* runs inside node i + 1 */
            if (node_seconds)
                node_seconds[i] = 0;
            continue;
        }
        const layer *dw = plan->nodes[i - 1].fused ? &net->layers[i - 1] : NULL;
        fs_tensor in[FS_NN_MAX_INPUTS];
        for (int k = 0; k < L->n_in; k++)
            in[k] = fs_plan_tensor(plan, ws, dw ? dw->in[0] : L->in[k]);
        fs_tensor out = fs_plan_tensor(plan, ws, i);
        double t0 = node_seconds ? fs_now() : 0;
        switch (L->type) {
        case L_CONV: fs_nn_conv(L, dw, in, &out, scratch, plan->bf16); break;
        case L_DW: fs_nn_depthwise(L, in, &out); break;
        case L_POOL: fs_nn_pool(L, in, &out); break;
        case L_ADD: fs_nn_add(L, in, &out); break;
        case L_MEAN: fs_nn_mean(in, &out); break;
        case L_FC: fs_nn_fc(L, in, &out); break;
        case L_INPUT: break;
        }
        if (node_seconds)
            node_seconds[i] = fs_now() - t0;
    }
}

/*
 * ONNX models onto the runtime: the file is decoded by protobuf-c with code
 * generated at build time from the format's own onnx.proto (Debian's
 * libonnx-dev), never by a hand-written parser; this file only maps the
 * graph onto fs_net layers.
 *
 * What maps (everything else is an error naming the node):
 *   Conv (group 1)               -> fs_net_conv, weights OIHW -> HWIO
 *   Conv (group = in = out ch.)  -> fs_net_depthwise
 *     strides equal on both axes, dilations 1, pads equal on all four sides
 *     (PyTorch's symmetric padding: FS_PAD_EXPLICIT), auto_pad NOTSET
 *   PRelu reading a Conv's only output -> that conv's fused activation
 *   Add of two equally shaped tensors   -> fs_net_add
 *   Reshape to [1, N] of a 1x1xN tensor -> nothing (NHWC and NCHW agree)
 * Weights must be float32 initializers (raw_data or float_data) whose sizes
 * match their dims; the graph's input must be [1|?, C, H, W].
 */
#include "nn_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "facesearch/hash.h"
#include "onnx.pb-c.h"

#define MAX_FILE (512u << 20)

typedef Onnx__NodeProto node_t;
typedef Onnx__TensorProto tensor_t;

/* What a tensor name stands for while the graph is walked. */
typedef struct name_map {
    const char *name;
    int node;              /* fs_net node producing it, or -1 */
    const tensor_t *init;  /* or an initializer */
} name_map;

typedef struct loader {
    const char *path;
    Onnx__GraphProto *g;
    name_map *names;
    size_t n_names, cap_names;
    int *uses;              /* per graph node: consumers of its first output */
    unsigned char *absorbed;/* per graph node: folded into an earlier layer */
    fs_net *net;
    fs_error *err;
} loader;

/* proto2 leaves an absent string NULL; a node's name is optional. */
static const char *nm(const char *s) { return s ? s : ""; }

static int fail_node(loader *l, const node_t *n, const char *why)
{
    return fs_fail(l->err, FS_EMODEL, "%s: node '%s' (%s): %s", l->path,
                   n->name && *n->name ? n->name : "?", n->op_type ? n->op_type : "?", why);
}

static name_map *lookup(loader *l, const char *name)
{
    for (size_t i = l->n_names; i-- > 0;) /* latest definition wins */
        if (strcmp(l->names[i].name, name) == 0)
            return &l->names[i];
    return NULL;
}

static int define(loader *l, const char *name, int node, const tensor_t *init)
{
    if (l->n_names == l->cap_names) {
        size_t cap = l->cap_names ? 2 * l->cap_names : 256;
        name_map *m = realloc(l->names, cap * sizeof *m);
        if (!m)
            return fs_fail(l->err, FS_ENOMEM, "%s: out of memory", l->path);
        l->names = m;
        l->cap_names = cap;
    }
    l->names[l->n_names++] = (name_map){name, node, init};
    return FS_OK;
}

static const Onnx__AttributeProto *attr(const node_t *n, const char *name)
{
    for (size_t i = 0; i < n->n_attribute; i++)
        if (n->attribute[i]->name && strcmp(n->attribute[i]->name, name) == 0)
            return n->attribute[i];
    return NULL;
}

/* Element count of an initializer, or -1 when a dim is negative or the
 * product overflows what a model can reasonably hold. */
static long long elements(const tensor_t *t)
{
    long long n = 1;
    for (size_t i = 0; i < t->n_dims; i++) {
        if (t->dims[i] < 0 || t->dims[i] > (1 << 28))
            return -1;
        n *= t->dims[i];
        if (n > (1LL << 28))
            return -1;
    }
    return n;
}

/* The float32 values of initializer t (owned by the caller), checked
 * against its dims; NULL with the error set otherwise. */
static float *floats(loader *l, const node_t *n, const tensor_t *t)
{
    char why[256];
    long long count = elements(t);
    if (t->data_type != ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT) {
        snprintf(why, sizeof why, "initializer '%s' has data type %d, only float32 is supported",
                 t->name, (int)t->data_type);
        fail_node(l, n, why);
        return NULL;
    }
    if (t->has_data_location && t->data_location == ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL) {
        snprintf(why, sizeof why, "initializer '%s' is stored outside the file", t->name);
        fail_node(l, n, why);
        return NULL;
    }
    size_t have = t->raw_data.len ? t->raw_data.len / 4 : t->n_float_data;
    if (count < 0 || (t->raw_data.len && t->raw_data.len % 4) || have != (size_t)count) {
        snprintf(why, sizeof why, "initializer '%s' holds %zu values, its dims say %lld",
                 t->name, have, count);
        fail_node(l, n, why);
        return NULL;
    }
    float *v = malloc((size_t)(count ? count : 1) * sizeof *v);
    if (!v) {
        fs_fail(l->err, FS_ENOMEM, "%s: out of memory", l->path);
        return NULL;
    }
    if (t->raw_data.len)
        memcpy(v, t->raw_data.data, (size_t)count * 4); /* little-endian, as on x86 */
    else
        memcpy(v, t->float_data, (size_t)count * 4);
    return v;
}

/* Input i of node n as an activation (a layer's node id) or -1. */
static int activation(loader *l, const node_t *n, size_t i)
{
    name_map *m = i < n->n_input ? lookup(l, n->input[i]) : NULL;
    if (!m || m->node < 0) {
        char why[300];
        snprintf(why, sizeof why, "input '%s' is not produced by an earlier node",
                 i < n->n_input ? n->input[i] : "(missing)");
        fail_node(l, n, why);
        return -1;
    }
    return m->node;
}

static const tensor_t *initializer(loader *l, const node_t *n, size_t i)
{
    name_map *m = i < n->n_input && *n->input[i] ? lookup(l, n->input[i]) : NULL;
    if (!m || !m->init) {
        char why[300];
        snprintf(why, sizeof why, "input %zu is not a stored weight tensor", i);
        fail_node(l, n, why);
        return NULL;
    }
    return m->init;
}

/* Two-element INTS attribute `name` as a single value (both equal), or dflt
 * when absent; -1 with the error set otherwise. */
static int pair_attr(loader *l, const node_t *n, const char *name, int dflt)
{
    const Onnx__AttributeProto *a = attr(n, name);
    if (!a)
        return dflt;
    if (a->n_ints != 2 || a->ints[0] != a->ints[1] || a->ints[0] < 0 || a->ints[0] > 64) {
        char why[96];
        snprintf(why, sizeof why, "unsupported %s (must be two equal values)", name);
        fail_node(l, n, why);
        return -1;
    }
    return (int)a->ints[0];
}

/* Index of the graph node after `from` that reads tensor `name` (first
 * input) if it is a PRelu and the tensor's only consumer; else -1. */
static int prelu_after(loader *l, size_t from, const char *name)
{
    for (size_t j = from + 1; j < l->g->n_node; j++) {
        const node_t *c = l->g->node[j];
        if (c->n_input >= 1 && strcmp(c->input[0], name) == 0)
            return strcmp(c->op_type, "PRelu") == 0 && l->uses[from] == 1 ? (int)j : -1;
    }
    return -1;
}

static int map_conv(loader *l, size_t idx)
{
    const node_t *n = l->g->node[idx];
    int x = activation(l, n, 0);
    const tensor_t *wt = x < 0 ? NULL : initializer(l, n, 1);
    if (!wt)
        return FS_EMODEL;
    const tensor_t *bt = n->n_input > 2 && *n->input[2] ? initializer(l, n, 2) : NULL;
    if (n->n_input > 2 && *n->input[2] && !bt)
        return FS_EMODEL;
    if (wt->n_dims != 4)
        return fail_node(l, n, "weights are not 4-D (OIHW)");
    const Onnx__AttributeProto *ap = attr(n, "auto_pad");
    if (ap && ap->s.len && !(ap->s.len == 6 && memcmp(ap->s.data, "NOTSET", 6) == 0))
        return fail_node(l, n, "auto_pad is not supported (explicit pads only)");
    const Onnx__AttributeProto *pa = attr(n, "pads");
    int pad = 0;
    if (pa) {
        if (pa->n_ints != 4 || pa->ints[0] != pa->ints[1] || pa->ints[0] != pa->ints[2] ||
            pa->ints[0] != pa->ints[3] || pa->ints[0] < 0)
            return fail_node(l, n, "asymmetric pads are not supported");
        pad = (int)pa->ints[0];
    }
    int stride = pair_attr(l, n, "strides", 1);
    int dil = stride < 0 ? -1 : pair_attr(l, n, "dilations", 1);
    if (stride < 1 || dil < 0)
        return stride == 0 ? fail_node(l, n, "stride 0") : FS_EMODEL;
    if (dil != 1)
        return fail_node(l, n, "dilation is not supported");
    const Onnx__AttributeProto *ga = attr(n, "group");
    long long group = ga ? ga->i : 1;
    int O = (int)wt->dims[0], I = (int)wt->dims[1], kh = (int)wt->dims[2], kw = (int)wt->dims[3];
    int cin = l->net->layers[x].cout;
    int dw = group > 1;
    if (dw && !(group == cin && O == cin && I == 1))
        return fail_node(l, n, "grouped convolution other than depthwise is not supported");
    if (!dw && (group != 1 || I != cin))
        return fail_node(l, n, "weights do not match the input's channel count");
    if (kh < 1 || kw < 1 || O < 1)
        return fail_node(l, n, "empty kernel");
    const Onnx__AttributeProto *ka = attr(n, "kernel_shape");
    if (ka && (ka->n_ints != 2 || ka->ints[0] != kh || ka->ints[1] != kw))
        return fail_node(l, n, "kernel_shape does not match the weights");
    if (bt && (bt->n_dims != 1 || bt->dims[0] != O))
        return fail_node(l, n, "bias does not match the output channels");
    if (pad && (pad >= kh || pad >= kw))
        return fail_node(l, n, "padding as large as the kernel is not supported");

    int pr = prelu_after(l, idx, n->output[0]);
    const tensor_t *st = NULL;
    if (pr >= 0) {
        st = initializer(l, l->g->node[pr], 1);
        if (!st)
            return FS_EMODEL;
        long long c = elements(st);
        if (c != O && c != 1)
            return fail_node(l, l->g->node[pr], "slope count matches neither 1 nor the channels");
    }
    float *w = floats(l, n, wt), *b = bt ? floats(l, n, bt) : NULL;
    float *sl = st ? floats(l, l->g->node[pr], st) : NULL;
    float *hwio = malloc((size_t)O * I * kh * kw * sizeof *hwio);
    float *slope = st ? malloc((size_t)O * sizeof *slope) : NULL;
    int out = -1;
    if (w && (b || !bt) && (sl || !st) && hwio && (slope || !st)) {
        /* OIHW -> HWIO (a depthwise conv's [C,1,kh,kw] -> [kh,kw,C]) */
        for (int o = 0; o < O; o++)
            for (int i = 0; i < I; i++)
                for (int k = 0; k < kh * kw; k++)
                    hwio[((size_t)k * I + i) * O + o] = w[((size_t)o * I + i) * kh * kw + k];
        for (int o = 0; st && o < O; o++)
            slope[o] = sl[elements(st) == 1 ? 0 : o];
        char name[160];
        snprintf(name, sizeof name, "%s%s%s", nm(n->name), pr >= 0 ? "+" : "",
                 pr >= 0 ? nm(l->g->node[pr]->name) : "");
        fs_conv_desc d = {kh, kw, cin, O, stride, pad ? FS_PAD_EXPLICIT : FS_PAD_VALID,
                          st ? FS_ACT_PRELU : FS_ACT_NONE, hwio, b, NULL, NULL, pad, slope};
        out = dw ? fs_net_depthwise(l->net, name, x, &d) : fs_net_conv(l->net, name, x, &d);
    } else if (!l->err->code) {
        fs_fail(l->err, FS_ENOMEM, "%s: out of memory", l->path);
    }
    free(w);
    free(b);
    free(sl);
    free(hwio);
    free(slope);
    if (out < 0)
        return l->err->code ? l->err->code : fs_net_status(l->net, l->err);
    if (pr >= 0) {
        l->absorbed[pr] = 1;
        return define(l, l->g->node[pr]->output[0], out, NULL);
    }
    return define(l, n->output[0], out, NULL);
}

static int map_add(loader *l, const node_t *n)
{
    if (n->n_input != 2)
        return fail_node(l, n, "an Add of two tensors is supported");
    int in[2] = {activation(l, n, 0), activation(l, n, 1)};
    if (in[0] < 0 || in[1] < 0)
        return FS_EMODEL;
    if (l->net->layers[in[0]].cout != l->net->layers[in[1]].cout)
        return fail_node(l, n, "the two inputs have different channel counts");
    int out = fs_net_add(l->net, nm(n->name), 2, in, FS_ACT_NONE);
    if (out < 0)
        return fs_net_status(l->net, l->err);
    return define(l, n->output[0], out, NULL);
}

/* A flatten to [1, N]: checked against the planned shape at the end. */
static int map_reshape(loader *l, const node_t *n)
{
    int x = activation(l, n, 0);
    const tensor_t *s = x < 0 ? NULL : initializer(l, n, 1);
    if (!s)
        return FS_EMODEL;
    if (s->data_type != ONNX__TENSOR_PROTO__DATA_TYPE__INT64 || elements(s) != 2)
        return fail_node(l, n, "only a reshape to [1, N] (int64 shape) is supported");
    int64_t v[2];
    if (s->raw_data.len == 16)
        memcpy(v, s->raw_data.data, 16);
    else if (s->n_int64_data == 2)
        memcpy(v, s->int64_data, 16);
    else
        return fail_node(l, n, "its shape tensor is damaged");
    if (v[0] != 1 || !(v[1] == -1 || v[1] == l->net->layers[x].cout))
        return fail_node(l, n, "only a reshape to [1, N] is supported");
    return define(l, n->output[0], x, NULL);
}

static int walk(loader *l)
{
    Onnx__GraphProto *g = l->g;
    /* consumers of every node's first output (the graph output counts) */
    for (size_t i = 0; i < g->n_node; i++) {
        const node_t *n = g->node[i];
        if (!n->op_type || n->n_output < 1)
            return fs_fail(l->err, FS_EMODEL, "%s: node %zu has no type or output", l->path, i);
        for (size_t j = i + 1; j < g->n_node; j++)
            for (size_t k = 0; k < g->node[j]->n_input; k++)
                l->uses[i] += strcmp(g->node[j]->input[k], n->output[0]) == 0;
        for (size_t k = 0; k < g->n_output; k++)
            l->uses[i] += strcmp(g->output[k]->name, n->output[0]) == 0;
    }
    for (size_t i = 0; i < g->n_node; i++) {
        const node_t *n = g->node[i];
        int st;
        if (l->absorbed[i])
            continue;
        if (strcmp(n->op_type, "Conv") == 0)
            st = map_conv(l, i);
        else if (strcmp(n->op_type, "Add") == 0)
            st = map_add(l, n);
        else if (strcmp(n->op_type, "Reshape") == 0)
            st = map_reshape(l, n);
        else if (strcmp(n->op_type, "PRelu") == 0)
            st = fail_node(l, n, "a PRelu is supported only right after a Conv it alone reads");
        else
            st = fail_node(l, n, "unsupported operator");
        if (st != FS_OK)
            return st;
    }
    return FS_OK;
}

/* The graph's single input [N, C, H, W] (N 1 or symbolic). */
static int graph_input(loader *l, fs_onnx_model *m, const char **name)
{
    const Onnx__ValueInfoProto *in = NULL;
    for (size_t i = 0; i < l->g->n_input; i++) {
        const Onnx__ValueInfoProto *v = l->g->input[i];
        name_map *nm = v->name ? lookup(l, v->name) : NULL;
        if (nm && nm->init)
            continue; /* older exporters list initializers as inputs too */
        if (in)
            return fs_fail(l->err, FS_EMODEL, "%s: more than one graph input", l->path);
        in = v;
    }
    const Onnx__TypeProto__Tensor *t =
        in && in->type && in->type->value_case == ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE
            ? in->type->tensor_type : NULL;
    if (!t || !t->shape || t->shape->n_dim != 4 ||
        t->elem_type != ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT)
        return fs_fail(l->err, FS_EMODEL, "%s: the graph input is not a float32 [N,C,H,W] tensor",
                       l->path);
    int dims[4];
    for (int k = 0; k < 4; k++) {
        const Onnx__TensorShapeProto__Dimension *d = t->shape->dim[k];
        int known = d->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
        if (k > 0 && (!known || d->dim_value < 1 || d->dim_value > 4096))
            return fs_fail(l->err, FS_EMODEL, "%s: the graph input's C, H, W must be fixed",
                           l->path);
        if (k == 0 && known && d->dim_value != 1)
            return fs_fail(l->err, FS_EMODEL, "%s: the graph input's batch must be 1", l->path);
        dims[k] = known ? (int)d->dim_value : 1;
    }
    m->in_c = dims[1];
    m->in_h = dims[2];
    m->in_w = dims[3];
    *name = in->name;
    return FS_OK;
}

int fs_onnx_load(const char *path, fs_onnx_model *m, fs_error *err)
{
    memset(m, 0, sizeof *m);
    uint8_t *buf = NULL;
    size_t len = 0;
    int st = fs_read_file(path, MAX_FILE, &buf, &len, err);
    if (st != FS_OK)
        return st == FS_ENOTFOUND || st == FS_EIO
                   ? fs_fail(err, FS_EMODEL, "%s: model file missing or unreadable (run make "
                             "models)", path)
                   : st;
    uint8_t digest[32];
    fs_sha256(buf, len, digest);
    fs_sha256_hex(digest, m->sha256);
    Onnx__ModelProto *model = onnx__model_proto__unpack(NULL, len, buf);
    free(buf);
    if (!model)
        return fs_fail(err, FS_EMODEL, "%s: not a readable ONNX model (truncated or corrupt)", path);
    loader l = {.path = path, .g = model->graph, .err = err};
    const char *in_name = NULL;
    if (!l.g || l.g->n_node == 0 || l.g->n_output != 1)
        st = fs_fail(err, FS_EMODEL, "%s: the model has no graph, no nodes, or not one output", path);
    else if (!(l.uses = calloc(l.g->n_node, sizeof *l.uses)) ||
             !(l.absorbed = calloc(l.g->n_node, 1)))
        st = fs_fail(err, FS_ENOMEM, "%s: out of memory", path);
    /* Graph inputs and outputs are looked up by name: each must have one. */
    for (size_t i = 0; st == FS_OK && i < l.g->n_input + l.g->n_output; i++) {
        const Onnx__ValueInfoProto *v =
            i < l.g->n_input ? l.g->input[i] : l.g->output[i - l.g->n_input];
        if (!v->name)
            st = fs_fail(err, FS_EMODEL, "%s: an unnamed graph input or output", path);
    }
    for (size_t i = 0; st == FS_OK && i < l.g->n_initializer; i++)
        st = l.g->initializer[i]->name
                 ? define(&l, l.g->initializer[i]->name, -1, l.g->initializer[i])
                 : fs_fail(err, FS_EMODEL, "%s: unnamed initializer", path);
    if (st == FS_OK)
        st = graph_input(&l, m, &in_name);
    if (st == FS_OK) {
        const char *base = strrchr(path, '/');
        if (!(l.net = fs_net_create(base ? base + 1 : path, m->in_c)))
            st = fs_fail(err, FS_ENOMEM, "%s: out of memory", path);
        else
            st = define(&l, in_name, 0, NULL);
    }
    if (st == FS_OK)
        st = walk(&l);
    name_map *o = st == FS_OK ? lookup(&l, l.g->output[0]->name) : NULL;
    if (st == FS_OK && (!o || o->node <= 0))
        st = fs_fail(err, FS_EMODEL, "%s: the graph output '%s' is not computed by a layer", path,
                     l.g->output[0]->name);
    if (st == FS_OK) {
        fs_net_output(l.net, o->node);
        fs_plan *p = NULL;
        st = fs_plan_create(l.net, m->in_h, m->in_w, 0, &p, err);
        if (st == FS_OK) {
            fs_tensor t = fs_plan_tensor(p, NULL, o->node);
            if (t.h != 1 || t.w != 1)
                st = fs_fail(err, FS_EMODEL, "%s: the output is %dx%dx%d, not a vector", path,
                             t.c, t.h, t.w);
            m->out_dim = t.c;
        }
        fs_plan_free(p);
    }
    if (st == FS_OK) {
        m->net = l.net;
        m->out = o->node;
        l.net = NULL;
    }
    fs_net_free(l.net);
    free(l.names);
    free(l.uses);
    free(l.absorbed);
    onnx__model_proto__free_unpacked(model, NULL);
    return st;
}

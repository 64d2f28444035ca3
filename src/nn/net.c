/* Network building: layers appended in execution order, weights folded. */
#include "nn_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void *fs_nn_alloc(size_t bytes)
{
    size_t n = (bytes + 63) / 64 * 64;
    return aligned_alloc(64, n ? n : 64);
}

fs_net *fs_net_create(const char *name, int channels)
{
    fs_net *net = calloc(1, sizeof *net);
    if (!net)
        return NULL;
    size_t n = strlen(name) + 1;
    net->name = malloc(n);
    net->layers = calloc(16, sizeof *net->layers);
    if (!net->name || !net->layers) {
        fs_net_free(net);
        return NULL;
    }
    memcpy(net->name, name, n);
    net->cap = 16;
    layer *in = &net->layers[0];
    in->type = L_INPUT;
    in->cout = channels;
    in->name = malloc(6);
    if (!in->name) {
        fs_net_free(net);
        return NULL;
    }
    memcpy(in->name, "input", 6);
    net->n = 1;
    return net;
}

void fs_net_free(fs_net *net)
{
    if (!net)
        return;
    for (int i = 0; i < net->n; i++) {
        free(net->layers[i].name);
        free(net->layers[i].w);
        free(net->layers[i].b);
        free(net->layers[i].wb);
        free(net->layers[i].slope);
    }
    free(net->layers);
    free(net->name);
    free(net);
}

static int set_err(fs_net *net, int code, const char *layer_name, const char *why)
{
    if (!net->err.code)
        fs_fail(&net->err, code, "%s: layer '%s': %s", net->name, layer_name, why);
    return -1;
}

/* Channels produced by node i. */
static int node_channels(const fs_net *net, int i)
{
    return net->layers[i].cout;
}

/* Appends a layer of `type` named `name`; returns it or NULL (error set). */
static layer *append(fs_net *net, layer_type type, const char *name, int n_in, const int *in)
{
    if (net->err.code)
        return NULL;
    for (int i = 0; i < n_in; i++)
        if (in[i] < 0 || in[i] >= net->n) {
            set_err(net, FS_EUSAGE, name, "input node does not exist");
            return NULL;
        }
    if (net->n == net->cap) {
        layer *nl = realloc(net->layers, (size_t)net->cap * 2 * sizeof *nl);
        if (!nl) {
            set_err(net, FS_ENOMEM, name, "out of memory");
            return NULL;
        }
        net->layers = nl;
        net->cap *= 2;
    }
    layer *L = &net->layers[net->n];
    memset(L, 0, sizeof *L);
    size_t len = strlen(name) + 1;
    if (!(L->name = malloc(len))) {
        set_err(net, FS_ENOMEM, name, "out of memory");
        return NULL;
    }
    memcpy(L->name, name, len);
    L->type = type;
    L->n_in = n_in;
    memcpy(L->in, in, (size_t)n_in * sizeof *in);
    L->stride = 1;
    net->n++;
    return L;
}

/* Folds bias/scale/shift into weights (count_per_out values per output
 * channel, output channel fastest: index = k*cout + o) in double precision. */
static int fold(fs_net *net, layer *L, const fs_conv_desc *d, size_t k_count, int cout)
{
    L->w = fs_nn_alloc(k_count * (size_t)cout * sizeof(float));
    L->b = fs_nn_alloc((size_t)cout * sizeof(float));
    if (!L->w || !L->b)
        return set_err(net, FS_ENOMEM, L->name, "out of memory");
    for (int o = 0; o < cout; o++) {
        double s = d->scale ? d->scale[o] : 1.0;
        for (size_t k = 0; k < k_count; k++)
            L->w[k * (size_t)cout + (size_t)o] =
                (float)((double)d->weights[k * (size_t)cout + (size_t)o] * s);
        double b = d->bias ? d->bias[o] : 0.0;
        L->b[o] = (float)(b * s + (d->shift ? d->shift[o] : 0.0));
    }
    return 0;
}

/* Geometry, activation and the PReLU slopes of a conv layer. */
static int conv_setup(fs_net *net, layer *L, const fs_conv_desc *d)
{
    L->kh = d->kh;
    L->kw = d->kw;
    L->cin = d->cin;
    L->cout = d->cout;
    L->stride = d->stride;
    L->pad = d->pad;
    L->pad_px = d->pad == FS_PAD_EXPLICIT ? d->pad_px : 0;
    L->act = d->act;
    if (!d->slope)
        return 0;
    if (!(L->slope = fs_nn_alloc((size_t)d->cout * sizeof(float))))
        return set_err(net, FS_ENOMEM, L->name, "out of memory");
    memcpy(L->slope, d->slope, (size_t)d->cout * sizeof(float));
    return 0;
}

/* -1 (error recorded unless one already was) when input is not a node. */
static int bad_input(fs_net *net, const char *name, int input)
{
    if (net->err.code)
        return -1;
    if (input < 0 || input >= net->n)
        return set_err(net, FS_EUSAGE, name, "input node does not exist");
    return 0;
}

static int check_desc(fs_net *net, const char *name, int input, const fs_conv_desc *d)
{
    if (bad_input(net, name, input) < 0)
        return -1;
    if (!d->weights || d->kh < 1 || d->kw < 1 || d->cin < 1 || d->cout < 1 || d->stride < 1)
        return set_err(net, FS_EUSAGE, name, "bad convolution parameters");
    if (d->pad == FS_PAD_EXPLICIT && (d->pad_px < 0 || d->pad_px >= d->kh || d->pad_px >= d->kw))
        return set_err(net, FS_EUSAGE, name, "explicit padding must be below the kernel size");
    if ((d->act == FS_ACT_PRELU) != (d->slope != NULL))
        return set_err(net, FS_EUSAGE, name, "a PReLU needs its slopes (and only a PReLU has them)");
    if (node_channels(net, input) != d->cin)
        return set_err(net, FS_EUSAGE, name, "input channel count does not match the weights");
    return 0;
}

int fs_net_conv(fs_net *net, const char *name, int input, const fs_conv_desc *d)
{
    if (check_desc(net, name, input, d) < 0)
        return -1;
    layer *L = append(net, L_CONV, name, 1, &input);
    if (!L || conv_setup(net, L, d) < 0)
        return -1;
    if (fold(net, L, d, (size_t)d->kh * d->kw * d->cin, d->cout) < 0)
        return -1;
    return net->n - 1;
}

int fs_net_depthwise(fs_net *net, const char *name, int input, const fs_conv_desc *d)
{
    if (check_desc(net, name, input, d) < 0)
        return -1;
    if (d->cout != d->cin)
        return set_err(net, FS_EUSAGE, name, "depthwise conv must keep the channel count");
    layer *L = append(net, L_DW, name, 1, &input);
    if (!L || conv_setup(net, L, d) < 0)
        return -1;
    if (fold(net, L, d, (size_t)d->kh * d->kw, d->cin) < 0)
        return -1;
    return net->n - 1;
}

int fs_net_pool(fs_net *net, const char *name, int input, fs_pool_kind kind, int k,
                int stride, fs_pad pad)
{
    if (bad_input(net, name, input) < 0)
        return -1;
    if (k < 1 || stride < 1)
        return set_err(net, FS_EUSAGE, name, "bad pooling parameters");
    layer *L = append(net, L_POOL, name, 1, &input);
    if (!L)
        return -1;
    L->pool = kind;
    L->kh = L->kw = k;
    L->stride = stride;
    L->pad = pad;
    L->cin = L->cout = node_channels(net, input);
    return net->n - 1;
}

int fs_net_add(fs_net *net, const char *name, int n, const int *inputs, fs_act act)
{
    if (net->err.code)
        return -1;
    if (n < 2 || n > FS_NN_MAX_INPUTS)
        return set_err(net, FS_EUSAGE, name, "an add takes 2 to 8 inputs");
    if (act == FS_ACT_PRELU)
        return set_err(net, FS_EUSAGE, name, "a PReLU follows convolutions only");
    int c = 0;
    for (int i = 0; i < n; i++) {
        if (inputs[i] < 0 || inputs[i] >= net->n)
            return set_err(net, FS_EUSAGE, name, "input node does not exist");
        if (node_channels(net, inputs[i]) > c)
            c = node_channels(net, inputs[i]);
    }
    layer *L = append(net, L_ADD, name, n, inputs);
    if (!L)
        return -1;
    L->act = act;
    L->cin = L->cout = c;
    return net->n - 1;
}

int fs_net_mean(fs_net *net, const char *name, int input)
{
    if (bad_input(net, name, input) < 0)
        return -1;
    layer *L = append(net, L_MEAN, name, 1, &input);
    if (!L)
        return -1;
    L->cin = L->cout = node_channels(net, input);
    return net->n - 1;
}

int fs_net_fc(fs_net *net, const char *name, int input, int in, int out, const float *weights,
              const float *bias, fs_act act)
{
    if (bad_input(net, name, input) < 0)
        return -1;
    if (in < 1 || out < 1 || !weights || act == FS_ACT_PRELU)
        return set_err(net, FS_EUSAGE, name, "bad fully connected parameters");
    layer *L = append(net, L_FC, name, 1, &input);
    if (!L)
        return -1;
    L->cin = in;
    L->cout = out;
    L->act = act;
    fs_conv_desc d = {.weights = weights, .bias = bias};
    if (fold(net, L, &d, (size_t)in, out) < 0)
        return -1;
    return net->n - 1;
}

int fs_net_prepare_bf16(fs_net *net, fs_error *err)
{
    if (fs_net_status(net, err) != FS_OK)
        return net->err.code;
    if (net->bf16_ready || !fs_nn_cpu_bf16())
        return FS_OK;
    for (int i = 1; i < net->n; i++) {
        layer *L = &net->layers[i];
        if (L->type != L_CONV || L->wb)
            continue;
        int K = L->kh * L->kw * L->cin;
        L->wsplit = K <= FS_NN_BF16_SPLIT_MAX_K;
        L->wb = fs_nn_alloc(fs_nn_bf16_packed_count(K, L->cout, L->wsplit) * sizeof *L->wb);
        if (!L->wb)
            return fs_fail(err, FS_ENOMEM, "%s: out of memory packing bf16 weights", net->name);
        fs_nn_bf16_pack_b(L->w, K, L->cout, L->wsplit, L->wb);
    }
    net->bf16_ready = 1;
    return FS_OK;
}

void fs_net_output(fs_net *net, int node)
{
    if (node >= 0 && node < net->n)
        net->layers[node].is_output = 1;
}

int fs_net_status(const fs_net *net, fs_error *err)
{
    if (!net->err.code)
        return FS_OK;
    return fs_fail(err, net->err.code, "%s", net->err.msg);
}

const char *fs_net_name(const fs_net *net) { return net->name; }
int fs_net_nodes(const fs_net *net) { return net->n; }

const char *fs_net_node_name(const fs_net *net, int node)
{
    return node >= 0 && node < net->n ? net->layers[node].name : NULL;
}

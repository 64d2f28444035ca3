/* A tiny ONNX model written with protobuf-c (see onnx_util.h). */
#include "onnx_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "onnx.pb-c.h"

static void ints_attr(Onnx__AttributeProto *a, const char *name, const int64_t *v, size_t n)
{
    onnx__attribute_proto__init(a);
    a->name = (char *)name;
    a->has_type = 1;
    a->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS;
    a->n_ints = n;
    a->ints = (int64_t *)v;
}

int tu_onnx_tiny(const char *path, const char *op, const int64_t *pads, int64_t dilation)
{
    static float w[4 * 4 * 3 * 3];
    for (size_t i = 0; i < sizeof w / sizeof w[0]; i++)
        w[i] = (float)((i * 7) % 5) / 5.0f - 0.4f;
    Onnx__TensorProto wt = ONNX__TENSOR_PROTO__INIT;
    int64_t wdims[4] = {4, 4, 3, 3};
    wt.name = "w";
    wt.has_data_type = 1;
    wt.data_type = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT;
    wt.n_dims = 4;
    wt.dims = wdims;
    wt.has_raw_data = 1;
    wt.raw_data.len = sizeof w;
    wt.raw_data.data = (uint8_t *)w;
    Onnx__TensorProto *inits[1] = {&wt};

    Onnx__AttributeProto ap, ad;
    int64_t dil[2] = {dilation, dilation};
    ints_attr(&ap, "pads", pads, 4);
    ints_attr(&ad, "dilations", dil, 2);
    Onnx__AttributeProto *attrs[2] = {&ap, &ad};
    Onnx__NodeProto node = ONNX__NODE_PROTO__INIT;
    char *ins[2] = {"x", "w"}, *outs[1] = {"y"};
    node.name = "the_node";
    node.op_type = (char *)op;
    node.n_input = strcmp(op, "Conv") == 0 ? 2 : 1;
    node.input = ins;
    node.n_output = 1;
    node.output = outs;
    node.n_attribute = strcmp(op, "Conv") == 0 ? 2 : 0;
    node.attribute = attrs;
    Onnx__NodeProto *nodes[1] = {&node};

    Onnx__TensorShapeProto__Dimension d[4];
    Onnx__TensorShapeProto__Dimension *dp[4];
    const int64_t shape[4] = {1, 4, 8, 8};
    for (int i = 0; i < 4; i++) {
        onnx__tensor_shape_proto__dimension__init(&d[i]);
        d[i].value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
        d[i].dim_value = shape[i];
        dp[i] = &d[i];
    }
    Onnx__TensorShapeProto sh = ONNX__TENSOR_SHAPE_PROTO__INIT;
    sh.n_dim = 4;
    sh.dim = dp;
    Onnx__TypeProto__Tensor tt = ONNX__TYPE_PROTO__TENSOR__INIT;
    tt.has_elem_type = 1;
    tt.elem_type = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT;
    tt.shape = &sh;
    Onnx__TypeProto type = ONNX__TYPE_PROTO__INIT;
    type.value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
    type.tensor_type = &tt;
    Onnx__ValueInfoProto vin = ONNX__VALUE_INFO_PROTO__INIT, vout = ONNX__VALUE_INFO_PROTO__INIT;
    vin.name = "x";
    vin.type = &type;
    vout.name = "y";
    Onnx__ValueInfoProto *gin[1] = {&vin}, *gout[1] = {&vout};
    Onnx__GraphProto g = ONNX__GRAPH_PROTO__INIT;
    g.name = "tiny";
    g.n_node = 1;
    g.node = nodes;
    g.n_initializer = 1;
    g.initializer = inits;
    g.n_input = 1;
    g.input = gin;
    g.n_output = 1;
    g.output = gout;
    Onnx__ModelProto m = ONNX__MODEL_PROTO__INIT;
    m.has_ir_version = 1;
    m.ir_version = 7;
    m.graph = &g;
    size_t n = onnx__model_proto__get_packed_size(&m);
    uint8_t *buf = malloc(n);
    if (!buf)
        return -1;
    onnx__model_proto__pack(&m, buf);
    FILE *f = fopen(path, "wb");
    size_t wrote = f ? fwrite(buf, 1, n, f) : 0;
    int rc = f && fclose(f) == 0 && wrote == n ? 0 : -1;
    free(buf);
    return rc;
}

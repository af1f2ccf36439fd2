/* Small float ONNX models written with protobuf-c, for the tests that need a model file or buffer
 * (tests/unit/test_packed_weights.c, tests/unit/test_load_rss.c): opset 13, one float input "X",
 * float initializers as raw_data, nodes with INT / FLOAT / INTS attributes, float outputs.
 *
 *   const ob_attr ks = {"kernel_shape", 2, 0, 0, {3, 3}};
 *   ob_node nodes[] = {{"Conv", {"X", "W"}, {"Y"}, {ks}}};
 *   ob_init inits[] = {{"W", 4, {8, 3, 3, 3}, w}};
 *   ob_model m = {.nodes = nodes, .n_nodes = 1, .inits = inits, .n_inits = 1, .xrank = 4, .xd = xd,
 *                 .outs = (const char *[]){"Y"}, .n_outs = 1};
 *   uint8_t *buf = ob_pack(&m, &len);  // free(buf)
 *
 * Header-only (static inline), like the other shared test headers: each test is its own executable. */
#ifndef EO_TEST_ONNX_BUILD_H
#define EO_TEST_ONNX_BUILD_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "onnx/onnx_internal.h"

typedef struct ob_attr {
  const char *name;  /* NULL ends a node's list */
  int n;             /* 0: an INT (i), -1: a FLOAT (f), > 0: n INTS */
  int64_t i;
  float f;
  int64_t ints[4];
} ob_attr;

typedef struct ob_node {
  const char *op;
  const char *in[5], *out[2];  /* NULL-terminated when fewer */
  ob_attr attrs[4];
} ob_node;

typedef struct ob_init {
  const char *name;
  int rank;
  int64_t dims[4];
  const float *data;  /* numel floats, borrowed */
} ob_init;

typedef struct ob_model {
  const char *graph_name, *producer;  /* NULL: "g", none */
  const ob_node *nodes;               /* named n0, n1, ... */
  int n_nodes;
  const ob_init *inits;
  int n_inits;
  int xrank;           /* input X: xrank dims xd, dim 0 symbolic ("N") when sym */
  const int64_t *xd;
  bool sym;
  const char *const *outs;
  int n_outs;
  bool outs_like_x;    /* outputs declared with X's type and shape; else the element type only */
} ob_model;

static inline int ob_count(const char *const *a, int max) {
  int n = 0;
  while (n < max && a[n]) n++;
  return n;
}

/* The packed ModelProto in a malloc'd buffer (its size in *len), NULL when out of memory. */
static inline uint8_t *ob_pack(const ob_model *m, size_t *len) {
  const size_t nn = (size_t)m->n_nodes, ni = (size_t)m->n_inits, no = (size_t)m->n_outs;
  Onnx__ModelProto mp = ONNX__MODEL_PROTO__INIT;
  Onnx__GraphProto gp = ONNX__GRAPH_PROTO__INIT;
  Onnx__OperatorSetIdProto op = ONNX__OPERATOR_SET_ID_PROTO__INIT, *ops[1] = {&op};
  op.domain = "";
  op.has_version = 1;
  op.version = 13;
  mp.has_ir_version = 1;
  mp.ir_version = 7;
  mp.n_opset_import = 1;
  mp.opset_import = ops;
  if (m->producer) mp.producer_name = (char *)m->producer;
  mp.graph = &gp;
  gp.name = (char *)(m->graph_name ? m->graph_name : "g");
  Onnx__NodeProto *np = calloc(nn, sizeof *np), **npp = calloc(nn, sizeof *npp);
  Onnx__AttributeProto *ap = calloc(nn * 4, sizeof *ap), **app = calloc(nn * 4, sizeof *app);
  Onnx__TensorProto *tp = calloc(ni, sizeof *tp), **tpp = calloc(ni, sizeof *tpp);
  Onnx__ValueInfoProto *vy = calloc(no, sizeof *vy), **vout = calloc(no, sizeof *vout);
  char *names = calloc(nn, 24);  // "n" and up to 20 digits
  uint8_t *buf = NULL;
  if ((nn && (!np || !npp || !ap || !app || !names)) || (ni && (!tp || !tpp)) || (no && (!vy || !vout))) goto done;
  for (size_t k = 0; k < nn; k++) {
    Onnx__NodeProto *n = &np[k];
    const ob_node *s = &m->nodes[k];
    onnx__node_proto__init(n);
    snprintf(names + 24 * k, 24, "n%zu", k);
    n->name = names + 24 * k;
    n->op_type = (char *)s->op;
    n->n_input = (size_t)ob_count(s->in, 5);
    n->input = (char **)s->in;
    n->n_output = (size_t)ob_count(s->out, 2);
    n->output = (char **)s->out;
    n->attribute = &app[k * 4];
    for (int a = 0; a < 4 && s->attrs[a].name; a++) {
      const ob_attr *t = &s->attrs[a];
      Onnx__AttributeProto *p = &ap[k * 4 + a];
      onnx__attribute_proto__init(p);
      p->name = (char *)t->name;
      p->has_type = 1;
      if (t->n == 0) {
        p->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT;
        p->has_i = 1;
        p->i = t->i;
      } else if (t->n < 0) {
        p->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT;
        p->has_f = 1;
        p->f = t->f;
      } else {
        p->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS;
        p->n_ints = (size_t)t->n;
        p->ints = (int64_t *)t->ints;
      }
      app[k * 4 + a] = p;
      n->n_attribute++;
    }
    npp[k] = n;
  }
  gp.n_node = nn;
  gp.node = npp;
  for (size_t k = 0; k < ni; k++) {
    const ob_init *s = &m->inits[k];
    onnx__tensor_proto__init(&tp[k]);
    tp[k].name = (char *)s->name;
    tp[k].n_dims = (size_t)s->rank;
    tp[k].dims = (int64_t *)s->dims;
    tp[k].has_data_type = 1;
    tp[k].data_type = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT;
    int64_t cnt = 1;
    for (int d = 0; d < s->rank; d++) cnt *= s->dims[d];
    tp[k].has_raw_data = 1;
    tp[k].raw_data.data = (uint8_t *)s->data;
    tp[k].raw_data.len = (size_t)cnt * sizeof(float);
    tpp[k] = &tp[k];
  }
  gp.n_initializer = ni;
  gp.initializer = tpp;
  Onnx__TensorShapeProto__Dimension d[4], *dp[4];
  for (int i = 0; i < m->xrank && i < 4; i++) {
    onnx__tensor_shape_proto__dimension__init(&d[i]);
    if (i == 0 && m->sym) {
      d[i].value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM;
      d[i].dim_param = "N";
    } else {
      d[i].value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
      d[i].dim_value = m->xd[i];
    }
    dp[i] = &d[i];
  }
  Onnx__TensorShapeProto shape = ONNX__TENSOR_SHAPE_PROTO__INIT;
  shape.n_dim = (size_t)m->xrank, shape.dim = dp;
  Onnx__TypeProto__Tensor tt = ONNX__TYPE_PROTO__TENSOR__INIT, ot = ONNX__TYPE_PROTO__TENSOR__INIT;
  tt.has_elem_type = 1, tt.elem_type = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, tt.shape = &shape;
  ot.has_elem_type = 1, ot.elem_type = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT;  // output shapes inferred
  Onnx__TypeProto type = ONNX__TYPE_PROTO__INIT, otype = ONNX__TYPE_PROTO__INIT;
  type.value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE, type.tensor_type = &tt;
  otype.value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE, otype.tensor_type = &ot;
  Onnx__ValueInfoProto vx = ONNX__VALUE_INFO_PROTO__INIT, *vin[1] = {&vx};
  vx.name = "X", vx.type = &type;
  for (size_t i = 0; i < no; i++) {
    onnx__value_info_proto__init(&vy[i]);
    vy[i].name = (char *)m->outs[i], vy[i].type = m->outs_like_x ? &type : &otype;
    vout[i] = &vy[i];
  }
  gp.n_input = 1, gp.input = vin, gp.n_output = no, gp.output = vout;
  *len = onnx__model_proto__get_packed_size(&mp);
  buf = malloc(*len);
  if (buf) onnx__model_proto__pack(&mp, buf);
done:
  free(np), free(npp), free(ap), free(app), free(tp), free(tpp), free(vy), free(vout), free(names);
  return buf;
}

/* ob_pack into the file at path: 0, or 1 when it could not be packed or written. */
static inline int ob_write(const ob_model *m, const char *path) {
  size_t n = 0;
  uint8_t *buf = ob_pack(m, &n);
  FILE *f = buf ? fopen(path, "wb") : NULL;
  int ok = f && fwrite(buf, 1, n, f) == n;
  if (f) ok &= fclose(f) == 0;
  free(buf);
  return ok ? 0 : 1;
}

#endif

/* Recipe `activation: {float_gemm_output: true}` (src/quant/quantize.c, plan_activations): on
 * x -> g1: Gemm -> Relu -> g2: Gemm -> y, static INT8 must leave y in float (g2 writes the graph
 * output directly, no QuantizeLinear/DequantizeLinear after it) while the input and the Relu output
 * keep their Q/DQ; without the key, or with --quantize-tail, y is quantized as before. The written
 * file's output is checked against a numpy float64 oracle written here that evaluates the QDQ graph
 * from the file's own initializers (QuantizeLinear: round half to even, saturate to uint8;
 * DequantizeLinear: (q - zp) * s), and edgeopt's runtime against that oracle. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/core.h"
#include "core/npy.h"
#include "edgeopt/model.h"
#include "edgeopt/quant.h"
#include "edgeopt/runtime.h"
#include "test.h"

#define K 16
#define H 8
#define NO 3

static const char *script =
    "import sys, numpy as np, onnx\n"
    "from onnx import helper as h, numpy_helper as nh, TensorProto as T\n"
    "if sys.argv[1] == 'model':  # model.onnx calib_dir x.npy\n"
    "    r = np.random.default_rng(3)\n"
    "    w1 = r.standard_normal((8, 16)).astype(np.float32) * 0.3; b1 = r.standard_normal(8).astype(np.float32) * 0.1\n"
    "    w2 = r.standard_normal((3, 8)).astype(np.float32) * 0.3; b2 = r.standard_normal(3).astype(np.float32) * 0.1\n"
    "    g = h.make_graph([h.make_node('Gemm', ['x', 'w1', 'b1'], ['a'], name='g1', transB=1),\n"
    "                      h.make_node('Relu', ['a'], ['r'], name='relu'),\n"
    "                      h.make_node('Gemm', ['r', 'w2', 'b2'], ['y'], name='g2', transB=1)], 'fg',\n"
    "                     [h.make_tensor_value_info('x', T.FLOAT, [1, 16])], [h.make_tensor_value_info('y', T.FLOAT, [1, 3])],\n"
    "                     [nh.from_array(w1, 'w1'), nh.from_array(b1, 'b1'), nh.from_array(w2, 'w2'), nh.from_array(b2, 'b2')])\n"
    "    onnx.save(h.make_model(g, opset_imports=[h.make_opsetid('', 13)]), sys.argv[2])\n"
    "    for i in range(6): np.save('%s/c%d.npy' % (sys.argv[3], i), r.standard_normal((1, 16)).astype(np.float32))\n"
    "    np.save(sys.argv[4], r.standard_normal((1, 16)).astype(np.float32))\n"
    "else:  # check q.onnx x.npy res.txt -> y_float_out n_q y values (oracle)\n"
    "    m = onnx.load(sys.argv[2]); init = {i.name: nh.to_array(i) for i in m.graph.initializer}\n"
    "    prod = {o: n for n in m.graph.node for o in n.output}\n"
    "    v = dict(init); v['x'] = np.load(sys.argv[3]).astype(np.float64)\n"
    "    for n in m.graph.node:\n"
    "        a = [v[i] for i in n.input]\n"
    "        if n.op_type == 'QuantizeLinear':\n"
    "            q = np.round(a[0] / a[1].astype(np.float64)) + a[2].astype(np.float64)\n"
    "            o = np.clip(q, 0, 255).astype(np.uint8) if a[2].dtype == np.uint8 else np.clip(q, -128, 127).astype(np.int8)\n"
    "        elif n.op_type == 'DequantizeLinear':\n"
    "            s = a[1].astype(np.float64); z = a[2].astype(np.float64) if len(a) > 2 else 0\n"
    "            ax = [t.i for t in n.attribute if t.name == 'axis']; ax = ax[0] if ax else 1\n"
    "            if s.ndim == 1 and a[0].ndim > 1:\n"
    "                sh = [1] * a[0].ndim; sh[ax] = -1; s = s.reshape(sh); z = z.reshape(sh) if np.ndim(z) else z\n"
    "            o = (a[0].astype(np.float64) - z) * s\n"
    "        elif n.op_type == 'Gemm':\n"
    "            tb = [t.i for t in n.attribute if t.name == 'transB']\n"
    "            o = a[0] @ (a[1].T if tb and tb[0] else a[1]) + (a[2] if len(a) > 2 else 0)\n"
    "        elif n.op_type == 'Relu': o = np.maximum(a[0], 0)\n"
    "        else: raise SystemExit('unexpected op ' + n.op_type)\n"
    "        v[n.output[0]] = o\n"
    "    nq = sum(n.op_type == 'QuantizeLinear' for n in m.graph.node)\n"
    "    y = v['y'].ravel(); ys = float(init[prod['y'].input[1]]) if prod['y'].op_type == 'DequantizeLinear' else 0.0\n"
    "    open(sys.argv[4], 'w').write('%d %d %.9g %s\\n' % (prod['y'].op_type == 'Gemm', nq, ys, ' '.join('%.17g' % t for t in y)))\n";

static int run(const char *cmd) { return system(cmd); }

int main(void) {
  char dir[] = "/tmp/eo_test_float_gemm_XXXXXX";
  EO_ASSERT(mkdtemp(dir) != NULL);
  char py[256], model[256], calib[256], xin[256], out[256], recipe[256], res[256], cmd[2048];
  snprintf(py, sizeof py, "%s/s.py", dir);
  snprintf(model, sizeof model, "%s/m.onnx", dir);
  snprintf(calib, sizeof calib, "%s/calib", dir);
  snprintf(xin, sizeof xin, "%s/x.npy", dir);
  snprintf(out, sizeof out, "%s/q.onnx", dir);
  snprintf(recipe, sizeof recipe, "%s/r.yaml", dir);
  snprintf(res, sizeof res, "%s/res.txt", dir);
  EO_ASSERT(mkdir(calib, 0700) == 0);
  FILE *f = fopen(py, "w");
  EO_ASSERT(f);
  fputs(script, f);
  fclose(f);
  f = fopen(recipe, "w");
  EO_ASSERT(f);
  fputs("activation:\n  float_gemm_output: true\n", f);
  fclose(f);
  snprintf(cmd, sizeof cmd, "/usr/bin/python3 %s model %s %s %s", py, model, calib, xin);
  EO_ASSERT(run(cmd) == 0);
  float x[K];
  {
    int dt, rank;
    int64_t xd[EO_MAX_RANK];
    void *data = NULL;
    size_t nb = 0;
    EO_ASSERT(eo_npy_read(xin, &dt, &rank, xd, &data, &nb) == EO_OK);
    EO_ASSERT(dt == EO_FLOAT && eo_numel(rank, xd) == K);
    memcpy(x, data, sizeof x);
    free(data);
  }
  // case 0: no recipe; 1: the recipe; 2: the recipe and quantize_output_tail
  for (int c = 0; c < 3; c++) {
    eo_quant_options o;
    eo_quant_options_init(&o);
    o.mode = EO_QUANT_INT8;
    o.calib_path = calib;
    o.recipe_path = c ? recipe : NULL;
    o.quantize_output_tail = c == 2;
    EO_CHECK_MSG(eo_quantize(model, out, &o, NULL) == EO_OK, "case %d: %s", c, eo_last_error());
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 %s check %s %s %s", py, out, xin, res);
    EO_ASSERT(run(cmd) == 0);
    f = fopen(res, "r");
    EO_ASSERT(f);
    int yfloat = -1, nq = -1;
    double want[NO], ystep = -1;
    EO_CHECK(fscanf(f, "%d %d %lf", &yfloat, &nq, &ystep) == 3);
    for (int i = 0; i < NO; i++) EO_CHECK(fscanf(f, "%lf", &want[i]) == 1);
    fclose(f);
    // x and the Relu output always; y too unless the recipe leaves it in float
    EO_CHECK_MSG(yfloat == (c == 1) && nq == (c == 1 ? 2 : 3), "case %d: y from Gemm %d, %d QuantizeLinear", c, yfloat, nq);
    // edgeopt's runtime on the written file vs the oracle: a float output is exact up to float32
    // accumulation; a quantized one may differ by one step where the oracle's float64 rounds the
    // other way
    eo_model *m = NULL;
    eo_session *s = NULL;
    int64_t dims[2] = {1, K};
    eo_input_shape shp = {"x", 2, dims, 0, NULL};
    eo_tensor_view y;
    int ok = eo_model_load(out, NULL, &m) == EO_OK && eo_session_create(m, NULL, &s) == EO_OK &&
             eo_session_prepare(s, 1, &shp) == EO_OK && eo_session_set_input(s, "x", EO_FLOAT, 2, dims, x) == EO_OK &&
             eo_session_run(s) == EO_OK && eo_session_output(s, 0, &y) == EO_OK && eo_numel(y.rank, y.dims) == NO;
    EO_CHECK_MSG(ok, "case %d: %s", c, eo_last_error());
    double amax = 0, worst = 0;
    for (int i = 0; ok && i < NO; i++) {
      amax = fmax(amax, fabs(want[i]));
      worst = fmax(worst, fabs(((const float *)y.data)[i] - want[i]));
    }
    EO_CHECK_MSG(c == 1 ? ystep == 0 : ystep > 0, "case %d: y's step %g", c, ystep);
    EO_CHECK_MSG(ok && worst <= (c == 1 ? 1e-5 * fmax(amax, 1e-3) : 1.0001 * ystep),
                 "case %d: edgeopt vs oracle max |diff| %g (max |y| %g, y's step %g)", c, worst, amax, ystep);
    eo_session_free(s);
    eo_model_free(m);
  }
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  if (run(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
  return eo_test_finish();
}

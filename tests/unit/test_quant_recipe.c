/* YAML quantization recipes (src/quant/recipe.c): global settings, layer_configs matching (node-name
 * regex searched, op_type regex matched whole, later entries overriding earlier ones), and errors
 * that name the file, line and key. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "edgeopt/quant.h"
#include "quant/recipe.h"
#include "quant/wclip.h"
#include "test.h"

static char dir[64];

static char *write_yaml(const char *name, const char *text) {
  static char path[128];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  FILE *f = fopen(path, "w");
  EO_ASSERT(f);
  fputs(text, f);
  fclose(f);
  return path;
}

static void test_good(void) {
  const char *p = write_yaml("good.yaml",
                             "quantization:\n"
                             "  weight: {bits: 8, per_channel: false, symmetric: true, observer: mse}\n"
                             "  activation:\n"
                             "    symmetric: true\n"
                             "    observer: entropy\n"
                             "    percentile: 99.9\n"
                             "    float_gemm_output: true\n"
                             "  layer_configs:\n"
                             "    - pattern: \"^model\\\\.22\\\\.\"\n"
                             "      skip: true\n"
                             "    - op_type: Conv\n"
                             "      observer: mse\n"
                             "    - pattern: \"cv2\"\n"
                             "      op_type: \"Conv|Gemm\"\n"
                             "      observer: minmax\n"
                             "      per_channel: true\n");
  eo_quant_recipe *r = NULL;
  EO_CHECK_MSG(eo_recipe_load(p, &r) == EO_OK, "%s", eo_last_error());
  if (!r) return;
  EO_CHECK(r->per_channel == 0 && r->act_symmetric == 1 && r->observer == EO_CALIB_ENTROPY && r->percentile == 99.9);
  EO_CHECK(r->weight_observer == EO_WCLIP_MSE && r->float_gemm_output == 1);
  EO_CHECK(r->n_layers == 3);
  int skip, obs, pc;
  eo_recipe_node(r, "model.22.dfl", "Conv", &skip, &obs, &pc);
  EO_CHECK(skip == 1 && obs == EO_CALIB_MSE && pc == -1);
  eo_recipe_node(r, "xmodel.22.dfl", "Relu", &skip, &obs, &pc);  // anchored name, op not matched
  EO_CHECK(skip == -1 && obs == -1 && pc == -1);
  eo_recipe_node(r, "model.3.cv2.conv", "Conv", &skip, &obs, &pc);  // the later entry wins
  EO_CHECK(skip == -1 && obs == EO_CALIB_MINMAX && pc == 1);
  eo_recipe_node(r, "model.3.cv2.conv", "ConvTranspose", &skip, &obs, &pc);  // op_type matches whole names
  EO_CHECK(obs == -1 && pc == -1);
  eo_recipe_free(r);
}

static void bad(const char *name, const char *text, const char *needle) {
  const char *p = write_yaml(name, text);
  eo_quant_recipe *r = (eo_quant_recipe *)1;
  eo_status st = eo_recipe_load(p, &r);
  EO_CHECK_MSG(st != EO_OK && r == NULL && strstr(eo_last_error(), needle), "%s: want '%s', got '%s'", name, needle,
               st ? eo_last_error() : "success");
}

static void test_errors(void) {
  bad("k.yaml", "weight:\n  per_channel: true\n  granularity: 1\n", "k.yaml:3: 'granularity': unknown key in weight");
  bad("re.yaml", "layer_configs:\n  - skip: true\n    pattern: \"a(b\"\n", "re.yaml:3: 'pattern': invalid regular expression");
  bad("op.yaml", "layer_configs:\n  - op_type: \"[\"\n", "op.yaml:2: 'op_type': invalid regular expression");
  bad("b.yaml", "activation:\n  bits: 4\n", "b.yaml:2: 'bits': only 8 bits");
  bad("sym.yaml", "weight:\n  symmetric: false\n", "'symmetric': only symmetric weights");
  bad("wobs.yaml", "weight:\n  observer: entropy\n", "wobs.yaml:2: 'observer': expected minmax or mse");
  bad("bool.yaml", "layer_configs:\n  - pattern: x\n    skip: maybe\n", "bool.yaml:3: 'skip': expected true or false");
  bad("none.yaml", "layer_configs:\n  - skip: true\n", "none.yaml:2: 'layer_configs entry': needs a 'pattern' or an 'op_type'");
  bad("list.yaml", "layer_configs:\n  pattern: x\n", "list.yaml:2: 'layer_configs': expected a list");
  bad("top.yaml", "quantisation:\n  weight: {}\n", "top.yaml:1: 'quantisation': unknown key in the recipe");
  bad("fgo.yaml", "activation:\n  float_gemm_output: 2\n", "fgo.yaml:2: 'float_gemm_output': expected true or false");
  bad("pct.yaml", "activation: {percentile: 120}\n", "'percentile': expected a number in (50, 100]");
  bad("syntax.yaml", "weight: [1, 2\n", "syntax.yaml:");
  bad("empty.yaml", "", "the recipe is empty");
  eo_quant_recipe *r = (eo_quant_recipe *)1;
  EO_CHECK(eo_recipe_load("/nonexistent/recipe.yaml", &r) != EO_OK && r == NULL &&
           strstr(eo_last_error(), "/nonexistent/recipe.yaml"));
  const char *p = write_yaml("unset.yaml", "activation: {observer: mse}\n");  // the key left out: unset
  r = NULL;
  EO_CHECK(eo_recipe_load(p, &r) == EO_OK && r && r->float_gemm_output == -1);
  eo_recipe_free(r);
}

int main(void) {
  snprintf(dir, sizeof dir, "/tmp/eo_test_recipe_XXXXXX");
  EO_ASSERT(mkdtemp(dir));
  test_good();
  test_errors();
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
  return eo_test_finish();
}

/* The optimize recipe reader (src/pipeline/opt_recipe.c): sections, warnings with their lines,
 * the quantization section handed to the quantization reader at its own lines, errors naming key
 * and line; and the pipeline's sha256 against FIPS 180-4's test vectors. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/core.h"
#include "edgeopt/quant.h"
#include "pipeline/pipeline_internal.h"
#include "test.h"

static char path[256];

static void put(const char *text) {
  FILE *f = fopen(path, "wb");
  fputs(text, f);
  fclose(f);
}

static eo_status load(const char *text, eo_opt_recipe **r) {
  put(text);
  return eo_opt_recipe_load(path, r);
}

/* the error mentions "PATH:LINE: 'key'" */
static int names(const char *key, int line) {
  char want[400];
  snprintf(want, sizeof want, "%s:%d: '%s'", path, line, key);
  int ok = strstr(eo_last_error(), want) != NULL;
  if (!ok) fprintf(stderr, "  wanted \"%s\" in \"%s\"\n", want, eo_last_error());
  return ok;
}

int main(void) {
  snprintf(path, sizeof path, "/tmp/eo_test_pipeline_recipe_%d.yaml", (int)getpid());
  eo_opt_recipe *r = NULL;

  /* a full recipe */
  EO_CHECK(load("model:\n"
                "  architecture: yolov8\n"
                "quantization:\n"
                "  activation:\n"
                "    symmetric: true\n"
                "calibration:\n"
                "  method: [entropy, minmax]\n"
                "  num_batches: 12\n"
                "  percentile: 99.9\n"
                "  use_coreset: true\n"
                "qat_params:\n"
                "  use_lsq: true\n"
                "analysis:\n"
                "  measure_layer_error: false\n"
                "  test_samples: 7\n"
                "export:\n"
                "  formats: [tensorrt, tflite, onnx]\n"
                "candidates: [int8-entropy, int4]\n",
                &r) == EO_OK);
  if (r) {
    EO_CHECK(r->n_methods == 2 && r->methods[0] == EO_CALIB_ENTROPY && r->methods[1] == EO_CALIB_MINMAX);
    EO_CHECK(r->num_samples == 12 && r->test_samples == 7 && r->layer_error == 0);
    EO_CHECK_NEAR(r->percentile, 99.9, 0);
    EO_CHECK(r->n_formats == 2 && !strcmp(r->formats[0], "onnx") && !strcmp(r->formats[1], "tflite"));
    EO_CHECK(r->candidates && !strcmp(r->candidates, "int8-entropy,int4"));
    EO_CHECK(r->n_warnings == 2);
    if (r->n_warnings == 2) {
      char w0[300], w1[300];
      snprintf(w0, sizeof w0, "%s:10: 'use_coreset': not supported yet", path);
      snprintf(w1, sizeof w1, "%s:11: 'qat_params': not supported yet", path);
      EO_CHECK_MSG(!strncmp(r->warnings[0], w0, strlen(w0)), "%s", r->warnings[0]);
      EO_CHECK_MSG(!strncmp(r->warnings[1], w1, strlen(w1)), "%s", r->warnings[1]);
    }
    /* the quantization section alone, at lines 3-5 (two blank lines first) */
    EO_CHECK_MSG(r->quant_yaml && !strcmp(r->quant_yaml, "\n\nquantization:\n  activation:\n    symmetric: true\n"),
                 "%s", r->quant_yaml ? r->quant_yaml : "(null)");
  }
  eo_opt_recipe_free(r);
  r = NULL;

  /* no quantization section; empty sections are errors */
  EO_CHECK(load("calibration:\n  method: mse\n", &r) == EO_OK);
  EO_CHECK(r && !r->quant_yaml && r->n_methods == 1 && r->methods[0] == EO_CALIB_MSE && r->n_warnings == 0);
  eo_opt_recipe_free(r);
  r = NULL;

  /* errors: key and line */
  EO_CHECK(load("model:\n  colour: red\n", &r) == EO_ERR_INVALID && !r && names("colour", 2));
  EO_CHECK(load("\n\nmodels: {}\n", &r) == EO_ERR_INVALID && names("models", 3));
  EO_CHECK(load("calibration:\n  method: [entropy, entropy]\n", &r) == EO_ERR_INVALID && names("method", 2));
  EO_CHECK(load("calibration:\n  percentile: 20\n", &r) == EO_ERR_INVALID && names("percentile", 2));
  EO_CHECK(load("analysis:\n  test_samples: 0\n", &r) == EO_ERR_INVALID && names("test_samples", 2));
  EO_CHECK(load("analysis:\n  enabled: maybe\n", &r) == EO_ERR_INVALID && names("enabled", 2));
  EO_CHECK(load("export:\n  formats: onnx\n", &r) == EO_ERR_INVALID && names("formats", 2));
  EO_CHECK(load("candidates: [\"a,b\"]\n", &r) == EO_ERR_INVALID && names("candidates", 1));
  /* the quantization reader's messages, with the recipe's name and line */
  EO_CHECK(load("model:\n  variant: n\nquantization:\n  weight:\n    per_channel: true\n    colour: 3\n", &r) ==
               EO_ERR_INVALID &&
           names("colour", 6));
  EO_CHECK(!strstr(eo_last_error(), "eo_recipe_"));
  EO_CHECK(load("quantization:\n  layer_configs:\n    - pattern: \"(\"\n", &r) == EO_ERR_INVALID && names("pattern", 3));
  EO_CHECK(load("", &r) == EO_ERR_INVALID && strstr(eo_last_error(), "empty"));
  remove(path);
  EO_CHECK(eo_opt_recipe_load(path, &r) != EO_OK && !r);

  /* sha256: FIPS 180-4 examples */
  char hex[65];
  put("abc");
  EO_CHECK(eo_sha256_file(path, hex) == EO_OK &&
           !strcmp(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"));
  put("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq");
  EO_CHECK(eo_sha256_file(path, hex) == EO_OK &&
           !strcmp(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"));
  put("");
  EO_CHECK(eo_sha256_file(path, hex) == EO_OK &&
           !strcmp(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"));
  remove(path);
  return eo_test_finish();
}

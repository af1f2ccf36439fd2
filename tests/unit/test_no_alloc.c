/* "Prepare allocates, run never does": every libonnx-testdata node case edgeopt runs, plus the
 * example model, is run with malloc/calloc/realloc/free wrapped (-Wl,--wrap) and counted. */
#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "edgeopt/runtime.h"
#include "onnx/onnx_internal.h"
#include "onnx_pb.h"
#include "test.h"

static int counting, calls;
void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t s);
void *__real_realloc(void *p, size_t n);
void *__real_aligned_alloc(size_t a, size_t n);
void __real_free(void *p);
void *__wrap_malloc(size_t n) { calls += counting; return __real_malloc(n); }
void *__wrap_calloc(size_t n, size_t s) { calls += counting; return __real_calloc(n, s); }
void *__wrap_realloc(void *p, size_t n) { calls += counting; return __real_realloc(p, n); }
void *__wrap_aligned_alloc(size_t a, size_t n) { calls += counting; return __real_aligned_alloc(a, n); }
void __wrap_free(void *p) { calls += counting && p; __real_free(p); }

/* Runs the case's data set 0; returns 1 if it ran (and was counted), 0 if edgeopt cannot run it. */
static int run_case(const char *dir) {
  char path[4200];
  snprintf(path, sizeof path, "%s/model.onnx", dir);
  eo_model *m;
  if (eo_model_load(path, NULL, &m)) return 0;
  eo_tensor ins[16];
  int n = eo_model_num_inputs(m), ran = 0;
  if (n > 16) n = 16;
  for (int i = 0; i < n; i++) {
    snprintf(path, sizeof path, "%s/test_data_set_0/input_%d.pb", dir, i);
    if (load_pb(path, &ins[i])) memset(&ins[i], 0, sizeof ins[i]);
  }
  eo_input_shape shapes[16];
  eo_session *s = NULL;
  for (int i = 0; i < n; i++)  // integer inputs are shape-like: fixed at prepare, as in the conformance runner
    shapes[i] = (eo_input_shape){eo_model_input(m, i)->name, ins[i].rank, ins[i].dims, ins[i].dtype,
                                 eo_dtype_is_float(ins[i].dtype) ? NULL : ins[i].data};
  bool ok = ins[0].data || n == 0;
  if (ok && !eo_session_create(m, NULL, &s) && !eo_session_prepare(s, n, shapes)) {
    bool set = true;
    for (int i = 0; i < n; i++)
      if (!shapes[i].value) set &= eo_session_set_input(s, shapes[i].name, ins[i].dtype, ins[i].rank, ins[i].dims, ins[i].data) == EO_OK;
    if (set) {
      calls = 0;
      counting = 1;
      eo_status st = eo_session_run(s);
      counting = 0;
      EO_CHECK_MSG(st == EO_OK && calls == 0, "%s: %d allocator calls during run", dir, calls);
      ran = 1;
    }
  }
  eo_session_free(s);
  for (int i = 0; i < n; i++) eo_tensor_clear(&ins[i]);
  eo_model_free(m);
  return ran;
}

int main(void) {
  const char *root = "/usr/share/libonnx-testdata/data/node";
  DIR *d = opendir(root);
  int cases = 0;
  struct dirent *e;
  while (d && (e = readdir(d))) {
    if (e->d_name[0] == '.') continue;
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/%s", root, e->d_name);
    cases += run_case(dir);
  }
  if (d) closedir(d);
  printf("runs checked without allocation: %d node cases\n", cases);
  EO_CHECK_MSG(cases > 300, "only %d cases ran", cases);
  return eo_test_finish();
}

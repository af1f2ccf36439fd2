/* .npy reader/writer: round trips for every dtype, files written by numpy itself (versions 1.0,
 * 2.0, 3.0, 0-d, empty), numpy reading our files, refusals (Fortran order, big-endian, structured,
 * object) and malformed input (every truncation, absurd shapes, random byte mutations). */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/core.h"
#include "core/npy.h"
#include "test.h"
#include "tmpdir.h"

/* Runs a python snippet with numpy; `dir` is bound to the temp dir. Returns the exit status. */
static int py(const char *code) {
  const char *script = tmp("snippet.py");
  FILE *f = fopen(script, "w");
  if (!f) return -1;
  fprintf(f, "import numpy as np, sys\ndir = %s%s%s\n%s\n", "'", tmpdir, "'", code);
  fclose(f);
  char cmd[512];
  snprintf(cmd, sizeof cmd, "/usr/bin/python3 %s", script);
  return system(cmd);
}

static void test_round_trip(void) {
  static const int dtypes[] = {EO_FLOAT, EO_DOUBLE, EO_FLOAT16, EO_BOOL,   EO_INT8,   EO_INT16,
                               EO_INT32, EO_INT64,  EO_UINT8,   EO_UINT16, EO_UINT32, EO_UINT64};
  for (size_t t = 0; t < sizeof dtypes / sizeof dtypes[0]; t++) {
    int dt = dtypes[t];
    const int64_t shapes[][4] = {{2, 3, 4, 5}, {7}, {3, 0, 2}};
    const int ranks[] = {4, 1, 3, 0};
    for (int s = 0; s < 4; s++) {
      int rank = ranks[s];
      const int64_t *dims = s < 3 ? shapes[s] : NULL;
      int64_t n = eo_numel(rank, dims);
      size_t bytes = (size_t)n * eo_dtype_size(dt);
      unsigned char *src = malloc(bytes + 1);
      for (size_t i = 0; i < bytes; i++) src[i] = (unsigned char)(i * 37 + 11 + t);
      if (dt == EO_BOOL)
        for (size_t i = 0; i < bytes; i++) src[i] &= 1;
      const char *path = tmp("rt.npy");
      EO_CHECK(eo_npy_write(path, dt, rank, dims, src) == EO_OK);
      int rdt = -1, rrank = -1;
      int64_t rdims[EO_MAX_RANK];
      void *data = NULL;
      size_t nb = 1;
      eo_status st = eo_npy_read(path, &rdt, &rrank, rdims, &data, &nb);
      EO_CHECK_MSG(st == EO_OK, "%s", eo_last_error());
      EO_CHECK(rdt == dt);
      EO_CHECK(rrank == rank);
      EO_CHECK(nb == bytes);
      EO_CHECK(data != NULL);
      for (int i = 0; i < rank && rrank == rank; i++) EO_CHECK(rdims[i] == dims[i]);
      if (data && nb == bytes) EO_CHECK(memcmp(data, src, bytes) == 0);
      // The header pads the prefix to a multiple of 64 bytes, as numpy does.
      FILE *f = fopen(path, "rb");
      fseek(f, 0, SEEK_END);
      EO_CHECK((size_t)ftell(f) - bytes == 64 || (size_t)ftell(f) - bytes == 128);
      fclose(f);
      free(data);
      free(src);
    }
  }
}

/* numpy writes, we read: values are arange-based so both sides know them. */
static void test_read_numpy(void) {
  int rc = py(
      "from numpy.lib import format as F\n"
      "np.save(dir+'/f4.npy', np.arange(24, dtype='<f4').reshape(2,3,4) / 8)\n"
      "np.save(dir+'/f8.npy', np.arange(6, dtype='<f8') - 2.5)\n"
      "np.save(dir+'/f2.npy', np.array([1.5, -2, 65504, 0.000061035156], dtype='<f2'))\n"
      "np.save(dir+'/i1.npy', np.array([-128, 127, 0, -1], dtype='i1'))\n"
      "np.save(dir+'/i2.npy', np.array([-32768, 32767], dtype='<i2'))\n"
      "np.save(dir+'/i4.npy', np.array([[-5, 6], [7, -8]], dtype='<i4'))\n"
      "np.save(dir+'/i8.npy', np.array([-(2**62), 2**62 + 3], dtype='<i8'))\n"
      "np.save(dir+'/u1.npy', np.array([0, 255, 7], dtype='u1'))\n"
      "np.save(dir+'/u2.npy', np.array([65535], dtype='<u2'))\n"
      "np.save(dir+'/u4.npy', np.array([4294967295, 1], dtype='<u4'))\n"
      "np.save(dir+'/u8.npy', np.array([2**64 - 1], dtype='<u8'))\n"
      "np.save(dir+'/b1.npy', np.array([True, False, True]))\n"
      "np.save(dir+'/scalar.npy', np.float32(3.25))\n"
      "np.save(dir+'/empty.npy', np.zeros((2, 0, 3), dtype='<f4'))\n"
      "a = np.arange(12, dtype='<i8').reshape(3, 4)\n"
      "for v in [(1,0), (2,0), (3,0)]:\n"
      "  with open(dir+'/v%d.npy' % v[0], 'wb') as f: F.write_array(f, a, version=v)\n"
      "np.save(dir+'/fortran.npy', np.asfortranarray(np.arange(6, dtype='<f4').reshape(2, 3)))\n"
      "np.save(dir+'/big.npy', np.arange(4, dtype='>f4'))\n"
      "np.save(dir+'/big1.npy', np.arange(4, dtype='>u1'))\n"
      "np.save(dir+'/struct.npy', np.zeros(2, dtype=[('a','<f4'),('b','<i4')]))\n"
      "np.save(dir+'/obj.npy', np.array([1, 'x'], dtype=object), allow_pickle=True)\n"
      "np.save(dir+'/c8.npy', np.zeros(2, dtype='<c8'))\n"
      "np.save(dir+'/rank9.npy', np.zeros((1,)*9, dtype='<f4'))\n");
  EO_CHECK_MSG(rc == 0, "python3 + numpy fixture generation failed (rc %d)", rc);

  int dt, rank;
  int64_t d[EO_MAX_RANK];
  void *p;
  size_t nb;
#define READ(name) eo_npy_read(tmp(name), &dt, &rank, d, &p, &nb)

  EO_CHECK(READ("f4.npy") == EO_OK && dt == EO_FLOAT && rank == 3 && d[0] == 2 && d[1] == 3 && d[2] == 4);
  if (p) {
    float *f = p;
    EO_CHECK(nb == 96);
    EO_CHECK(f[0] == 0.0f && f[1] == 0.125f && f[23] == 23.0f / 8);
  }
  free(p);
  EO_CHECK(READ("f8.npy") == EO_OK && dt == EO_DOUBLE && rank == 1 && d[0] == 6);
  if (p) EO_CHECK(((double *)p)[0] == -2.5 && ((double *)p)[5] == 2.5);
  free(p);
  EO_CHECK(READ("f2.npy") == EO_OK && dt == EO_FLOAT16 && d[0] == 4);
  if (p) {
    uint16_t *h = p;
    EO_CHECK(eo_f16_to_f32(h[0]) == 1.5f && eo_f16_to_f32(h[1]) == -2.0f && eo_f16_to_f32(h[2]) == 65504.0f);
    EO_CHECK(h[3] == 0x0400);  // smallest normal
  }
  free(p);
  EO_CHECK(READ("i1.npy") == EO_OK && dt == EO_INT8 && nb == 4);
  if (p) EO_CHECK(((int8_t *)p)[0] == -128 && ((int8_t *)p)[1] == 127 && ((int8_t *)p)[3] == -1);
  free(p);
  EO_CHECK(READ("i2.npy") == EO_OK && dt == EO_INT16);
  if (p) EO_CHECK(((int16_t *)p)[0] == -32768 && ((int16_t *)p)[1] == 32767);
  free(p);
  EO_CHECK(READ("i4.npy") == EO_OK && dt == EO_INT32 && rank == 2);
  if (p) EO_CHECK(((int32_t *)p)[0] == -5 && ((int32_t *)p)[3] == -8);
  free(p);
  EO_CHECK(READ("i8.npy") == EO_OK && dt == EO_INT64);
  if (p) EO_CHECK(((int64_t *)p)[0] == -(INT64_C(1) << 62) && ((int64_t *)p)[1] == (INT64_C(1) << 62) + 3);
  free(p);
  EO_CHECK(READ("u1.npy") == EO_OK && dt == EO_UINT8);
  if (p) EO_CHECK(((uint8_t *)p)[1] == 255 && ((uint8_t *)p)[2] == 7);
  free(p);
  EO_CHECK(READ("u2.npy") == EO_OK && dt == EO_UINT16);
  if (p) EO_CHECK(((uint16_t *)p)[0] == 65535);
  free(p);
  EO_CHECK(READ("u4.npy") == EO_OK && dt == EO_UINT32);
  if (p) EO_CHECK(((uint32_t *)p)[0] == 4294967295u && ((uint32_t *)p)[1] == 1);
  free(p);
  EO_CHECK(READ("u8.npy") == EO_OK && dt == EO_UINT64);
  if (p) EO_CHECK(((uint64_t *)p)[0] == UINT64_MAX);
  free(p);
  EO_CHECK(READ("b1.npy") == EO_OK && dt == EO_BOOL && nb == 3);
  if (p) EO_CHECK(((uint8_t *)p)[0] == 1 && ((uint8_t *)p)[1] == 0 && ((uint8_t *)p)[2] == 1);
  free(p);
  EO_CHECK(READ("scalar.npy") == EO_OK && dt == EO_FLOAT && rank == 0 && nb == 4);
  if (p) EO_CHECK(((float *)p)[0] == 3.25f);
  free(p);
  EO_CHECK(READ("empty.npy") == EO_OK && dt == EO_FLOAT && rank == 3 && d[1] == 0 && nb == 0 && p != NULL);
  free(p);
  for (int v = 1; v <= 3; v++) {
    char name[32];
    snprintf(name, sizeof name, "v%d.npy", v);
    eo_status st = READ(name);
    EO_CHECK_MSG(st == EO_OK, "version %d: %s", v, eo_last_error());
    EO_CHECK(dt == EO_INT64 && rank == 2 && d[0] == 3 && d[1] == 4);
    if (p) EO_CHECK(((int64_t *)p)[11] == 11 && ((int64_t *)p)[4] == 4);
    free(p);
  }
  // One-byte types have no byte order: numpy's '|u1' for '>u1' is accepted.
  EO_CHECK(READ("big1.npy") == EO_OK && dt == EO_UINT8 && nb == 4);
  free(p);

  // Refusals name the file and say what is wrong.
  EO_CHECK(READ("fortran.npy") == EO_ERR_UNSUPPORTED && p == NULL && nb == 0);
  EO_CHECK(strstr(eo_last_error(), "fortran.npy") && strstr(eo_last_error(), "Fortran order"));
  EO_CHECK(READ("big.npy") == EO_ERR_UNSUPPORTED && p == NULL);
  EO_CHECK(strstr(eo_last_error(), "big.npy") && strstr(eo_last_error(), "big-endian"));
  EO_CHECK(READ("struct.npy") == EO_ERR_UNSUPPORTED && p == NULL);
  EO_CHECK(strstr(eo_last_error(), "struct.npy") && strstr(eo_last_error(), "structured"));
  EO_CHECK(READ("obj.npy") == EO_ERR_UNSUPPORTED && p == NULL);
  EO_CHECK(strstr(eo_last_error(), "obj.npy") && strstr(eo_last_error(), "'|O'"));
  EO_CHECK(READ("c8.npy") == EO_ERR_UNSUPPORTED && strstr(eo_last_error(), "'<c8'"));
  EO_CHECK(READ("rank9.npy") == EO_ERR_UNSUPPORTED && strstr(eo_last_error(), "more than 8"));
  EO_CHECK(READ("missing.npy") == EO_ERR_IO && strstr(eo_last_error(), "missing.npy"));
#undef READ
}

/* We write, numpy reads and checks values, shapes and dtypes. */
static void test_numpy_reads_ours(void) {
  float f[6] = {1, -2, 3.5f, 0, 1e-3f, 1e30f};
  EO_CHECK(eo_npy_write(tmp("o_f4.npy"), EO_FLOAT, 2, (int64_t[]){2, 3}, f) == EO_OK);
  int64_t i8[3] = {-1, INT64_MAX, 5};
  EO_CHECK(eo_npy_write(tmp("o_i8.npy"), EO_INT64, 1, (int64_t[]){3}, i8) == EO_OK);
  uint8_t b[2] = {1, 0};
  EO_CHECK(eo_npy_write(tmp("o_b1.npy"), EO_BOOL, 1, (int64_t[]){2}, b) == EO_OK);
  double s = -7.5;
  EO_CHECK(eo_npy_write(tmp("o_scalar.npy"), EO_DOUBLE, 0, NULL, &s) == EO_OK);
  EO_CHECK(eo_npy_write(tmp("o_empty.npy"), EO_UINT16, 2, (int64_t[]){0, 5}, NULL) == EO_OK);
  uint16_t h[2] = {eo_f32_to_f16(0.5f), eo_f32_to_f16(-3.0f)};
  EO_CHECK(eo_npy_write(tmp("o_f2.npy"), EO_FLOAT16, 1, (int64_t[]){2}, h) == EO_OK);
  int rc = py(
      "def chk(name, want):\n"
      "  a = np.load(dir + '/' + name)\n"
      "  assert a.dtype == want.dtype and a.shape == want.shape, (name, a.dtype, a.shape)\n"
      "  assert np.array_equal(a, want), (name, a, want)\n"
      "chk('o_f4.npy', np.array([[1, -2, 3.5], [0, 1e-3, 1e30]], dtype='<f4'))\n"
      "chk('o_i8.npy', np.array([-1, 2**63 - 1, 5], dtype='<i8'))\n"
      "chk('o_b1.npy', np.array([True, False]))\n"
      "chk('o_scalar.npy', np.array(-7.5))\n"
      "chk('o_empty.npy', np.zeros((0, 5), dtype='<u2'))\n"
      "chk('o_f2.npy', np.array([0.5, -3], dtype='<f2'))\n");
  EO_CHECK_MSG(rc == 0, "numpy could not read edgeopt's .npy files (rc %d)", rc);
}

static void test_write_errors(void) {
  float x = 1;
  EO_CHECK(eo_npy_write(tmp("e.npy"), EO_STRING, 1, (int64_t[]){1}, &x) == EO_ERR_UNSUPPORTED);
  EO_CHECK(strstr(eo_last_error(), "string") != NULL);
  EO_CHECK(eo_npy_write(tmp("e.npy"), EO_FLOAT, 1, (int64_t[]){-1}, &x) == EO_ERR_INVALID);
  EO_CHECK(eo_npy_write(tmp("e.npy"), EO_FLOAT, 9, (int64_t[]){1, 1, 1, 1, 1, 1, 1, 1, 1}, &x) == EO_ERR_INVALID);
  EO_CHECK(eo_npy_write(tmp("e.npy"), EO_FLOAT, 1, (int64_t[]){2}, NULL) == EO_ERR_INVALID);
  EO_CHECK(eo_npy_write("/nonexistent-dir/x.npy", EO_FLOAT, 1, (int64_t[]){1}, &x) == EO_ERR_IO);
  EO_CHECK(strstr(eo_last_error(), "/nonexistent-dir/x.npy") != NULL);
}

/* Builds a version 1.0 file with header text `dict` and `data_len` zero bytes of data. */
static size_t make_npy(unsigned char *buf, const char *dict, size_t data_len) {
  size_t hl = strlen(dict);
  memcpy(buf, "\x93NUMPY\x01\x00", 8);
  buf[8] = (unsigned char)(hl & 0xff);
  buf[9] = (unsigned char)(hl >> 8);
  memcpy(buf + 10, dict, hl);
  memset(buf + 10 + hl, 0, data_len);
  return 10 + hl + data_len;
}

static eo_status parse(const unsigned char *buf, size_t n, void **p) {
  int dt, rank;
  int64_t d[EO_MAX_RANK];
  size_t nb;
  eo_status st = eo_npy_parse(buf, n, "mem.npy", &dt, &rank, d, p, &nb);
  if (st != EO_OK) EO_CHECK(*p == NULL && nb == 0);
  return st;
}

static void test_malformed(void) {
  static unsigned char buf[4096];
  void *p;
  size_t n = make_npy(buf, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }\n", 24);
  EO_CHECK(parse(buf, n, &p) == EO_OK);
  free(p);
  // Keys in any order, double quotes, no trailing comma, Python 2 long suffix.
  n = make_npy(buf, "{\"shape\": (2L,3L), \"fortran_order\": False, \"descr\": \"<i2\"}", 12);
  EO_CHECK(parse(buf, n, &p) == EO_OK);
  free(p);

  // Every truncation of a valid file fails cleanly; so does one extra byte.
  n = make_npy(buf, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }\n", 24);
  int bad = 0;
  for (size_t k = 0; k < n; k++) bad += parse(buf, k, &p) != EO_OK;
  EO_CHECK(bad == (int)n);
  EO_CHECK(parse(buf, n + 1, &p) == EO_ERR_PARSE && strstr(eo_last_error(), "mem.npy"));

  const char *bad_headers[] = {
      "{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999, 99999999999, 99999999999), }",
      "{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,), }",
      "{'descr': '<f4', 'fortran_order': False, 'shape': (4611686018427387904, 4), }",
      "{'descr': '<f4', 'fortran_order': False, 'shape': (-1,), }",
      "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 2 }",
      "{'descr': '<f4', 'fortran_order': False, 'shape': [1, 2], }",
      "{'descr': '<f4', 'fortran_order': False, }",
      "{'descr': '<f4', 'fortran_order': 0, 'shape': (1,), }",
      "{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (1,), }",
      "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), 'extra': 1}",
      "{'descr': '<f4, 'fortran_order': False, 'shape': (1,), }",
      "{'descr': '|f4', 'fortran_order': False, 'shape': (1,), }",
      "{'descr': '<f3', 'fortran_order': False, 'shape': (1,), }",
      "{'descr': '<f', 'fortran_order': False, 'shape': (1,), }",
      "{'descr': '<f4x', 'fortran_order': False, 'shape': (1,), }",
      "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), } junk",
      "'descr': '<f4'",
      "",
      "{",
  };
  for (size_t i = 0; i < sizeof bad_headers / sizeof bad_headers[0]; i++) {
    n = make_npy(buf, bad_headers[i], 4);
    eo_status st = parse(buf, n, &p);
    EO_CHECK_MSG(st != EO_OK, "header accepted: %s", bad_headers[i]);
    EO_CHECK_MSG(strstr(eo_last_error(), "mem.npy") != NULL, "message lacks the name: %s", eo_last_error());
    if (st == EO_OK) free(p);
  }
  // Bad magic and versions.
  n = make_npy(buf, "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }", 4);
  buf[1] = 'X';
  EO_CHECK(parse(buf, n, &p) == EO_ERR_PARSE && strstr(eo_last_error(), "magic"));
  buf[1] = 'N';
  buf[6] = 4;
  EO_CHECK(parse(buf, n, &p) == EO_ERR_UNSUPPORTED && strstr(eo_last_error(), "version 4.0"));
  buf[6] = 2;  // 2.0 takes a 4-byte length: the header text then no longer lines up
  EO_CHECK(parse(buf, n, &p) != EO_OK);
  // A version 2.0 length of 4 GB is refused without allocating it.
  unsigned char big[16] = "\x93NUMPY\x02\x00\xff\xff\xff\xff{}";
  EO_CHECK(parse(big, 14, &p) == EO_ERR_PARSE && strstr(eo_last_error(), "implausible"));

  // Absurd shape on disk: refused against the file size before any allocation.
  n = make_npy(buf, "{'descr': '<f8', 'fortran_order': False, 'shape': (100000, 100000, 1000), }", 8);
  FILE *f = fopen(tmp("absurd.npy"), "wb");
  fwrite(buf, 1, n, f);
  fclose(f);
  int dt, rank;
  int64_t d[EO_MAX_RANK];
  size_t nb;
  EO_CHECK(eo_npy_read(tmp("absurd.npy"), &dt, &rank, d, &p, &nb) == EO_ERR_PARSE && p == NULL);
  EO_CHECK(strstr(eo_last_error(), "absurd.npy") && strstr(eo_last_error(), "truncated"));
  // Truncated files on disk, at every length.
  n = make_npy(buf, "{'descr': '<i4', 'fortran_order': False, 'shape': (3,), }", 12);
  bad = 0;
  for (size_t k = 0; k < n; k++) {
    f = fopen(tmp("trunc.npy"), "wb");
    fwrite(buf, 1, k, f);
    fclose(f);
    eo_status st = eo_npy_read(tmp("trunc.npy"), &dt, &rank, d, &p, &nb);
    bad += st != EO_OK && p == NULL;
    if (st == EO_OK) free(p);
  }
  EO_CHECK(bad == (int)n);

  // Random byte mutations (a deterministic mini-fuzz; ASan/UBSan builds check for memory errors).
  n = make_npy(buf, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }\n", 24);
  unsigned char mut[256];
  uint32_t r = 12345;
  int ok = 0, err = 0;
  for (int it = 0; it < 20000; it++) {
    memcpy(mut, buf, n);
    int flips = 1 + it % 4;
    for (int j = 0; j < flips; j++) {
      r = r * 1664525u + 1013904223u;
      size_t pos = (r >> 8) % n;
      r = r * 1664525u + 1013904223u;
      mut[pos] = (unsigned char)(r >> 24);
    }
    r = r * 1664525u + 1013904223u;
    size_t len = (it & 7) == 0 ? (r >> 8) % (n + 1) : n;
    if (parse(mut, len, &p) == EO_OK) {
      ok++;
      free(p);
    } else {
      err++;
    }
  }
  EO_CHECK(ok + err == 20000);
  EO_CHECK(err > 0);
}

int main(void) {
  if (tmpdir_make("npy")) return 1;
  test_round_trip();
  test_read_numpy();
  test_numpy_reads_ours();
  test_write_errors();
  test_malformed();
  tmpdir_remove();
  return eo_test_finish();
}

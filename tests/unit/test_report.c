/* eo_report_write_html on hand-written report.json fixtures: a REJECTED, a NOT MEASURED and a FAILED
 * candidate, null numbers, text that must be HTML-escaped, layer SQNR and latency samples; then
 * malformed files, each of which must fail naming the key. Expected figures are computed by hand
 * from the fixture (comments give the arithmetic). */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "edgeopt/report.h"
#include "test.h"

static char dir[64], json_path[128], html_path[128];

static void write_file(const char *path, const char *text) {
  FILE *f = fopen(path, "w");
  if (!f) {
    perror(path);
    exit(2);
  }
  fputs(text, f);
  fclose(f);
}

static char *read_all(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *s = malloc((size_t)n + 1);
  if (fread(s, 1, (size_t)n, f) != (size_t)n) n = 0;
  s[n] = 0;
  fclose(f);
  return s;
}

static int count(const char *hay, const char *needle) {
  int n = 0;
  for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle)) n++;
  return n;
}

/* "nan" / "inf" (any case, optionally signed) as a whole token: what printf makes of a non-finite double. */
static int nonfinite_tokens(const char *s) {
  int n = 0;
  for (const char *p = s; *p; p++) {
    if (p > s && isalpha((unsigned char)p[-1])) continue;
    if (strncasecmp(p, "nan", 3) && strncasecmp(p, "inf", 3)) continue;
    if (isalpha((unsigned char)p[3])) continue;
    n++;
  }
  return n;
}

/* every <svg is closed before the next one opens, and <figure> pairs around each */
static int svg_nesting_ok(const char *s) {
  const char *p = s;
  int n = 0;
  while ((p = strstr(p, "<svg"))) {
    const char *close = strstr(p, "</svg>"), *next = strstr(p + 4, "<svg");
    if (!close || (next && next < close)) return 0;
    n++;
    p = close;
  }
  return n;
}

/* baseline 4 MiB, p50 10 ms, metric 0.9; floor 2% relative -> threshold 0.9 * 0.98 = 0.882.
 * int8 <fast>: 1 MiB (4.00x compression), p50 4 ms (2.50x), metric 0.891 (drop 1.0% -> -1.000%). */
static const char *fixture =
    "{\"schema_version\":1,\"edgeopt_version\":\"0.1.0\",\"date\":\"2026-11-23T12:00:00Z\",\n"
    "\"command_line\":\"edgeopt optimize m.onnx --data d --floor 2% -o out & more\",\n"
    "\"source\":{\"path\":\"models/m<1>.onnx\",\"sha256\":\"abc123def456\",\"unchanged\":true},\n"
    "\"target\":\"cpu-generic\",\"task\":\"classify\",\"data\":\"data/x\",\"limit\":50,\"metric\":\"top-1 <acc>\",\n"
    "\"floor\":{\"value\":2,\"kind\":\"relative_percent\"},\n"
    "\"benchmark\":{\"label\":\"host estimate (edgeopt runtime on this machine, not target hardware)\","
    "\"warmup\":5,\"iterations\":30},\n"
    "\"peak_rss_bytes\":10485760,\n"
    "\"candidates\":[\n"
    " {\"name\":\"baseline\",\"precision\":\"FP32\",\"file\":\"models/m.onnx\",\"status\":\"BASELINE\",\"note\":null,\n"
    "  \"file_bytes\":4194304,\"measured\":true,\"metric\":0.9,\"drop\":0,\"sqnr_db\":null,\n"
    "  \"latency_ms\":{\"mean\":11,\"p50\":10,\"p95\":14,\"p99\":15,\"min\":8,\"max\":16},\"throughput_per_s\":90.9,\n"
    "  \"arena_bytes\":1048576,\"constant_bytes\":4194304},\n"
    " {\"name\":\"int8 <fast>\",\"precision\":\"INT8\",\"file\":\"out/int8.onnx\",\"status\":\"ACCEPTED\",\n"
    "  \"note\":\"meets the floor\",\"runtime\":\"ONNX Runtime CPU\",\"format\":\"ONNX\",\n"
    "  \"file_bytes\":1048576,\"measured\":true,\"metric\":0.891,\"drop\":1.0,\"sqnr_db\":31.5,\n"
    "  \"latency_ms\":{\"mean\":4.5,\"p50\":4,\"p95\":6,\"p99\":7,\"min\":3,\"max\":8},\"throughput_per_s\":222.2,\n"
    "  \"latency_samples_ms\":[3,3.5,4,4,4,4.2,5,6,7,8,null],\n"
    "  \"arena_bytes\":1048576,\"constant_bytes\":1048576,\n"
    "  \"layer_sqnr\":[{\"node\":\"/conv<worst>\",\"op\":\"Conv\",\"sqnr_db\":12.25},"
    "{\"node\":\"/fc\",\"op\":\"Gemm\",\"sqnr_db\":null},{\"node\":\"/last\",\"op\":\"Conv\",\"sqnr_db\":40},"
    "{\"node\":\"/exact\",\"op\":\"Relu\",\"sqnr_db\":\"inf\"}]},\n"
    " {\"name\":\"int4\",\"precision\":\"INT4\",\"file\":\"out/int4.tflite\",\"status\":\"REJECTED\",\"format\":\"tflite\",\n"
    "  \"runtime\":\"\",\"file_sha256\":\"feedbeef\",\"resumed\":true,\n"
    "  \"note\":\"drop 20% exceeds the floor; <script>alert(\\\"x\\\")</script> & 'q'\",\n"
    "  \"file_bytes\":524288,\"measured\":true,\"metric\":0.72,\"drop\":20,\"sqnr_db\":null,\n"
    "  \"latency_ms\":{\"mean\":12,\"p50\":12,\"p95\":13,\"p99\":13.5,\"min\":11,\"max\":14},\"throughput_per_s\":83.3},\n"
    " {\"name\":\"fp16\",\"precision\":\"FP16\",\"file\":\"out/fp16.onnx\",\"status\":\"NOT MEASURED\",\n"
    "  \"note\":\"not measured in edgeopt\",\"file_bytes\":2097152,\"measured\":false,\"metric\":null,\"drop\":null,\n"
    "  \"sqnr_db\":null,\"latency_ms\":{\"mean\":null,\"p50\":null,\"p95\":null,\"p99\":null,\"min\":null,\"max\":null},\n"
    "  \"throughput_per_s\":null,\"arena_bytes\":null,\"constant_bytes\":null},\n"
    " {\"name\":\"broken\",\"status\":\"FAILED\",\"note\":\"quantization failed\",\"file_bytes\":null}\n"
    "],\n"
    "\"recommended\":\"int8 <fast>\",\"verdict\":\"PASS\",\n"
    "\"recommended_reason\":\"fastest accepted & smallest\",\"next_steps\":[\"try QAT for int4 <soon>\"],\n"
    "\"warnings\":[\"calibration set small <10>\"]}\n";

static void test_render(void) {
  write_file(json_path, fixture);
  unlink(html_path);
  eo_status st = eo_report_write_html(json_path, html_path);
  EO_CHECK_MSG(st == EO_OK, "%s", eo_last_error());
  char *h = read_all(html_path);
  EO_CHECK(h != NULL);
  if (!h) return;
  /* structure and key text */
  EO_CHECK(!strncmp(h, "<!DOCTYPE html>", 15));
  EO_CHECK(strstr(h, "</html>") != NULL);
  EO_CHECK(strstr(h, "<title>Model Optimization Report: m&lt;1&gt;.onnx</title>") != NULL);
  EO_CHECK(strstr(h, "class=\"verdict pass\"") != NULL);
  EO_CHECK(strstr(h, ">PASS<") != NULL);
  EO_CHECK(strstr(h, "Optimization Summary Report") != NULL);
  EO_CHECK(strstr(h, "Optimization Tradeoff Analysis") != NULL);
  EO_CHECK(strstr(h, "Per-layer SQNR") != NULL);
  EO_CHECK(strstr(h, "host estimate") != NULL);
  EO_CHECK(strstr(h, "abc123def456") != NULL);
  EO_CHECK(strstr(h, "2026-11-23T12:00:00Z") != NULL);
  EO_CHECK(strstr(h, "cpu-generic") != NULL);
  /* hand-computed figures */
  EO_CHECK(strstr(h, "4.00x compression") != NULL);   /* 4 MiB / 1 MiB */
  EO_CHECK(strstr(h, "2.50x") != NULL);               /* p50 10 / 4 */
  EO_CHECK(strstr(h, "threshold 0.8820") != NULL);    /* 0.9 * (1 - 2/100) */
  EO_CHECK(strstr(h, "floor 0.8820") != NULL);        /* the floor line's label in the scatter */
  EO_CHECK(strstr(h, "-1.000%") != NULL);             /* accepted: drop 1.0 */
  EO_CHECK(strstr(h, "-20.000%") != NULL);            /* rejected: drop 20 */
  EO_CHECK(strstr(h, "2.44x faster") != NULL);        /* mean 11 / 4.5 */
  EO_CHECK(strstr(h, "-3.000 MB") != NULL);           /* 1 MiB - 4 MiB */
  EO_CHECK(strstr(h, "2.50x smaller") != NULL);       /* memory (1+4) MiB / (1+1) MiB */
  EO_CHECK(strstr(h, "12.25") != NULL);               /* worst layer */
  EO_CHECK(strstr(h, "&infin; (exact)") != NULL);     /* "inf" string: a lossless layer */
  EO_CHECK(count(h, "<span class=\"sqbar\"") == 3);  /* 12.25, 40, inf; the null one gets none */
  EO_CHECK(strstr(h, "calibration set small &lt;10&gt;") != NULL);
  EO_CHECK(strstr(h, "<td>TFLite</td>") != NULL);     /* format "tflite" */
  EO_CHECK(strstr(h, "feedbeef") != NULL);
  EO_CHECK(strstr(h, "(resumed from an earlier run)") != NULL);
  EO_CHECK(strstr(h, "<small></small>") == NULL);     /* empty runtime shows nothing */
  EO_CHECK(strstr(h, "Process peak RSS over the whole run: 10.0 MB") != NULL);
  /* every status visible and marked */
  EO_CHECK(strstr(h, "<tr class=\"rejected\">") != NULL);
  EO_CHECK(strstr(h, "<tr class=\"notmeasured\">") != NULL);
  EO_CHECK(strstr(h, "<tr class=\"failed\">") != NULL);
  EO_CHECK(strstr(h, "<tr class=\"accepted recommended\">") != NULL);
  EO_CHECK(strstr(h, "badge rejected\">REJECTED<") != NULL);
  EO_CHECK(strstr(h, "badge notmeasured\">NOT MEASURED<") != NULL);
  EO_CHECK(strstr(h, "badge failed\">FAILED<") != NULL);
  EO_CHECK(strstr(h, "quantization failed") != NULL);
  EO_CHECK(strstr(h, "ONNX Runtime CPU") != NULL);
  /* escaping: no raw markup from the data survives */
  EO_CHECK(strstr(h, "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;q&#39;") != NULL);
  EO_CHECK(strstr(h, "<script") == NULL);
  EO_CHECK(strstr(h, "int8 &lt;fast&gt;") != NULL);
  EO_CHECK(strstr(h, "int8 <fast>") == NULL);
  EO_CHECK(strstr(h, "top-1 &lt;acc&gt;") != NULL);
  EO_CHECK(strstr(h, "/conv&lt;worst&gt;") != NULL);
  EO_CHECK(strstr(h, "-o out &amp; more") != NULL);
  EO_CHECK(strstr(h, "fastest accepted &amp; smallest") != NULL);
  EO_CHECK(strstr(h, "try QAT for int4 &lt;soon&gt;") != NULL);
  /* SVG plots: three, each closed before the next, inside figures */
  EO_CHECK(count(h, "<svg") == 3);
  EO_CHECK(count(h, "</svg>") == 3);
  EO_CHECK(svg_nesting_ok(h) == 3);
  EO_CHECK(count(h, "<figure") == 3 && count(h, "</figure>") == 3);
  EO_CHECK(count(h, "<table") == count(h, "</table>"));
  EO_CHECK(count(h, "<section") == count(h, "</section>"));
  EO_CHECK(count(h, "<text") == count(h, "</text>"));
  EO_CHECK(strstr(h, "id=\"plot-accuracy-latency\"") && strstr(h, "id=\"plot-size\"") && strstr(h, "id=\"plot-latency\""));
  /* points: candidates with both a metric and a p50 (baseline, int8, int4); bars: those with a size (4) */
  EO_CHECK(count(h, "<circle class=\"point\"") == 3);
  EO_CHECK(count(h, "<rect class=\"bar\"") == 4);
  EO_CHECK(count(h, "<line class=\"floor\"") == 1);
  EO_CHECK(count(h, "<rect class=\"box\"") == 3);
  EO_CHECK(count(h, "<rect class=\"hist\"") >= 4); /* 10 samples, at least 4 distinct bins at 60 bins over 0..~8 ms */
  EO_CHECK(strstr(h, "Not drawn (no accuracy or latency measured): fp16 (NOT MEASURED), broken (FAILED)") != NULL);
  EO_CHECK(strstr(h, "size unknown") != NULL);
  /* nothing non-finite printed, no external resources */
  EO_CHECK_MSG(nonfinite_tokens(h) == 0, "%d nan/inf tokens", nonfinite_tokens(h));
  EO_CHECK(strstr(h, "http://") == NULL || count(h, "http://") == count(h, "http://www.w3.org/2000/svg"));
  EO_CHECK(strstr(h, "https://") == NULL);
  EO_CHECK(strstr(h, "src=") == NULL);
  free(h);

  /* rendering again replaces the file (temp + rename), and leaves no temporary behind */
  st = eo_report_write_html(json_path, html_path);
  EO_CHECK(st == EO_OK);
  char cmd[256];
  snprintf(cmd, sizeof cmd, "test $(ls %s | wc -l) -eq 2", dir); /* report.json + report.html */
  EO_CHECK(system(cmd) == 0);
}

static void test_fail_verdict(void) {
  /* no candidate accepted: FAIL, recommended null */
  const char *j =
      "{\"schema_version\":1,\"metric\":\"mAP\",\"floor\":{\"value\":1,\"kind\":\"absolute_points\"},"
      "\"candidates\":[{\"name\":\"baseline\",\"status\":\"BASELINE\",\"metric\":0.5,\"drop\":0,"
      "\"latency_ms\":{\"p50\":2,\"mean\":2}},"
      "{\"name\":\"q\",\"status\":\"REJECTED\",\"metric\":0.4,\"drop\":10,\"latency_ms\":{\"p50\":1,\"mean\":1}}],"
      "\"recommended\":null,\"verdict\":\"FAIL\"}";
  write_file(json_path, j);
  EO_CHECK(eo_report_write_html(json_path, html_path) == EO_OK);
  char *h = read_all(html_path);
  if (!h) return;
  EO_CHECK(strstr(h, "class=\"verdict fail\"") != NULL);
  EO_CHECK(strstr(h, "No candidate recommended") != NULL);
  EO_CHECK(strstr(h, "threshold 0.4900") != NULL); /* absolute: 0.5 - 1 pt / 100 */
  EO_CHECK(strstr(h, "-10.000 pt") != NULL);
  EO_CHECK(count(h, "<svg") == 3 && count(h, "</svg>") == 3);
  EO_CHECK(nonfinite_tokens(h) == 0);
  EO_CHECK(strstr(h, "log scale") == NULL); /* p50 2 vs 1 ms: linear */
  free(h);
}

static void test_log_axis(void) {
  /* p50 1 ms vs 150 ms (> 20x apart): log latency axes with 1-2-5 ticks, from 1 ms up to the 1-2-5 value
   * above the largest drawn value (scatter: p50 150 -> 200; distribution: max 400 -> 500) */
  const char *j =
      "{\"schema_version\":1,\"candidates\":[{\"name\":\"baseline\",\"status\":\"BASELINE\",\"metric\":0.5,"
      "\"latency_ms\":{\"p50\":1,\"mean\":1.1,\"min\":1,\"max\":2,\"p95\":1.5,\"p99\":1.9}},"
      "{\"name\":\"slow\",\"status\":\"ACCEPTED\",\"metric\":0.5,"
      "\"latency_ms\":{\"p50\":150,\"mean\":160,\"min\":140,\"max\":400,\"p95\":300,\"p99\":390}}],"
      "\"recommended\":\"baseline\",\"verdict\":\"PASS\"}";
  write_file(json_path, j);
  EO_CHECK(eo_report_write_html(json_path, html_path) == EO_OK);
  char *h = read_all(html_path);
  if (!h) return;
  EO_CHECK(count(h, "log scale") == 2); /* scatter and distribution */
  EO_CHECK(count(h, ">1</text>") == 2 && count(h, ">200</text>") == 2 && count(h, ">500</text>") == 1);
  EO_CHECK(strstr(h, ">1000</text>") == NULL);
  EO_CHECK(nonfinite_tokens(h) == 0);
  free(h);
}

/* A malformed file must fail with `code`, name `key` in the message and leave html_path alone. */
static void bad(const char *json, eo_status code, const char *key) {
  write_file(json_path, json);
  write_file(html_path, "old");
  eo_status st = eo_report_write_html(json_path, html_path);
  EO_CHECK_MSG(st == code, "got %d (%s), want %d", (int)st, eo_last_error(), (int)code);
  EO_CHECK_MSG(strstr(eo_last_error(), key) != NULL, "'%s' not in '%s'", key, eo_last_error());
  EO_CHECK_MSG(strstr(eo_last_error(), json_path) != NULL, "file not named in '%s'", eo_last_error());
  char *h = read_all(html_path);
  EO_CHECK(h && !strcmp(h, "old"));
  free(h);
}

static void test_malformed(void) {
  bad("{\"schema_version\":1,\"candidates\":[", EO_ERR_PARSE, "not valid JSON");
  bad("[1,2]", EO_ERR_INVALID, "top level");
  bad("{\"candidates\":[{\"name\":\"a\",\"status\":\"BASELINE\"}]}", EO_ERR_INVALID, "'schema_version'");
  bad("{\"schema_version\":2,\"candidates\":[{\"name\":\"a\",\"status\":\"BASELINE\"}]}", EO_ERR_UNSUPPORTED,
      "'schema_version'");
  bad("{\"schema_version\":1}", EO_ERR_INVALID, "'candidates'");
  bad("{\"schema_version\":1,\"candidates\":[]}", EO_ERR_INVALID, "'candidates'");
  bad("{\"schema_version\":1,\"candidates\":[{\"status\":\"BASELINE\"}]}", EO_ERR_INVALID, "'candidates[0].name'");
  bad("{\"schema_version\":1,\"candidates\":[{\"name\":\"a\",\"status\":\"BASELINE\"},"
      "{\"name\":\"b\",\"status\":\"X\",\"latency_ms\":{\"p95\":\"fast\"}}]}",
      EO_ERR_INVALID, "'candidates[1].latency_ms.p95': expected a number or null, found a string");
  bad("{\"schema_version\":1,\"candidates\":[{\"name\":\"a\",\"status\":\"BASELINE\",\"file_bytes\":\"big\"}]}",
      EO_ERR_INVALID, "'candidates[0].file_bytes'");
  bad("{\"schema_version\":1,\"candidates\":[{\"name\":\"a\",\"status\":\"BASELINE\","
      "\"layer_sqnr\":[{\"node\":\"n\",\"sqnr_db\":\"x\"}]}]}",
      EO_ERR_INVALID, "'candidates[0].layer_sqnr[0].sqnr_db'");
  bad("{\"schema_version\":1,\"candidates\":[{\"name\":\"a\",\"status\":\"BASELINE\",\"latency_samples_ms\":[1,\"x\"]}]}",
      EO_ERR_INVALID, "'candidates[0].latency_samples_ms[1]'");
  bad("{\"schema_version\":1,\"source\":{\"sha256\":5},\"candidates\":[{\"name\":\"a\",\"status\":\"BASELINE\"}]}",
      EO_ERR_INVALID, "'source.sha256'");
  bad("{\"schema_version\":1,\"next_steps\":[\"a\",3],\"candidates\":[{\"name\":\"a\",\"status\":\"BASELINE\"}]}",
      EO_ERR_INVALID, "'next_steps[1]'");
  /* a missing input file is an I/O error naming it */
  unlink(json_path);
  EO_CHECK(eo_report_write_html(json_path, html_path) == EO_ERR_IO);
  EO_CHECK(strstr(eo_last_error(), json_path) != NULL);
  EO_CHECK(eo_report_write_html(NULL, html_path) == EO_ERR_INVALID);
}

int main(void) {
  snprintf(dir, sizeof dir, "/tmp/eo_test_report_XXXXXX");
  if (!mkdtemp(dir)) {
    perror("mkdtemp");
    return 2;
  }
  snprintf(json_path, sizeof json_path, "%s/report.json", dir);
  snprintf(html_path, sizeof html_path, "%s/report.html", dir);
  test_render();
  test_fail_verdict();
  test_log_axis();
  test_malformed();
  unlink(json_path);
  unlink(html_path);
  rmdir(dir);
  return eo_test_finish();
}

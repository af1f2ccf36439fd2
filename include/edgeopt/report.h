/* edgeopt report: the human-readable report of an `edgeopt optimize` run, rendered from its
 * report.json (schema_version 1) into one self-contained HTML file: inline CSS and inline SVG
 * plots, no scripts, no external resources, so it opens offline and can be mailed as is.
 *
 *     if (eo_report_write_html("out/report.json", "out/report.html") != EO_OK) puts(eo_last_error());
 *
 * Contents: verdict banner (PASS/FAIL against the floor, the recommended candidate), the
 * "Optimization Summary Report" (baseline vs recommended: size, latency mean/p95, memory, accuracy,
 * throughput, with deltas and ratios), the "Tradeoff Table" of every candidate (REJECTED and NOT
 * MEASURED rows kept and marked, with their notes), per-layer SQNR tables when candidates carry
 * "layer_sqnr", next steps, provenance (source path and sha256, command line, date, target, the
 * "host estimate" label), and three SVG plots: accuracy vs latency (p50) with the floor drawn,
 * file size per candidate, latency distribution per candidate (min/p50/p95/p99/max/mean, plus a
 * histogram when "latency_samples_ms" is present).
 *
 * Missing or null numbers (a candidate that could not be measured) print as a dash and are left
 * out of the plots. A report.json that is not valid JSON, or has a key of the wrong type, fails
 * with EO_ERR_PARSE / EO_ERR_INVALID and a message naming the file and the key
 * ("candidates[2].latency_ms.p95: expected a number or null, found a string").
 * The HTML is written to a temporary file next to html_path and renamed over it, so a reader never
 * sees a half-written report; html_path is replaced if it exists.
 */
#ifndef EDGEOPT_REPORT_H
#define EDGEOPT_REPORT_H

#include "edgeopt/edgeopt.h"

#ifdef __cplusplus
extern "C" {
#endif

eo_status eo_report_write_html(const char *report_json_path, const char *html_path);

#ifdef __cplusplus
}
#endif

#endif

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "edgeopt/report.h"

static const char *help =
    "Usage: edgeopt report OUTDIR/report.json -o report.html [--force]\n\n"
    "Renders the report.json of an `edgeopt optimize` run as one self-contained HTML page (inline CSS\n"
    "and SVG, no scripts, nothing fetched: it opens offline): the verdict against the floor, baseline vs\n"
    "the recommended candidate, the tradeoff table of every candidate (rejected ones included), per-layer\n"
    "SQNR when present, provenance, and plots of accuracy vs latency (with the floor), size per candidate\n"
    "and the latency distribution. Latency figures are host estimates, as in report.json.\n\n"
    "  -o, --output F    the HTML file to write (written to a temporary file, then renamed)\n"
    "  --force           replace F if it exists\n"
    "  -h, --help        this help\n";

int cmd_report(int argc, char **argv) {
  const char *in = NULL, *out = NULL;
  bool force = false;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (cli_is_help(a)) {
      fputs(help, stdout);
      return EO_EXIT_OK;
    } else if (!strcmp(a, "-o") || !strcmp(a, "--output")) {
      if (i + 1 >= argc) return cli_usage_error("report", "%s needs a value", a);
      out = argv[++i];
    } else if (!strcmp(a, "--force")) {
      force = true;
    } else if (a[0] == '-') {
      return cli_usage_error("report", "unknown option '%s'", a);
    } else if (!in) {
      in = a;
    } else {
      return cli_usage_error("report", "unexpected argument '%s'", a);
    }
  }
  if (!in) return cli_usage_error("report", "no report.json given");
  if (!out) return cli_usage_error("report", "-o report.html is required");
  struct stat sb;
  if (!force && stat(out, &sb) == 0) {
    fprintf(stderr, "edgeopt: %s exists; pass --force to replace it\n", out);
    return EO_EXIT_FAIL;
  }
  eo_status st = eo_report_write_html(in, out);
  if (st) return cli_fail(st);
  printf("wrote %s\n", out);
  return EO_EXIT_OK;
}

#include <stdarg.h>
#include <string.h>

#include "core/core.h"

static _Thread_local char eo_errbuf[2048];

const char *eo_last_error(void) { return eo_errbuf; }

eo_status eo_error(eo_status code, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(eo_errbuf, sizeof eo_errbuf, fmt, ap);
  va_end(ap);
  return code;
}

eo_status eo_error_wrap(eo_status code, const char *fmt, ...) {
  char prefix[1024], old[sizeof eo_errbuf];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(prefix, sizeof prefix, fmt, ap);
  va_end(ap);
  memcpy(old, eo_errbuf, sizeof old);
  size_t k = strlen(prefix);
  memcpy(eo_errbuf, prefix, k);
  if (k + 2 < sizeof eo_errbuf) {
    memcpy(eo_errbuf + k, ": ", 2);
    k += 2;
  }
  size_t rest = strlen(old);
  if (rest > sizeof eo_errbuf - 1 - k) rest = sizeof eo_errbuf - 1 - k;
  memcpy(eo_errbuf + k, old, rest);
  eo_errbuf[k + rest] = 0;
  return code;
}

const char *eo_status_name(eo_status s) {
  switch (s) {
    case EO_OK: return "ok";
    case EO_ERR_IO: return "io error";
    case EO_ERR_PARSE: return "parse error";
    case EO_ERR_INVALID: return "invalid input";
    case EO_ERR_UNSUPPORTED: return "unsupported";
    case EO_ERR_SHAPE: return "shape error";
    case EO_ERR_NOMEM: return "out of memory";
    case EO_ERR_STATE: return "wrong call order";
  }
  return "unknown status";
}

#include "core/sysinfo.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <time.h>

#include "core/cpu.h"

uint64_t eo_clock_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* "VmHWM:	  123456 kB" -> 123456 * 1024. */
static int64_t status_field_bytes(int pid, const char *field) {
  char path[64];
  if (pid > 0)
    snprintf(path, sizeof path, "/proc/%d/status", pid);
  else
    snprintf(path, sizeof path, "/proc/self/status");
  FILE *f = fopen(path, "r");
  if (!f) return -1;
  char line[256];
  size_t flen = strlen(field);
  int64_t out = -1;
  while (fgets(line, sizeof line, f)) {
    if (strncmp(line, field, flen) != 0 || line[flen] != ':') continue;
    long long kib;
    if (sscanf(line + flen + 1, "%lld", &kib) == 1 && kib >= 0) out = (int64_t)kib * 1024;
    break;
  }
  fclose(f);
  return out;
}

int64_t eo_proc_mem_bytes(int pid, eo_mem_figure fig) {
  int64_t v = status_field_bytes(pid, fig == EO_MEM_PEAK_RSS ? "VmHWM" : "VmRSS");
  if (v >= 0 || pid > 0 || fig != EO_MEM_PEAK_RSS) return v;
  struct rusage ru;
  if (getrusage(RUSAGE_SELF, &ru) != 0) return -1;
  return (int64_t)ru.ru_maxrss * 1024; /* KiB on Linux and the BSDs */
}

int eo_proc_running_threads(int pid, int skip_tid) {
  char path[64];
  if (pid > 0)
    snprintf(path, sizeof path, "/proc/%d/task", pid);
  else
    snprintf(path, sizeof path, "/proc/self/task");
  DIR *d = opendir(path);
  if (!d) return -1;
  int running = 0;
  struct dirent *e;
  while ((e = readdir(d))) {
    if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
    if (skip_tid > 0 && atoi(e->d_name) == skip_tid) continue;
    char file[128], buf[512];
    snprintf(file, sizeof file, "%s/%.20s/stat", path, e->d_name);
    FILE *f = fopen(file, "r");
    if (!f) continue; /* the thread just exited */
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    /* "tid (comm) S ...": comm may hold spaces and parentheses, so the state follows the last ')' */
    const char *rp = strrchr(buf, ')');
    if (rp && rp[1] == ' ' && rp[2] == 'R') running++;
  }
  closedir(d);
  return running;
}

static void read_cpu_model(char *out, size_t cap) {
  snprintf(out, cap, "unknown");
  FILE *f = fopen("/proc/cpuinfo", "r");
  if (!f) return;
  char line[512];
  while (fgets(line, sizeof line, f)) {
    if (strncmp(line, "model name", 10) != 0) continue;
    const char *colon = strchr(line, ':');
    if (!colon) continue;
    colon++;
    while (*colon == ' ' || *colon == '\t') colon++;
    size_t n = strcspn(colon, "\r\n");
    while (n > 0 && colon[n - 1] == ' ') n--;
    if (n >= cap) n = cap - 1;
    memcpy(out, colon, n);
    out[n] = 0;
    break;
  }
  fclose(f);
}

void eo_host_info_get(eo_host_info *out) {
  memset(out, 0, sizeof *out);
  read_cpu_model(out->cpu_model, sizeof out->cpu_model);
  out->cores = eo_cpu_info_get()->cores;
  out->load_avg[0] = out->load_avg[1] = out->load_avg[2] = -1;
  FILE *f = fopen("/proc/loadavg", "r");
  if (f) {
    double a, b, c;
    if (fscanf(f, "%lf %lf %lf", &a, &b, &c) == 3) {
      out->load_avg[0] = a;
      out->load_avg[1] = b;
      out->load_avg[2] = c;
    }
    fclose(f);
  }
  struct utsname u;
  if (uname(&u) == 0)
    snprintf(out->kernel, sizeof out->kernel, "%.40s %.80s", u.sysname, u.release);
  else
    snprintf(out->kernel, sizeof out->kernel, "unknown");
}

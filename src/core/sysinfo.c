#define _GNU_SOURCE  // CPU_SET, pthread_attr_setaffinity_np, sched_getaffinity
#include "core/sysinfo.h"

#include <dirent.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
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

/* 16 independent 4-float chains of multiply-add: enough independent work to keep a core's vector
 * units busy, so that two threads on one core take twice as long (dependent chains would hide it). */
#define SLOWDOWN_ITERS 1000000
static volatile float slowdown_sink;
static void slowdown_work(void) {
  float a[64];
  for (int i = 0; i < 64; i++) a[i] = (float)i * 1e-3f;
  for (int it = 0; it < SLOWDOWN_ITERS; it++)
    for (int i = 0; i < 64; i++) a[i] = a[i] * 0.999999f + 1e-6f;
  float sum = 0;
  for (int i = 0; i < 64; i++) sum += a[i];
  slowdown_sink = sum;  // consumed: the loop cannot be dropped
}

typedef struct slowdown_arg {
  atomic_int *go;  /* 1: start, -1: abandoned */
  uint64_t ns;     /* the thread's own time for the work */
} slowdown_arg;

static void *slowdown_thread(void *p) {
  slowdown_arg *a = p;
  int go;
  while ((go = atomic_load(a->go)) == 0) sched_yield();
  if (go < 0) return NULL;
  uint64_t t0 = eo_clock_ns();
  slowdown_work();
  a->ns = eo_clock_ns() - t0;
  return NULL;
}

/* Starts fn(arg) on a thread pinned to `cpu` from its first instruction; false if it cannot. */
static bool start_pinned(pthread_t *th, int cpu, void *(*fn)(void *), void *arg) {
  pthread_attr_t at;
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  if (pthread_attr_init(&at)) return false;
  int rc = pthread_attr_setaffinity_np(&at, sizeof set, &set) || pthread_create(th, &at, fn, arg);
  pthread_attr_destroy(&at);
  return rc == 0;
}

/* The longest time any of `threads` threads, each pinned to its own CPU of `cpus` (so the scheduler's
 * placement of new threads is not measured) and started together, takes for the work; 0 on failure. */
static uint64_t slowdown_round(int threads, const int *cpus) {
  pthread_t th[64];
  slowdown_arg args[64];
  atomic_int go = 0;
  int started = 0;
  for (; started < threads; started++) {
    args[started] = (slowdown_arg){&go, 0};
    if (!start_pinned(&th[started], cpus[started], slowdown_thread, &args[started])) break;
  }
  atomic_store(&go, started == threads ? 1 : -1);
  uint64_t longest = 0;
  for (int i = 0; i < started; i++) {
    pthread_join(th[i], NULL);
    longest = args[i].ns > longest ? args[i].ns : longest;
  }
  return started == threads ? longest : 0;
}

double eo_host_parallel_slowdown(int threads) {
  if (threads < 2 || threads > 64) return threads == 1 ? 1.0 : -1.0;
  cpu_set_t allowed;
  int cpus[64], n = 0;
  if (sched_getaffinity(0, sizeof allowed, &allowed) != 0) return -1.0;
  for (int c = 0; c < CPU_SETSIZE && n < threads; c++)
    if (CPU_ISSET(c, &allowed)) cpus[n++] = c;
  if (n < threads) return -1.0;
  uint64_t one = UINT64_MAX, par = UINT64_MAX;
  if (!slowdown_round(threads, cpus)) return -1.0;  // untimed: wakes idle (virtual) CPUs
  for (int r = 0; r < 3; r++) {
    uint64_t a = slowdown_round(1, cpus), b = slowdown_round(threads, cpus);
    if (!a || !b) return -1.0;
    one = a < one ? a : one;
    par = b < par ? b : par;
  }
  return (double)par / (double)one;
}

#define ROUNDTRIPS 2000

/* Round trip i: the pinger sets the flag to 2i + 1, the ponger answers 2i + 2. Alone on its line. */
static _Alignas(64) atomic_int pingpong_flag;

static void *pong_thread(void *p) {
  (void)p;
  for (int i = 0; i < ROUNDTRIPS; i++) {
    while (atomic_load_explicit(&pingpong_flag, memory_order_acquire) != 2 * i + 1) {
    }
    atomic_store_explicit(&pingpong_flag, 2 * i + 2, memory_order_release);
  }
  return NULL;
}

static int cmp_u64(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return (x > y) - (x < y);
}

double eo_host_core_roundtrip_ns(void) {
  cpu_set_t allowed, mine;
  int cpus[2], n = 0;
  if (sched_getaffinity(0, sizeof allowed, &allowed) != 0) return -1.0;
  for (int c = 0; c < CPU_SETSIZE && n < 2; c++)
    if (CPU_ISSET(c, &allowed)) cpus[n++] = c;
  if (n < 2) return -1.0;
  // the caller pings from cpus[0] for the measurement's length, then gets its affinity back
  CPU_ZERO(&mine);
  CPU_SET(cpus[0], &mine);
  if (sched_setaffinity(0, sizeof mine, &mine) != 0) return -1.0;
  uint64_t t[5];
  int ok = 0;
  for (; ok < 5; ok++) {
    atomic_store(&pingpong_flag, 0);
    pthread_t th;
    if (!start_pinned(&th, cpus[1], pong_thread, NULL)) break;
    // the first round trip waits for the new thread to start: not timed
    atomic_store_explicit(&pingpong_flag, 1, memory_order_release);
    while (atomic_load_explicit(&pingpong_flag, memory_order_acquire) != 2) {
    }
    uint64_t t0 = eo_clock_ns();
    for (int i = 1; i < ROUNDTRIPS; i++) {
      atomic_store_explicit(&pingpong_flag, 2 * i + 1, memory_order_release);
      while (atomic_load_explicit(&pingpong_flag, memory_order_acquire) != 2 * i + 2) {
      }
    }
    t[ok] = (eo_clock_ns() - t0) / (ROUNDTRIPS - 1);
    pthread_join(th, NULL);
  }
  sched_setaffinity(0, sizeof allowed, &allowed);
  if (ok < 5) return -1.0;
  qsort(t, 5, sizeof *t, cmp_u64);
  return (double)t[2];
}

/* What a benchmark needs from the operating system: a monotonic clock, the memory a process holds
 * (its peak and current resident set), and a description of the host for the record.
 *
 *   uint64_t t0 = eo_clock_ns();
 *   ... work ...
 *   double ms = (double)(eo_clock_ns() - t0) / 1e6;
 *   int64_t peak = eo_proc_mem_bytes(0, EO_MEM_PEAK_RSS);   // this process's VmHWM, -1 if unknown
 *   eo_host_info h; eo_host_info_get(&h);                   // "AMD EPYC ...", 2 cores, load 1.3
 *
 * On Linux the figures come from /proc/<pid>/status (VmHWM, VmRSS), /proc/<pid>/task/<tid>/stat,
 * /proc/cpuinfo and /proc/loadavg;
 * elsewhere peak RSS falls back to getrusage() for the calling process and the rest reads as unknown
 * (-1, "unknown"). Nothing here allocates or fails loudly: a figure that cannot be read is -1.
 */
#ifndef EO_CORE_SYSINFO_H
#define EO_CORE_SYSINFO_H

#include <stdint.h>

/* Nanoseconds from CLOCK_MONOTONIC (never jumps with wall-clock changes). */
uint64_t eo_clock_ns(void);

typedef enum eo_mem_figure {
  EO_MEM_PEAK_RSS = 0, /* VmHWM: the most resident memory the process has held so far */
  EO_MEM_RSS = 1       /* VmRSS: resident now */
} eo_mem_figure;

/* Bytes of `fig` for process `pid` (0: the calling process); -1 when it cannot be read (no such
 * process, no /proc). For pid 0 a missing /proc falls back to getrusage's ru_maxrss (peak only). */
int64_t eo_proc_mem_bytes(int pid, eo_mem_figure fig);

/* Threads of process `pid` (0: the calling process) that are running or waiting for a CPU (state R
 * in /proc/<pid>/task/<tid>/stat), thread `skip_tid` not counted (0: none); -1 when unreadable.
 * A benchmark uses it to start a timed run only once another engine's spinning workers have gone
 * to sleep, so that they do not compete for the cores being measured. */
int eo_proc_running_threads(int pid, int skip_tid);

typedef struct eo_host_info {
  char cpu_model[128];   /* /proc/cpuinfo "model name", or "unknown" */
  int cores;             /* online logical CPUs */
  double load_avg[3];    /* 1, 5 and 15 minute load averages; -1 when unknown */
  char kernel[128];      /* "Linux 6.1.0-..." from uname(), or "unknown" */
} eo_host_info;

/* Fills *out (never fails; unknown fields as documented above). */
void eo_host_info_get(eo_host_info *out);

/* Whether `threads` CPUs really compute in parallel right now: the same fixed arithmetic (about 3 ms,
 * throughput-bound) runs on one thread, then on `threads` threads at once, each pinned to its own
 * allowed CPU (the scheduler's placement of new threads is not what is measured), best of 3 each;
 * returns the slowest thread's time in the parallel round over the single thread's time. About 1.0 when the CPUs are independent cores;
 * about `threads` when they share one (a virtual machine whose vCPUs the host has put on the two
 * hyperthreads of one core, or on one core in turns: measured on this project's 2-vCPU VM, where it
 * came and went for minutes at a time and doubled every 2-thread latency). -1 when threads cannot
 * be started. Takes about 25 ms for 2 threads. */
double eo_host_parallel_slowdown(int threads);

/* How far apart the first two allowed CPUs are: the time for one cache line to go from one to the
 * other and back (two threads pinned to them, ping-ponging a flag; the median of 5 rounds of 2000
 * round trips), in ns. On this project's 2-vCPU VM it was 60-140 ns when the host ran the vCPUs on
 * one core complex and ~400 ns when on two, which it did for minutes at a time: resnet18 INT8 at 2
 * threads then took 3.6-3.7 ms against 2.6-2.8 (each vCPU alone as fast as ever), since every
 * step's threads read what the other one wrote in the step before. -1 when fewer than 2 CPUs are
 * allowed or a thread cannot be started. Takes about 2-10 ms. */
double eo_host_core_roundtrip_ns(void);

#endif

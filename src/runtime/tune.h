/* The session's thread tuner, per step: the rule that picks the pool or the caller alone, and the
 * schedule of later re-checks ("probes"). Pure state and arithmetic, so a test can drive it with
 * made-up times; session.c does the timing and says why the rule is what it is. */
#ifndef EO_RUNTIME_TUNE_H
#define EO_RUNTIME_TUNE_H

#include <stdbool.h>
#include <stdint.h>

#define EO_TUNE_MIN_INTERVAL 16u   /* runs between a step's probes at first and after a switch */
#define EO_TUNE_MAX_INTERVAL 512u  /* ... growing to this while probes confirm the choice */
#define EO_TUNE_STREAK 2           /* consecutive probes against the choice that switch it */

/* A probe takes three runs from `next`: the step is timed the way it runs, then the other way, then
 * again the way it runs, and the lower of the two first times is compared with the other way's. A
 * sample made longer by preemption then cannot by itself make the step switch: it either inflates
 * the other way's time (the choice holds) or one of two samples of the current way. */
typedef struct eo_tune_step {
  uint64_t next;     /* run (counted after the initial tuning) where the next probe starts */
  uint64_t cur_ns;   /* the probe's lower time the current way so far */
  uint64_t other_ns; /* the probe's time the other way */
  uint32_t interval; /* runs between probes; even, so a step's probes keep the parity of its start */
  uint8_t streak;    /* consecutive probes that favoured the other way */
} eo_tune_step;

/* Steps taking at least this long alone go to the workers on a tie. */
#define EO_TUNE_LARGE_NS 50000u

/* A small step runs on the workers only if they are more than 10% faster: on a tie the caller alone
 * wins (see session.c). A large step stays on them unless they are more than 5% slower. On a shared
 * 2-vCPU VM the worker's vCPU is often not running for a few ms; the caller then takes every task and
 * the step on the pool times like the caller alone plus a hand-off (a few us), while a tie that sends
 * it alone forgoes the other core for the rest of the session: seen on resnet18 INT8 at 2 threads,
 * where a noisy initial tuning (pool 4.79 ms against 4.93 alone) sent all 34 steps alone and the
 * session ran at 5.0 ms instead of 3.1. */
static inline bool eo_tune_pool_wins(uint64_t pool_ns, uint64_t alone_ns) {
  if (alone_ns >= EO_TUNE_LARGE_NS) return pool_ns * 20 <= alone_ns * 21;
  return pool_ns * 10 < alone_ns * 9;
}

/* The whole-run check's rule: every step alone must be more than 5% faster than the tuned steps. */
static inline bool eo_tune_alone_wins_whole(uint64_t tuned_ns, uint64_t alone_ns) { return alone_ns * 20 < tuned_ns * 19; }

/* Flipping a step costs the gap between its ways, so clear choices (one way over 1.5x the other)
 * are probed less often. Noise hardly makes a choice look that clear: a worker that is not running
 * makes the pool look like the caller alone, not much slower or faster. */
static inline bool eo_tune_clear(uint64_t a_ns, uint64_t b_ns) { return 2 * a_ns > 3 * b_ns || 2 * b_ns > 3 * a_ns; }

/* Step k after the initial tuning measured it (best times): its first probe starts at the even offset
 * 2k mod EO_TUNE_MIN_INTERVAL, or 3 intervals later for a clear choice, so steps are flipped only in
 * odd runs and timed the way they run only in even ones, and steps flipped in the same run are
 * EO_TUNE_MIN_INTERVAL / 2 apart. */
static inline void eo_tune_step_init(eo_tune_step *t, int k, uint64_t pool_ns, uint64_t alone_ns) {
  uint32_t first = eo_tune_clear(pool_ns, alone_ns) ? 4 * EO_TUNE_MIN_INTERVAL : EO_TUNE_MIN_INTERVAL;
  *t = (eo_tune_step){.next = (2u * (uint64_t)k) % EO_TUNE_MIN_INTERVAL + (first - EO_TUNE_MIN_INTERVAL), .interval = first};
}

/* The whole-run check (session.c) after the initial tuning measured the best whole run on the
 * workers and alone: its first probe starts at once, or after the longest interval when the workers
 * were a clear win (a large model: a run alone costs as much as the win, so it is made rarely). */
static inline void eo_tune_whole_init(eo_tune_step *t, uint64_t pool_ns, uint64_t alone_ns) {
  bool rare = eo_tune_clear(pool_ns, alone_ns) && pool_ns < alone_ns;
  *t = (eo_tune_step){.next = rare ? EO_TUNE_MAX_INTERVAL : 0, .interval = rare ? EO_TUNE_MAX_INTERVAL : EO_TUNE_MIN_INTERVAL};
}

/* Schedules the next probe after one that agreed with the current choice (next after twice the
 * interval, four times when the two ways differed clearly) or not (soon); true when the choice should
 * now switch: EO_TUNE_STREAK disagreeing probes in a row. */
static inline bool eo_tune_reschedule(eo_tune_step *t, bool agrees, bool clear) {
  bool flip = false;
  if (agrees) {
    t->streak = 0;
    t->interval *= clear ? 4 : 2;
    if (t->interval > EO_TUNE_MAX_INTERVAL) t->interval = EO_TUNE_MAX_INTERVAL;
  } else {
    flip = ++t->streak >= EO_TUNE_STREAK;
    if (flip) t->streak = 0;
    t->interval = EO_TUNE_MIN_INTERVAL;  // look again soon: to confirm, or to undo a switch noise caused
  }
  t->next += t->interval;
  return flip;
}

/* Ends a probe of a step: cur_ns its time the way it runs (on the pool when on_pool), other_ns the
 * other way. True when the step should now switch. */
static inline bool eo_tune_probe(eo_tune_step *t, bool on_pool, uint64_t cur_ns, uint64_t other_ns) {
  bool want_pool = on_pool ? eo_tune_pool_wins(cur_ns, other_ns) : eo_tune_pool_wins(other_ns, cur_ns);
  return eo_tune_reschedule(t, want_pool == on_pool, eo_tune_clear(cur_ns, other_ns));
}

/* Ends a probe of the whole-run check (on_pool: the tuned steps run now, else every step alone). Leaving
 * the tuned steps takes two probes in a row where alone wins (eo_tune_alone_wins_whole), as for a
 * step; one probe where it does not brings them back, because a run alone in a moment of noise (the
 * other vCPU not running for a few ms makes the workers look no faster) costs a large model nearly
 * half its speed for every run until the next probe, while a wrong return costs a small one little. */
static inline bool eo_tune_whole_probe(eo_tune_step *t, bool on_pool, uint64_t cur_ns, uint64_t other_ns) {
  bool clear = eo_tune_clear(cur_ns, other_ns);
  if (on_pool) return eo_tune_reschedule(t, !eo_tune_alone_wins_whole(cur_ns, other_ns), clear);
  if (eo_tune_alone_wins_whole(other_ns, cur_ns)) return eo_tune_reschedule(t, true, clear);
  t->streak = 0;
  t->interval = EO_TUNE_MIN_INTERVAL;
  t->next += t->interval;
  return true;
}

#endif

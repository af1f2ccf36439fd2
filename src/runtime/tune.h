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

/* The pool must be more than 10% faster: on a tie the caller alone wins (see session.c). */
static inline bool eo_tune_pool_wins(uint64_t pool_ns, uint64_t alone_ns) { return pool_ns * 10 < alone_ns * 9; }

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
  bool rare = eo_tune_clear(pool_ns, alone_ns) && eo_tune_pool_wins(pool_ns, alone_ns);
  *t = (eo_tune_step){.next = rare ? EO_TUNE_MAX_INTERVAL : 0, .interval = rare ? EO_TUNE_MAX_INTERVAL : EO_TUNE_MIN_INTERVAL};
}

/* Ends a probe: cur_ns the step's time the way it runs (on the pool when on_pool), other_ns the other
 * way. Schedules the next probe: soon when it went against the choice, else after twice the
 * interval, four times when the choice was clear. True when the step should now switch. */
static inline bool eo_tune_probe(eo_tune_step *t, bool on_pool, uint64_t cur_ns, uint64_t other_ns) {
  bool want_pool = on_pool ? eo_tune_pool_wins(cur_ns, other_ns) : eo_tune_pool_wins(other_ns, cur_ns);
  bool flip = false;
  if (want_pool == on_pool) {
    t->streak = 0;
    t->interval *= eo_tune_clear(cur_ns, other_ns) ? 4 : 2;
    if (t->interval > EO_TUNE_MAX_INTERVAL) t->interval = EO_TUNE_MAX_INTERVAL;
  } else {
    flip = ++t->streak >= EO_TUNE_STREAK;
    if (flip) t->streak = 0;
    t->interval = EO_TUNE_MIN_INTERVAL;  // look again soon: to confirm, or to undo a switch noise caused
  }
  t->next += t->interval;
  return flip;
}

/* Ends a probe of the whole-run check: as eo_tune_probe, except that one probe favouring the tuned
 * steps (on_pool false: every step alone now) switches back to them. Leaving them takes two probes
 * in a row, as for a step; coming back takes one, because a run alone in a moment of noise (the
 * other vCPU not running for a few ms makes the workers look no faster) costs a large model nearly
 * half its speed for every run until the next probe, while a wrong return costs a small one little. */
static inline bool eo_tune_whole_probe(eo_tune_step *t, bool on_pool, uint64_t cur_ns, uint64_t other_ns) {
  if (on_pool || !eo_tune_pool_wins(other_ns, cur_ns)) return eo_tune_probe(t, on_pool, cur_ns, other_ns);
  t->streak = 0;
  t->interval = EO_TUNE_MIN_INTERVAL;
  t->next += t->interval;
  return true;
}

#endif

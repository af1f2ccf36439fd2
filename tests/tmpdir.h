/* A temporary folder for one test executable: tmpdir_make("npy") makes /tmp/eo_npy_XXXXXX into
 * `tmpdir`, tmp("a.npy") names a file in it, tmpdir_remove() deletes it with everything in it.
 * Header-only; a test includes it once (it holds the folder's name). mkdtemp is POSIX 2008: the build
 * defines _POSIX_C_SOURCE=200809L. */
#ifndef EO_TEST_TMPDIR_H
#define EO_TEST_TMPDIR_H

#include <stdio.h>
#include <stdlib.h>

static char tmpdir[64];

/* 0, or -1 with the reason printed (the test then has nothing to remove) */
static inline int tmpdir_make(const char *tag) {
  snprintf(tmpdir, sizeof tmpdir, "/tmp/eo_%s_XXXXXX", tag);
  if (!mkdtemp(tmpdir)) {
    perror("mkdtemp");
    return -1;
  }
  return 0;
}

/* TMPDIR/name in one of 8 rotating buffers (a call may use up to 8 at once) */
static inline const char *tmp(const char *name) {
  static char buf[8][256];
  static int k;
  char *b = buf[k++ & 7];
  snprintf(b, 256, "%s/%s", tmpdir, name);
  return b;
}

static inline void tmpdir_remove(void) {
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
  if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tmpdir);
}

#endif

/*
 * One-sided copies (cma, shm): a request, its Promise, and the provider hooks (copy.c).
 */
#ifndef OPENCLAW_VERBS_COPY_H
#define OPENCLAW_VERBS_COPY_H

#include "addon.h"

/* Flags of read(): compute the CRC32C of the bytes while copying (the result is the CRC). */
#define COPY_CRC 1u

typedef struct copy_req_s {
  uint32_t key;
  uint64_t raddr; /* the owner's address of the first byte (a registered address) */
  size_t len;
  uint8_t *local;
  bool write;
  bool want_crc;
  void *ctx; /* the provider's (shm: the pinned arena mapping) */
  /* results */
  int rc;
  int sys_errno;
  uint32_t crc;
} copy_req_t;

typedef struct copy_owner_s copy_owner_t;

typedef struct copy_work_s {
  copy_req_t req;
  copy_owner_t *owner;
  napi_async_work work;
  napi_deferred deferred;
  napi_ref buf_ref; /* the local buffer, alive until the copy settles */
  struct copy_work_s *prev, *next;
  uint32_t wait_arena; /* shm: the arena a waiting read waits for */
} copy_work_t;

struct copy_owner_s {
  /* Runs the checked copy, on the JS thread or a pool thread; fills req->rc, ->sys_errno, ->crc. */
  void (*exec)(void *peer, copy_req_t *req);
  /* JS thread, after exec, before the promise settles (may be NULL). */
  void (*done)(void *peer, copy_req_t *req);
  /* JS thread, when the last async copy settled (may be NULL): a closed peer frees itself. */
  void (*idle)(void *peer);
  void *peer;
  uint32_t pending; /* async copies in flight */
  bool closed;
  size_t async_threshold;
  copy_work_t *works; /* async copies in flight */
};

/* Parses (key, remoteAddr, length, buffer, offset[, flags]); with `promise`, makes the Promise.
 * NULL with a pending exception on bad arguments. */
copy_work_t *copy_parse(napi_env env, copy_owner_t *o, size_t argc, napi_value *argv, bool write, napi_value *promise);
/* Runs the copy (inline when small, else async) and settles its Promise; takes ownership of w. */
void copy_run(napi_env env, copy_work_t *w);
/* Settles w's Promise with an error without running it; frees w. */
void copy_fail(napi_env env, copy_work_t *w, int rc, int sys_errno);
/* Marks the owner closed and cancels the async copies not yet started. */
void copy_close(napi_env env, copy_owner_t *o);
/* The synchronous form: runs on the JS thread, returns the length (or CRC) or throws. */
napi_value copy_sync(napi_env env, copy_owner_t *o, size_t argc, napi_value *argv, bool write);

#endif

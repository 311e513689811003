/*
 * The verbs provider of the RDMA addon: shared types.
 *
 * Threading contract: everything here runs on the JS thread. The completion channel's fd and
 * the rdma_cm event channel's fd are non-blocking and watched with uv_poll; their callbacks
 * drain what is ready and return (no busy loop, no thread-pool work). Promises settle inside a
 * napi callback scope so their continuations run right after.
 *
 * Ownership:
 * - verbs_ctx (JS `VerbsContext`): one device context and protection domain. Owns its regions,
 *   listeners and connections; close() or GC frees them in that order.
 * - verbs_region (JS `VerbsRegion`): one ibv_mr over a JS buffer, which it keeps alive.
 *   Deregistered on close() or GC; when operations still use it, after the last completes.
 * - verbs_conn (JS `VerbsConnection`): one RC queue pair with its CQ, completion channel and
 *   rdma_cm id. Kept alive (strong reference) while open, like a socket. close() rejects the
 *   pending operations with ECLOSED after the queue pair is destroyed (no more DMA).
 * - verbs_listener (JS `VerbsListener`): a listening rdma_cm id; accepted connections get their
 *   own event channel (rdma_migrate_id) so they outlive it.
 * Struct memory is freed by the JS object's finalizer (or at close when no JS object exists);
 * closing only releases the verbs resources, so a closed object is always safe to touch.
 */
#ifndef OPENCLAW_VERBS_H
#define OPENCLAW_VERBS_H

#include <stdint.h>

#include <node_api.h>
#include "uv_compat.h"

#include "verbs_lib.h"

enum verbs_access { VERBS_ACCESS_READ = 1, VERBS_ACCESS_WRITE = 2 };

enum verbs_conn_state {
  VC_RESOLVING = 0, /* client: address/route resolution */
  VC_CONNECTING = 1,
  VC_ESTABLISHED = 2,
  VC_CLOSED = 3,
};

/* Limits with their defaults (options of VerbsContext.connect / listen). */
#define VERBS_DEFAULT_MAX_INFLIGHT 128 /* send queue depth = operations in flight per connection */
#define VERBS_MAX_PRIVATE_DATA 56      /* RC connect private data */
#define VERBS_MAX_OP_LENGTH 0x40000000u /* 1 GiB per work request */

typedef struct verbs_env verbs_env;
typedef struct verbs_ctx verbs_ctx;
typedef struct verbs_region verbs_region;
typedef struct verbs_conn verbs_conn;
typedef struct verbs_listener verbs_listener;
typedef struct verbs_op verbs_op;

/* Per Node environment (main thread or worker). Never freed: the env cleanup hook tears down
 * every context and marks it so later finalizers only free memory. */
struct verbs_env {
  napi_env env;
  int torn_down;
  verbs_ctx *ctxs;
  napi_ref ctor_context, ctor_region, ctor_conn, ctor_listener;
  napi_ref resource; /* the async resource of callback scopes */
  napi_async_context actx;
};

struct verbs_ctx {
  verbs_env *venv;
  verbs_ctx *next, *prev;
  const verbs_lib *L;
  struct ibv_context **devices; /* rdma_get_devices() */
  struct ibv_context *verbs;
  struct ibv_pd *pd;
  char device[64];
  verbs_region *regions;
  verbs_conn *conns;
  verbs_listener *listeners;
  int closed;
};

struct verbs_region {
  verbs_ctx *ctx; /* NULL once deregistered */
  verbs_env *venv;
  verbs_region *next, *prev;
  napi_ref buf_ref; /* keeps the registered memory alive */
  napi_ref ctx_ref;
  struct ibv_mr *mr;
  uint8_t *data;
  size_t length;
  int access;
  unsigned inflight; /* operations using it as their local buffer */
  int closing;       /* close() asked while inflight > 0 */
};

struct verbs_op {
  verbs_op *next;
  uint64_t wr_id;
  napi_deferred deferred;
  napi_ref region_ref;
  verbs_region *region;
  uint32_t length;
  int write;
};

struct verbs_conn {
  verbs_ctx *ctx; /* NULL once closed */
  verbs_conn *next, *prev;
  verbs_env *venv;
  napi_ref self;           /* strong while open */
  napi_ref ctx_ref;        /* keeps the context alive while open */
  napi_ref on_connection;  /* server side: handed the connection once established */
  napi_deferred connect_deferred;
  struct rdma_event_channel *ch;
  struct rdma_cm_id *id;
  struct ibv_comp_channel *cc;
  struct ibv_cq *cq;
  uv_poll_t *cm_poll, *cq_poll;
  int state;
  int qp_error; /* a completion failed: the RC queue pair is in the error state */
  int wrapped;  /* a JS object owns the struct */
  unsigned inflight, max_inflight;
  uint64_t next_wr_id;
  verbs_op *ops;
  uint8_t private_data[VERBS_MAX_PRIVATE_DATA];
  uint8_t private_len;
};

struct verbs_listener {
  verbs_ctx *ctx;
  verbs_listener *next, *prev;
  verbs_env *venv;
  napi_ref self, ctx_ref, on_connection;
  struct rdma_event_channel *ch;
  struct rdma_cm_id *id;
  uv_poll_t *cm_poll;
  int port;
  unsigned max_inflight;
  int closed;
};

/* --- verbs_core.c (JS thread only) --- */

/* Opens the first device librdmacm knows and a PD on it. Returns 0, or an errno with `err`
 * saying what failed (UNAVAILABLE material). */
int verbs_ctx_open(verbs_ctx *ctx, char *err, size_t errlen);
/* Closes connections (pending ops reject ECLOSED), listeners, regions, then the PD. Idempotent.
 * `napi_ok` is false inside the env cleanup hook (no JS may run). */
void verbs_ctx_close(verbs_ctx *ctx, int napi_ok);

/* Registers `data` with LOCAL_WRITE plus REMOTE_READ / REMOTE_WRITE per `access`. */
int verbs_region_register(verbs_ctx *ctx, verbs_region *r, void *data, size_t length, int access);
/* Deregisters now, or after the last operation using it when some are in flight. */
void verbs_region_close(verbs_region *r, int napi_ok);

/* Starts a client connection: event channel, id, address resolution (the rest follows from
 * cm events). Returns 0 or an errno with `err`. */
int verbs_conn_start(verbs_ctx *ctx, verbs_conn *c, const struct sockaddr *dst, int timeout_ms, char *err,
                     size_t errlen);
/* Binds and listens; fills l->port. Returns 0 or an errno with `err`. */
int verbs_listener_start(verbs_ctx *ctx, verbs_listener *l, const struct sockaddr *addr, int backlog, char *err,
                         size_t errlen);
void verbs_listener_close(verbs_listener *l, int napi_ok);

/* Posts one RDMA READ (write = 0) or WRITE; on success the op is owned by the connection and
 * settles on its completion. Returns 0 or an errno with `err`. */
int verbs_conn_post(verbs_conn *c, verbs_op *op, verbs_region *r, size_t local_offset, uint64_t remote_addr,
                    uint32_t rkey, uint32_t length, char *err, size_t errlen);
/* Tears the connection down, rejecting what is pending with `code`. Idempotent. */
void verbs_conn_close(verbs_conn *c, const char *code, const char *message, int napi_ok);

/* --- verbs_js.c --- */

/* An Error with `code` (and `wcStatus` when >= 0). */
napi_value verbs_make_error(napi_env env, const char *code, int wc_status, const char *message);
/* Creates the JS object of an accepted connection, or NULL on failure. */
napi_value verbs_wrap_conn(napi_env env, verbs_conn *c);
/* Runs JS work of a uv callback inside a handle scope and a callback scope. */
typedef void (*verbs_scope_fn)(void *arg);
void verbs_in_scope(verbs_env *venv, verbs_scope_fn fn, void *arg);
/* Reports an exception a JS callback threw as uncaught. */
void verbs_rethrow_pending(napi_env env);

#endif

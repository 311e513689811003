/*
 * openclaw-ipc nng addon: shared types.
 *
 * Threading contract (see docs/nng.md):
 * - every JS-visible function runs on the JS thread and never blocks on the network;
 * - nng aio callbacks run on nng's threads; they only read the aio result, may start the
 *   next phase of the same operation (serve: send then receive) and hand the completion to
 *   the JS thread with a non-blocking threadsafe-function call;
 * - aios are stopped and freed only on the JS thread, never inside their own callback.
 */
#ifndef OPENCLAW_NNG_ADDON_H
#define OPENCLAW_NNG_ADDON_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <node_api.h>
#include <nng/nng.h>
#include <nng/supplemental/util/platform.h>

/* What a queued item on the threadsafe function is. */
enum item_tag { TAG_OP = 1, TAG_PIPE = 2 };

/* Operation kinds. */
enum op_kind {
  OP_SEND = 0,    /* socket-level send */
  OP_RECV = 1,    /* socket-level receive */
  OP_REQUEST = 2, /* REQ: send on the op's own context and receive the reply on it */
  OP_SERVE = 3,   /* REP/RESPONDENT: receive on the op's context, reply, receive again */
  OP_DIAL = 4,    /* blocking dial run on an nng thread */
};

/* PH_IDLE: a served request is held by JS; PH_PARKED: a reply nng queued behind a busy pipe
 * (see sock_reply), its context idle until that send has left; PH_FLUSH: a reply held until the
 * batch being delivered is done (addon_flush_replies). */
enum op_phase { PH_IDLE = 0, PH_PARKED = 1, PH_RECV = 2, PH_FLUSH = 3 };

/* Event kinds handed to the JS callback: (kind, token, errno, value). */
enum ev_kind { EV_DONE = 0, EV_REQUEST = 1, EV_PIPE = 2 };

typedef struct addon_s addon_t;
typedef struct sock_s sock_t;

/* The common head of everything handed to the JS thread (ops and pipe events). */
typedef struct item_s {
  int tag;
  struct item_s *next;
} item_t;

typedef struct op_s {
  int tag; /* TAG_OP; tag and next must come first (item_t) */
  item_t *next;
  sock_t *sock;
  uint32_t token; /* index in sock->ops; what JS sees */
  int kind;
  int phase;
  nng_aio *aio;
  nng_aio *saio; /* REQUEST and SERVE: the send, without callback (completes inline, no nng task hop) */
  nng_ctx ctx;
  bool has_ctx;
  bool busy;   /* started and not yet delivered (JS thread view) */
  bool posted; /* completion handed to the threadsafe function */
  nng_msg *msg; /* received message, owned until delivered */
  int result;
  /* dial */
  nng_thread *thread;
  nng_dialer dialer;
  uint32_t next_free;
  struct op_s *next_parked;
  struct op_s *next_flush; /* PH_FLUSH: the addon's list of held replies */
  nng_msg *reply_msg;       /* PH_FLUSH: the held reply */
} op_t;

typedef struct pipe_ev_s {
  int tag; /* TAG_PIPE; tag and next must come first (item_t) */
  item_t *next;
  sock_t *sock;
  uint32_t pipe_id;
  int event;
} pipe_ev_t;

struct sock_s {
  addon_t *addon;
  nng_socket s;
  bool open;
  bool wrapped; /* the JS object is alive */
  bool text;    /* received messages reach JS as strings when they are valid UTF-8 (setText) */
  napi_ref self; /* to the JS object: strong while operations are busy, else weak */
  uint32_t busy_ops; /* JS thread only */
  op_t **ops;
  uint32_t nops;
  uint32_t free_head; /* UINT32_MAX: none */
  op_t *parked;       /* serving ops whose reply nng queued (JS thread only) */
  uint32_t serve_deficit; /* serving contexts to restart when a parked op is reaped */
  atomic_int refs;    /* JS object + busy ops + queued pipe events */
  /* ws:// listeners: origins whose browser pages may connect ("\n"-separated, "*" any; NULL
   * none), read by origin_cb on nng threads under origins_lock (created with the first list). */
  nng_mtx *origins_lock;
  char *origins;
  sock_t *prev, *next; /* addon's list of open sockets */
};

struct addon_s {
  napi_env env;
  napi_threadsafe_function tsfn;
  napi_ref callback; /* module-level JS dispatcher */
  napi_ref resource; /* async resource of the completions' callback scope */
  napi_async_context async_ctx;
  int inflight;      /* busy ops of every socket: keeps the loop alive while > 0 */
  /* Completions waiting for the JS thread. The threadsafe function is only a doorbell, rung
   * when this queue goes from empty to not empty; the JS thread drains it in one go. */
  nng_mtx *q_lock;
  item_t *q_head, *q_tail;
  bool tearing_down;
  bool tsfn_finalized;     /* freed when both this and the instance data are finalized */
  bool instance_finalized;
  sock_t *live;
  bool in_batch;            /* call_js is delivering a batch (JS thread only) */
  uint32_t batch_replies;   /* replies made in this batch */
  op_t *flush_head, *flush_tail; /* replies held until the batch is done */
  uint64_t held_replies;    /* how many were held, ever (heldReplies()) */
};

/* ops.c */
op_t *op_acquire(napi_env env, sock_t *sock, int kind);
/* Completion scopes of our libnng (native/nng/libnng.mjs): a read or write that nng finishes
 * inside an nng call made in a scope completes on this thread when the scope closes, instead of
 * going to an nng task thread; so replies and requests sent back to back go out without a
 * task-thread wake-up between them. JS thread; never open one around a wait for an aio. A build
 * against a system's libnng (`npx openclaw-ipc-build-nng`), which has no such header, has no
 * scopes: the calls run bare. */
#if __has_include(<nng/openclaw_scopes.h>)
#include <nng/openclaw_scopes.h>
#else
#define nni_oc_enter() ((void)0)
#define nni_oc_leave() ((void)0)
#endif
#define IN_SCOPE(...)                                                                              \
  do {                                                                                             \
    nni_oc_enter();                                                                                \
    __VA_ARGS__;                                                                                   \
    nni_oc_leave();                                                                                \
  } while (0)

void op_start_failed(op_t *op);
void op_post(op_t *op);
void addon_post(addon_t *a, item_t *item);
item_t *addon_take(addon_t *a);
void op_aio_cb(void *arg);
void op_deliver(napi_env env, op_t *op);
void op_discard(op_t *op);
void op_release(op_t *op);
void op_request_settle(op_t *op);
void sock_reap_parked(sock_t *sock);
void op_drop_unsent(nng_aio *aio);
void sock_unref(sock_t *sock);
void sock_close(sock_t *sock);
napi_value msg_to_buffer(napi_env env, nng_msg *msg);
napi_value msg_to_string(napi_env env, nng_msg *msg);
int value_to_msg(napi_env env, napi_value v, nng_msg **out);

/* js.c */
napi_value throw_nng(napi_env env, int rv, const char *what);
napi_value throw_type(napi_env env, const char *text);
napi_value undefined(napi_env env);
napi_value uint32_value(napi_env env, uint32_t v);
sock_t *get_sock(napi_env env, napi_callback_info info, size_t *argc, napi_value *argv, bool need_open);
char *get_string(napi_env env, napi_value v);
int32_t get_int(napi_env env, napi_value v, int32_t dflt);

/* endpoints.c */
napi_value sock_listen(napi_env env, napi_callback_info info);
napi_value sock_dial(napi_env env, napi_callback_info info);
napi_value sock_bound_port(napi_env env, napi_callback_info info);
napi_value sock_close_endpoint(napi_env env, napi_callback_info info);
napi_value sock_set_opt(napi_env env, napi_callback_info info);
napi_value sock_get_opt(napi_env env, napi_callback_info info);

/* io.c */
napi_value sock_send(napi_env env, napi_callback_info info);
napi_value sock_recv(napi_env env, napi_callback_info info);
napi_value sock_request(napi_env env, napi_callback_info info);
napi_value sock_serve(napi_env env, napi_callback_info info);
napi_value sock_reply(napi_env env, napi_callback_info info);
napi_value sock_drop(napi_env env, napi_callback_info info);
void addon_flush_replies(napi_env env, addon_t *a);
napi_value sock_cancel(napi_env env, napi_callback_info info);

#endif

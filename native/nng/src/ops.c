/*
 * Asynchronous operations: slots, aio callbacks, delivery to the JS thread, close.
 */
#include <stdlib.h>
#include <string.h>

#include "addon.h"


/* Messages up to this size are copied into a fresh Buffer (cheaper than an external buffer and
 * its finalizer); larger ones are lent to JS without a copy and freed when the Buffer is. */
#define COPY_LIMIT 16384

static void free_msg_cb(napi_env env, void *data, void *hint) {
  (void)env;
  (void)data;
  nng_msg_free((nng_msg *)hint);
}

napi_value msg_to_buffer(napi_env env, nng_msg *msg) {
  napi_value out;
  size_t len = nng_msg_len(msg);
  if (len <= COPY_LIMIT) {
    /* An ArrayBuffer, wrapped by JS with Buffer.from(): a Buffer made here gets its prototype
     * set after creation, a slow path in V8 (map migration) on every message. */
    void *dst = NULL;
    if (napi_create_arraybuffer(env, len, &dst, &out) != napi_ok) {
      /* e.g. a worker being terminated: no more JS values can be made */
      nng_msg_free(msg);
      napi_get_undefined(env, &out);
      return out;
    }
    if (len > 0) memcpy(dst, nng_msg_body(msg), len);
    nng_msg_free(msg);
    return out;
  }
  if (napi_create_external_buffer(env, len, nng_msg_body(msg), free_msg_cb, msg, &out) != napi_ok) {
    /* Runtimes without external buffers: one copy (or nothing, when no value can be made). */
    void *dst;
    if (napi_create_buffer_copy(env, len, nng_msg_body(msg), &dst, &out) != napi_ok) napi_get_undefined(env, &out);
    nng_msg_free(msg);
  }
  return out;
}

/* 1 when the bytes are all ASCII, 2 when they are other valid UTF-8 (no overlong forms, no
 * surrogates, nothing past U+10FFFF, as TextDecoder's fatal mode), 0 when they are not UTF-8. */
static int utf8_class(const unsigned char *s, size_t n) {
  size_t i = 0;
  while (i < n && s[i] < 0x80) i++;
  if (i == n) return 1;
  while (i < n) {
    unsigned char c = s[i];
    if (c < 0x80) {
      i++;
      continue;
    }
    size_t len;
    unsigned char lo = 0x80, hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF) len = 2;
    else if (c >= 0xE0 && c <= 0xEF) {
      len = 3;
      if (c == 0xE0) lo = 0xA0;
      if (c == 0xED) hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      len = 4;
      if (c == 0xF0) lo = 0x90;
      if (c == 0xF4) hi = 0x8F;
    } else return 0;
    if (n - i < len || s[i + 1] < lo || s[i + 1] > hi) return 0;
    for (size_t k = 2; k < len; k++)
      if ((s[i + k] & 0xC0) != 0x80) return 0;
    i += len;
  }
  return 2;
}

/* A received message as a JS string (text sockets), or NULL when it is not valid UTF-8 (it is
 * then delivered as bytes, and the dialect reports it); the message is freed on success. */
napi_value msg_to_string(napi_env env, nng_msg *msg) {
  const char *body = nng_msg_body(msg);
  size_t len = nng_msg_len(msg);
  int cls = utf8_class((const unsigned char *)body, len);
  if (cls == 0) return NULL;
  napi_value out;
  /* ASCII: a one-byte string, copied as it is (the cheapest string V8 makes). */
  napi_status st = cls == 1 ? napi_create_string_latin1(env, body, len, &out) : napi_create_string_utf8(env, body, len, &out);
  if (st != napi_ok) return NULL;
  nng_msg_free(msg);
  return out;
}

/* Copies a Buffer/TypedArray/ArrayBuffer, or writes a string as UTF-8, into a new nng_msg. */
int value_to_msg(napi_env env, napi_value v, nng_msg **out) {
  napi_valuetype t;
  napi_typeof(env, v, &t);
  if (t == napi_string) {
    size_t len;
    napi_get_value_string_utf8(env, v, NULL, 0, &len);
    int rv = nng_msg_alloc(out, len + 1);
    if (rv != 0) return rv;
    size_t written;
    napi_get_value_string_utf8(env, v, nng_msg_body(*out), len + 1, &written);
    nng_msg_chop(*out, len + 1 - written);
    return 0;
  }
  bool is;
  void *data = NULL;
  size_t len = 0;
  napi_is_typedarray(env, v, &is);
  if (is) {
    napi_typedarray_type tt;
    size_t n, off;
    napi_value ab;
    napi_get_typedarray_info(env, v, &tt, &n, &data, &ab, &off);
    len = n;
    if (tt != napi_uint8_array && tt != napi_int8_array && tt != napi_uint8_clamped_array) {
      return NNG_EINVAL;
    }
  } else {
    napi_is_arraybuffer(env, v, &is);
    if (!is) return NNG_EINVAL;
    napi_get_arraybuffer_info(env, v, &data, &len);
  }
  int rv = nng_msg_alloc(out, len);
  if (rv != 0) return rv;
  if (len > 0) memcpy(nng_msg_body(*out), data, len);
  return 0;
}

/* Takes a free slot (or a new one) for an operation of `kind`; JS thread. */
op_t *op_acquire(napi_env env, sock_t *sock, int kind) {
  (void)env;
  op_t *op = NULL;
  if (sock->free_head != UINT32_MAX) {
    op = sock->ops[sock->free_head];
    sock->free_head = op->next_free;
  } else {
    op = calloc(1, sizeof(op_t));
    if (op == NULL) return NULL;
    op_t **grown = realloc(sock->ops, sizeof(op_t *) * (sock->nops + 1));
    if (grown == NULL) {
      free(op);
      return NULL;
    }
    sock->ops = grown;
    op->tag = TAG_OP;
    op->sock = sock;
    op->token = sock->nops;
    sock->ops[sock->nops++] = op;
    if (nng_aio_alloc(&op->aio, op_aio_cb, op) != 0) {
      op->aio = NULL;
      op->next_free = sock->free_head;
      sock->free_head = op->token;
      return NULL;
    }
  }
  op->kind = kind;
  op->phase = PH_IDLE;
  op->busy = true;
  op->posted = false;
  op->msg = NULL;
  op->result = 0;
  atomic_fetch_add(&sock->refs, 1);
  addon_t *a = sock->addon;
  if (a->inflight++ == 0) napi_ref_threadsafe_function(env, a->tsfn);
  /* A socket with operations in flight must not be collected: the promises JS awaits are
   * reachable only through it. Idle, it is held weakly, and collected (and closed) when
   * unreferenced. */
  if (sock->busy_ops++ == 0 && sock->wrapped) napi_reference_ref(env, sock->self, NULL);
  return op;
}

/* Queues an item for the JS thread and rings the doorbell if the queue was empty. Any thread;
 * never blocks beyond the queue's short critical section. */
void addon_post(addon_t *a, item_t *item) {
  item->next = NULL;
  nng_mtx_lock(a->q_lock);
  bool ring = a->q_head == NULL;
  if (a->q_tail != NULL) a->q_tail->next = item;
  else a->q_head = item;
  a->q_tail = item;
  nng_mtx_unlock(a->q_lock);
  if (ring) napi_call_threadsafe_function(a->tsfn, NULL, napi_tsfn_nonblocking);
}

/* Takes every queued item, oldest first. */
item_t *addon_take(addon_t *a) {
  nng_mtx_lock(a->q_lock);
  item_t *list = a->q_head;
  a->q_head = a->q_tail = NULL;
  nng_mtx_unlock(a->q_lock);
  return list;
}

/* Hands the completion to the JS thread. Any thread; never blocks. */
void op_post(op_t *op) {
  op->posted = true;
  addon_post(op->sock->addon, (item_t *)op);
}

void op_drop_unsent(nng_aio *aio) {
  nng_msg *m = nng_aio_get_msg(aio);
  if (m != NULL) nng_msg_free(m);
  nng_aio_set_msg(aio, NULL);
}

/* The aio callback of every operation; runs on an nng thread. */
void op_aio_cb(void *arg) {
  op_t *op = arg;
  int rv = nng_aio_result(op->aio);
  switch (op->kind) {
  case OP_SEND:
    if (rv != 0) op_drop_unsent(op->aio); /* on failure the message is still ours */
    break;
  case OP_RECV:
    if (rv == 0) op->msg = nng_aio_get_msg(op->aio);
    break;
  case OP_REQUEST:
    /* The receive of the reply (the send went on op->saio, see sock_request). */
    if (rv == 0) op->msg = nng_aio_get_msg(op->aio);
    break;
  case OP_SERVE: /* the receive of a request (replies go on op->saio, see sock_reply) */
    if (rv == 0) {
      op->msg = nng_aio_get_msg(op->aio);
    } else if (rv != NNG_ECLOSED && rv != NNG_ECANCELED) {
      nng_ctx_recv(op->ctx, op->aio); /* transient: keep serving */
      return;
    }
    break;
  default:
    break;
  }
  op->result = rv;
  op_post(op);
}

/* Frees an op's resources; JS thread (or teardown), the aio idle. */
static void op_free(op_t *op) {
  if (op->msg != NULL) nng_msg_free(op->msg);
  if (op->reply_msg != NULL) nng_msg_free(op->reply_msg);
  if (op->aio != NULL) nng_aio_free(op->aio);
  if (op->saio != NULL) {
    nng_aio_stop(op->saio);
    nng_msg *m = nng_aio_get_msg(op->saio);
    if (m != NULL) nng_msg_free(m);
    nng_aio_free(op->saio);
  }
  if (op->thread != NULL) nng_thread_destroy(op->thread);
  free(op);
}

static void inflight_done(addon_t *a) {
  if (--a->inflight == 0 && !a->tearing_down) {
    napi_unref_threadsafe_function(a->env, a->tsfn);
  }
}

/* Ends a busy op: back to the free list while the socket is open, freed once it is closed. */
void op_release(op_t *op) {
  sock_t *sock = op->sock;
  addon_t *a = sock->addon;
  op->busy = false;
  inflight_done(a);
  if (--sock->busy_ops == 0 && sock->wrapped && !a->tearing_down) napi_reference_unref(a->env, sock->self, NULL);
  if (sock->open) {
    op->next_free = sock->free_head;
    sock->free_head = op->token;
  } else {
    sock->ops[op->token] = NULL;
    op_free(op);
  }
  sock_unref(sock);
}

/*
 * A request's receive has completed (JS thread): make its context and send aio reusable. A
 * reply proves the request left (nng clears the context's send before handing the message to
 * a pipe), so the send aio is finished or finishing on the thread that sent it: waiting for it
 * is bounded (no I/O in between). A failed receive (timeout, cancel, lost connection) may
 * leave the send queued in nng with the context reset; closing the context finishes that send
 * (NNG_ECLOSED, no callback) and the next request opens a fresh one.
 */
void op_request_settle(op_t *op) {
  if (op->result != 0 && op->has_ctx) {
    nng_ctx_close(op->ctx);
    op->has_ctx = false;
  }
  if (op->saio != NULL) {
    nng_aio_wait(op->saio);
    op_drop_unsent(op->saio);
  }
}

/* Parked serving ops whose queued reply has left go back to the free list (or receive again,
 * for contexts that could not be restarted when they were parked). JS thread. Reading the
 * aio's message and result while nng may be completing it is only a hint; nng_aio_wait() is
 * what orders the completion before the op is reused. */
void sock_reap_parked(sock_t *sock) {
  op_t **pp = &sock->parked;
  while (*pp != NULL) {
    op_t *op = *pp;
    if (nng_aio_get_msg(op->saio) != NULL && nng_aio_result(op->saio) == 0) {
      pp = &op->next_parked;
      continue;
    }
    *pp = op->next_parked;
    op->next_parked = NULL;
    nng_aio_wait(op->saio);
    op_drop_unsent(op->saio);
    if (sock->serve_deficit > 0 && sock->open) {
      sock->serve_deficit--;
      op->phase = PH_RECV;
      IN_SCOPE(nng_ctx_recv(op->ctx, op->aio));
    } else {
      op_release(op);
    }
  }
}

/* Undo of op_acquire when the operation could not be started. */
void op_start_failed(op_t *op) {
  op_release(op);
}

static void call_dispatcher(napi_env env, sock_t *sock, napi_value self, int kind, uint32_t token, int err,
                            napi_value value) {
  (void)sock;
  napi_value cb, argv[4];
  if (napi_get_reference_value(env, sock->addon->callback, &cb) != napi_ok || cb == NULL) return;
  napi_create_int32(env, kind, &argv[0]);
  napi_create_uint32(env, token, &argv[1]);
  napi_create_int32(env, err, &argv[2]);
  argv[3] = value;
  if (napi_call_function(env, self, cb, 4, argv, NULL) == napi_pending_exception) {
    napi_value exc;
    napi_get_and_clear_last_exception(env, &exc);
    napi_fatal_exception(env, exc);
  }
}

/* Delivers one completed op on the JS thread. */
void op_deliver(napi_env env, op_t *op) {
  sock_t *sock = op->sock;
  napi_value self = NULL, value;
  if (sock->wrapped) napi_get_reference_value(env, sock->self, &self);
  int rv = op->result;
  napi_get_undefined(env, &value);
  if (op->msg != NULL) {
    napi_value text = sock->text ? msg_to_string(env, op->msg) : NULL;
    value = text != NULL ? text : msg_to_buffer(env, op->msg);
    op->msg = NULL;
  }
  if (op->kind == OP_DIAL) {
    nng_thread_destroy(op->thread); /* the thread has returned: this join is immediate */
    op->thread = NULL;
    if (rv == 0) {
      napi_create_uint32(env, nng_dialer_id(op->dialer), &value);
    } else {
      nng_dialer_close(op->dialer);
    }
  }
  uint32_t token = op->token;
  bool request_arrived = op->kind == OP_SERVE && rv == 0;
  if (request_arrived && !sock->open) {
    request_arrived = false; /* closed while this request was queued: nobody can answer it */
    rv = NNG_ECLOSED;
    napi_get_undefined(env, &value);
  }
  atomic_fetch_add(&sock->refs, 1); /* keep sock valid across the release below */
  op->posted = false;
  if (request_arrived) {
    op->phase = PH_IDLE; /* held by JS until reply() or drop() */
  } else {
    if (op->kind == OP_REQUEST) {
      op->result = rv;
      op_request_settle(op);
    }
    op_release(op);
  }
  if (self != NULL) call_dispatcher(env, sock, self, request_arrived ? EV_REQUEST : EV_DONE, token, rv, value);
  sock_unref(sock);
}

/* Frees a queued op without calling JS (the environment is going away). */
void op_discard(op_t *op) {
  op->posted = false;
  if (op->kind == OP_DIAL && op->thread != NULL) {
    nng_thread_destroy(op->thread);
    op->thread = NULL;
  }
  op_release(op);
}

void sock_unref(sock_t *sock) {
  if (atomic_fetch_sub(&sock->refs, 1) != 1) return;
  for (uint32_t i = 0; i < sock->nops; i++) {
    if (sock->ops[i] != NULL) op_free(sock->ops[i]);
  }
  free(sock->ops);
  free(sock->origins);
  if (sock->origins_lock != NULL) nng_mtx_free(sock->origins_lock);
  free(sock);
}

/*
 * Closes the nng socket: every pending operation completes with NNG_ECLOSED through its
 * callback and is delivered (and freed) on the JS thread. Idle slots are freed now.
 * JS thread only. nng_close returns once nng's own threads are done with the socket; our
 * callbacks never wait for the JS thread, so this cannot deadlock.
 */
void sock_close(sock_t *sock) {
  if (!sock->open) return;
  sock->open = false;
  nng_pipe_notify(sock->s, NNG_PIPE_EV_ADD_POST, NULL, NULL);
  nng_pipe_notify(sock->s, NNG_PIPE_EV_REM_POST, NULL, NULL);
  nng_pipe_notify(sock->s, NNG_PIPE_EV_ADD_PRE, NULL, NULL);
  nng_close(sock->s);
  addon_t *a = sock->addon;
  if (sock->prev != NULL) sock->prev->next = sock->next;
  else if (a->live == sock) a->live = sock->next;
  if (sock->next != NULL) sock->next->prev = sock->prev;
  sock->prev = sock->next = NULL;
  atomic_fetch_add(&sock->refs, 1);
  for (uint32_t i = 0; i < sock->nops; i++) {
    op_t *op = sock->ops[i];
    if (op == NULL) continue;
    if (!op->busy) {
      sock->ops[i] = NULL;
      op_free(op);
    } else if (op->kind == OP_SERVE && (op->phase == PH_IDLE || op->phase == PH_PARKED) && !op->posted) {
      /* A request JS never answered, or a reply nng_close has finished: the receive aio is
       * idle, no callback will come. */
      op_release(op);
    }
  }
  sock->parked = NULL;
  sock->free_head = UINT32_MAX;
  sock_unref(sock);
}

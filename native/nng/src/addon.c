/*
 * openclaw-ipc nng addon: module init, the Socket class, delivery of completions to JS, and the
 * environment cleanup hook. The methods live in endpoints.c (listen, dial, options) and io.c
 * (send, recv, request, serve); operations and close in ops.c.
 *
 * JS sees one class, `Socket(protocol)`. Asynchronous methods return a token at once; the
 * completion arrives later through the module-level dispatcher registered with
 * `setCallback(fn)`, called as fn.call(socket, kind, token, errno, value). Errors are nng
 * errno numbers; packages/nng maps them to IpcError codes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addon.h"

#include <nng/protocol/bus0/bus.h>
#include <nng/protocol/pair0/pair.h>
#include <nng/protocol/pair1/pair.h>
#include <nng/protocol/pipeline0/pull.h>
#include <nng/protocol/pipeline0/push.h>
#include <nng/protocol/pubsub0/pub.h>
#include <nng/protocol/pubsub0/sub.h>
#include <nng/protocol/reqrep0/rep.h>
#include <nng/protocol/reqrep0/req.h>
#include <nng/protocol/survey0/respond.h>
#include <nng/protocol/survey0/survey.h>
#include <nng/supplemental/tls/tls.h>

#define CHECK(call)                                                                                \
  do {                                                                                             \
    if ((call) != napi_ok) return NULL;                                                            \
  } while (0)

/* ---------------------------------------------------------------- threadsafe function */

static void deliver_pipe(napi_env env, pipe_ev_t *ev);

static void discard_item(item_t *item) {
  if (item->tag == TAG_OP) {
    op_discard((op_t *)item);
  } else {
    pipe_ev_t *ev = (pipe_ev_t *)item;
    sock_t *sock = ev->sock;
    free(ev);
    sock_unref(sock);
  }
}

/*
 * The doorbell: runs on the JS thread and delivers every queued completion. The deliveries run
 * inside one callback scope (like any libuv callback that enters JS through MakeCallback):
 * when it closes, Node runs the nextTick queue and the microtasks, so the continuations of a
 * whole batch run together, and the requests they start go out together.
 */
static void call_js(napi_env env, napi_value js_cb, void *context, void *data) {
  (void)js_cb;
  (void)data;
  addon_t *a = context;
  item_t *list = addon_take(a);
  if (env == NULL) {
    while (list != NULL) {
      item_t *next = list->next;
      discard_item(list);
      list = next;
    }
    return;
  }
  if (list == NULL) return;
  napi_handle_scope hs;
  napi_open_handle_scope(env, &hs);
  napi_value resource = NULL;
  napi_callback_scope cs = NULL;
  if (a->resource != NULL && napi_get_reference_value(env, a->resource, &resource) == napi_ok && resource != NULL) {
    if (napi_open_callback_scope(env, resource, a->async_ctx, &cs) != napi_ok) cs = NULL;
  }
  a->in_batch = true;
  a->batch_replies = 0;
  while (list != NULL) {
    item_t *next = list->next;
    if (list->tag == TAG_OP) op_deliver(env, (op_t *)list);
    else deliver_pipe(env, (pipe_ev_t *)list);
    list = next;
  }
  if (cs != NULL) napi_close_callback_scope(env, cs);
  /* Replies made during the batch (its handlers, and the microtasks run when the scope closed)
   * after the first one go out now, back to back (see sock_reply). */
  a->in_batch = false;
  addon_flush_replies(env, a);
  napi_close_handle_scope(env, hs);
}

static void deliver_pipe(napi_env env, pipe_ev_t *ev) {
  sock_t *sock = ev->sock;
  if (sock->wrapped) {
    napi_value self = NULL, cb, argv[4];
    napi_get_reference_value(env, sock->self, &self);
    if (self != NULL && napi_get_reference_value(env, sock->addon->callback, &cb) == napi_ok) {
      napi_create_int32(env, EV_PIPE, &argv[0]);
      napi_create_uint32(env, ev->pipe_id, &argv[1]);
      napi_create_int32(env, 0, &argv[2]);
      napi_create_int32(env, ev->event, &argv[3]);
      if (napi_call_function(env, self, cb, 4, argv, NULL) == napi_pending_exception) {
        napi_value exc;
        napi_get_and_clear_last_exception(env, &exc);
        napi_fatal_exception(env, exc);
      }
    }
  }
  free(ev);
  sock_unref(sock);
}

/* Pipe notifications run on nng threads while the socket is open (nng_close waits for them). */
static void pipe_cb(nng_pipe p, nng_pipe_ev ev, void *arg) {
  sock_t *sock = arg;
  pipe_ev_t *e = malloc(sizeof *e);
  if (e == NULL) return;
  e->tag = TAG_PIPE;
  e->sock = sock;
  e->pipe_id = (uint32_t)nng_pipe_id(p);
  e->event = (int)ev;
  atomic_fetch_add(&sock->refs, 1);
  addon_post(sock->addon, (item_t *)e);
}

/* ---------------------------------------------------------------- construction and close */

typedef int (*open_fn)(nng_socket *);
static const struct {
  const char *name;
  open_fn open;
} protocols[] = {
  {"req0", nng_req0_open},   {"rep0", nng_rep0_open},         {"pub0", nng_pub0_open},
  {"sub0", nng_sub0_open},   {"push0", nng_push0_open},       {"pull0", nng_pull0_open},
  {"pair0", nng_pair0_open}, {"pair1", nng_pair1_open},       {"bus0", nng_bus0_open},
  {"surveyor0", nng_surveyor0_open}, {"respondent0", nng_respondent0_open},
};

static void sock_finalize(napi_env env, void *data, void *hint) {
  (void)hint;
  sock_t *sock = data;
  sock->wrapped = false;
  napi_delete_reference(env, sock->self);
  sock->self = NULL;
  sock_close(sock); /* a collected socket is closed */
  sock_unref(sock);
}

static napi_value sock_new(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], self;
  addon_t *a;
  CHECK(napi_get_cb_info(env, info, &argc, argv, &self, (void **)&a));
  char name[32];
  size_t len;
  if (argc < 1 || napi_get_value_string_utf8(env, argv[0], name, sizeof name, &len) != napi_ok) {
    return throw_type(env, "protocol name expected");
  }
  open_fn fn = NULL;
  for (size_t i = 0; i < sizeof protocols / sizeof protocols[0]; i++) {
    if (strcmp(protocols[i].name, name) == 0) fn = protocols[i].open;
  }
  if (fn == NULL) return throw_type(env, "unknown nng protocol");
  sock_t *sock = calloc(1, sizeof *sock);
  if (sock == NULL) return throw_nng(env, NNG_ENOMEM, "socket");
  int rv = fn(&sock->s);
  if (rv != 0) {
    free(sock);
    return throw_nng(env, rv, "nng socket open");
  }
  sock->addon = a;
  sock->open = true;
  sock->wrapped = true;
  sock->free_head = UINT32_MAX;
  atomic_store(&sock->refs, 1);
  nng_pipe_notify(sock->s, NNG_PIPE_EV_ADD_POST, pipe_cb, sock);
  nng_pipe_notify(sock->s, NNG_PIPE_EV_REM_POST, pipe_cb, sock);
  if (napi_wrap(env, self, sock, sock_finalize, NULL, NULL) != napi_ok) {
    nng_close(sock->s);
    free(sock);
    return NULL;
  }
  napi_create_reference(env, self, 0, &sock->self);
  sock->next = a->live;
  if (a->live != NULL) a->live->prev = sock;
  a->live = sock;
  return self;
}

/* close(): every pending operation completes with NNG_ECLOSED. Safe to call twice. */
static napi_value sock_close_js(napi_env env, napi_callback_info info) {
  size_t argc = 0;
  sock_t *sock = get_sock(env, info, &argc, NULL, false);
  if (sock == NULL) return NULL;
  if (sock->addon->flush_head != NULL) addon_flush_replies(env, sock->addon);
  sock_close(sock);
  return undefined(env);
}

/* setText(on): received messages reach JS as strings when they are valid UTF-8 (for the text
 * dialects: no Buffer, no TextDecoder per message), as bytes otherwise. */
static napi_value sock_set_text(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  sock_t *sock = get_sock(env, info, &argc, argv, false);
  if (sock == NULL) return NULL;
  bool on = false;
  if (argc < 1 || napi_get_value_bool(env, argv[0], &on) != napi_ok) return throw_type(env, "boolean expected");
  sock->text = on;
  return undefined(env);
}

static napi_value sock_id(napi_env env, napi_callback_info info) {
  size_t argc = 0;
  sock_t *sock = get_sock(env, info, &argc, NULL, false);
  if (sock == NULL) return NULL;
  return uint32_value(env, (uint32_t)nng_socket_id(sock->s));
}

/* ---------------------------------------------------------------- module */

static napi_value set_callback(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  addon_t *a;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, (void **)&a));
  if (a->callback != NULL) napi_delete_reference(env, a->callback);
  CHECK(napi_create_reference(env, argv[0], 1, &a->callback));
  return undefined(env);
}

/* heldReplies(): how many replies were held until the end of their batch (see sock_reply); for
 * tests and diagnostics. */
static napi_value held_replies(napi_env env, napi_callback_info info) {
  addon_t *a;
  napi_value out;
  if (napi_get_cb_info(env, info, NULL, NULL, NULL, (void **)&a) != napi_ok) return NULL;
  napi_create_double(env, (double)a->held_replies, &out);
  return out;
}

static napi_value version(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value out;
  napi_create_string_utf8(env, nng_version(), NAPI_AUTO_LENGTH, &out);
  return out;
}

static napi_value tls_engine(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value out;
  napi_create_string_utf8(env, nng_tls_engine_name(), NAPI_AUTO_LENGTH, &out);
  return out;
}

/* Process or worker exit: close every socket, wait for nng's threads to finish our callbacks,
 * free what is idle; queued completions are freed as the threadsafe function is torn down. */
static void env_cleanup(void *arg) {
  addon_t *a = arg;
  a->tearing_down = true;
  /* 1. Close every socket (their operations complete with NNG_ECLOSED). */
  sock_t *closing = NULL;
  while (a->live != NULL) {
    sock_t *sock = a->live;
    atomic_fetch_add(&sock->refs, 1);
    sock_close(sock); /* unlinks it from a->live */
    sock->next = closing;
    closing = sock;
  }
  /* 2. Wait for nng to finish their callbacks: every completion is then queued. */
  for (sock_t *sock = closing; sock != NULL; sock = sock->next) {
    for (uint32_t i = 0; i < sock->nops; i++) {
      op_t *op = sock->ops[i];
      if (op == NULL) continue;
      if (op->kind == OP_DIAL && op->thread != NULL) {
        nng_thread_destroy(op->thread);
        op->thread = NULL;
      } else if (op->aio != NULL) {
        nng_aio_stop(op->aio);
      }
    }
  }
  /* 3. Free the queued completions, then the busy operations that never reached the queue. */
  for (item_t *list = addon_take(a); list != NULL;) {
    item_t *next = list->next;
    discard_item(list);
    list = next;
  }
  while (closing != NULL) {
    sock_t *sock = closing;
    closing = sock->next;
    sock->next = NULL;
    for (uint32_t i = 0; i < sock->nops; i++) {
      op_t *op = sock->ops[i];
      if (op != NULL && op->busy && !op->posted) op_release(op);
    }
    sock_unref(sock);
  }
  napi_release_threadsafe_function(a->tsfn, napi_tsfn_abort);
}

static void addon_finalize(napi_env env, void *data, void *hint) {
  (void)hint;
  addon_t *a = data;
  if (a->callback != NULL) napi_delete_reference(env, a->callback);
  a->callback = NULL;
  if (a->async_ctx != NULL) napi_async_destroy(env, a->async_ctx);
  a->async_ctx = NULL;
  if (a->resource != NULL) napi_delete_reference(env, a->resource);
  a->resource = NULL;
  a->instance_finalized = true;
  if (a->tsfn_finalized) {
    nng_mtx_free(a->q_lock);
    free(a);
  }
}

/* The threadsafe function may be torn down after the instance data: free on the later one. */
static void tsfn_finalize(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  addon_t *a = data;
  a->tsfn_finalized = true;
  if (a->instance_finalized) {
    nng_mtx_free(a->q_lock);
    free(a);
  }
}

static napi_value init(napi_env env, napi_value exports) {
  addon_t *a = calloc(1, sizeof *a);
  if (a == NULL) return NULL;
  a->env = env;
  if (nng_mtx_alloc(&a->q_lock) != 0) {
    free(a);
    return NULL;
  }
  napi_value name;
  napi_create_string_utf8(env, "nng", NAPI_AUTO_LENGTH, &name);
  CHECK(napi_create_threadsafe_function(env, NULL, NULL, name, 0, 1, a, tsfn_finalize, a, call_js, &a->tsfn));
  napi_unref_threadsafe_function(env, a->tsfn);
  CHECK(napi_set_instance_data(env, a, addon_finalize, NULL));
  napi_value resource;
  CHECK(napi_create_object(env, &resource));
  CHECK(napi_create_reference(env, resource, 1, &a->resource));
  CHECK(napi_async_init(env, resource, name, &a->async_ctx));
  CHECK(napi_add_env_cleanup_hook(env, env_cleanup, a));

  napi_property_descriptor methods[] = {
    {"listen", NULL, sock_listen, NULL, NULL, NULL, napi_default, NULL},
    {"dial", NULL, sock_dial, NULL, NULL, NULL, napi_default, NULL},
    {"closeEndpoint", NULL, sock_close_endpoint, NULL, NULL, NULL, napi_default, NULL},
    {"boundPort", NULL, sock_bound_port, NULL, NULL, NULL, napi_default, NULL},
    {"setOpt", NULL, sock_set_opt, NULL, NULL, NULL, napi_default, NULL},
    {"getOpt", NULL, sock_get_opt, NULL, NULL, NULL, napi_default, NULL},
    {"send", NULL, sock_send, NULL, NULL, NULL, napi_default, NULL},
    {"recv", NULL, sock_recv, NULL, NULL, NULL, napi_default, NULL},
    {"request", NULL, sock_request, NULL, NULL, NULL, napi_default, NULL},
    {"serve", NULL, sock_serve, NULL, NULL, NULL, napi_default, NULL},
    {"reply", NULL, sock_reply, NULL, NULL, NULL, napi_default, NULL},
    {"drop", NULL, sock_drop, NULL, NULL, NULL, napi_default, NULL},
    {"cancel", NULL, sock_cancel, NULL, NULL, NULL, napi_default, NULL},
    {"close", NULL, sock_close_js, NULL, NULL, NULL, napi_default, NULL},
    {"setText", NULL, sock_set_text, NULL, NULL, NULL, napi_default, NULL},
    {"id", NULL, NULL, sock_id, NULL, NULL, napi_default, NULL},
  };
  napi_value cls;
  CHECK(napi_define_class(env, "Socket", NAPI_AUTO_LENGTH, sock_new, a, sizeof methods / sizeof methods[0],
                          methods, &cls));
  napi_value fn;
  CHECK(napi_set_named_property(env, exports, "Socket", cls));
  CHECK(napi_create_function(env, "setCallback", NAPI_AUTO_LENGTH, set_callback, a, &fn));
  CHECK(napi_set_named_property(env, exports, "setCallback", fn));
  CHECK(napi_create_function(env, "version", NAPI_AUTO_LENGTH, version, a, &fn));
  CHECK(napi_set_named_property(env, exports, "version", fn));
  CHECK(napi_create_function(env, "tlsEngine", NAPI_AUTO_LENGTH, tls_engine, a, &fn));
  CHECK(napi_set_named_property(env, exports, "tlsEngine", fn));
  CHECK(napi_create_function(env, "heldReplies", NAPI_AUTO_LENGTH, held_replies, a, &fn));
  CHECK(napi_set_named_property(env, exports, "heldReplies", fn));
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)

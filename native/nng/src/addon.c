/*
 * openclaw-ipc nng addon: module init, the Socket class and its methods.
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

/* Throws an Error carrying the nng errno (`errno`) for packages/nng to map. */
static napi_value throw_nng(napi_env env, int rv, const char *what) {
  napi_value msg, err, num;
  char text[256];
  snprintf(text, sizeof text, "%s: %s", what, nng_strerror(rv));
  napi_create_string_utf8(env, text, NAPI_AUTO_LENGTH, &msg);
  napi_create_error(env, NULL, msg, &err);
  napi_create_int32(env, rv, &num);
  napi_set_named_property(env, err, "errno", num);
  napi_throw(env, err);
  return NULL;
}

static napi_value throw_type(napi_env env, const char *text) {
  napi_throw_type_error(env, NULL, text);
  return NULL;
}

static napi_value undefined(napi_env env) {
  napi_value u;
  napi_get_undefined(env, &u);
  return u;
}

static napi_value uint32_value(napi_env env, uint32_t v) {
  napi_value out;
  napi_create_uint32(env, v, &out);
  return out;
}

/* Reads `this` and up to `n` arguments; returns the open socket or throws CLOSED. */
static sock_t *get_sock(napi_env env, napi_callback_info info, size_t *argc, napi_value *argv, bool need_open) {
  napi_value self;
  void *data;
  if (napi_get_cb_info(env, info, argc, argv, &self, &data) != napi_ok) return NULL;
  sock_t *sock = NULL;
  if (napi_unwrap(env, self, (void **)&sock) != napi_ok || sock == NULL) {
    throw_type(env, "not an nng socket");
    return NULL;
  }
  if (need_open && !sock->open) {
    throw_nng(env, NNG_ECLOSED, "socket");
    return NULL;
  }
  return sock;
}

static char *get_string(napi_env env, napi_value v) {
  size_t len;
  if (napi_get_value_string_utf8(env, v, NULL, 0, &len) != napi_ok) return NULL;
  char *s = malloc(len + 1);
  if (s == NULL) return NULL;
  napi_get_value_string_utf8(env, v, s, len + 1, &len);
  return s;
}

static int32_t get_int(napi_env env, napi_value v, int32_t dflt) {
  int32_t out;
  return napi_get_value_int32(env, v, &out) == napi_ok ? out : dflt;
}

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
  while (list != NULL) {
    item_t *next = list->next;
    if (list->tag == TAG_OP) op_deliver(env, (op_t *)list);
    else deliver_pipe(env, (pipe_ev_t *)list);
    list = next;
  }
  if (cs != NULL) napi_close_callback_scope(env, cs);
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
  if (ev == NNG_PIPE_EV_REM_POST && sock->fail_on_disconnect) sock_fail_requests(sock);
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
  int rv = nng_mtx_alloc(&sock->ops_lock);
  if (rv == 0) rv = fn(&sock->s);
  if (rv != 0) {
    if (sock->ops_lock != NULL) nng_mtx_free(sock->ops_lock);
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
    nng_mtx_free(sock->ops_lock);
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
  sock_close(sock);
  return undefined(env);
}

static napi_value sock_id(napi_env env, napi_callback_info info) {
  size_t argc = 0;
  sock_t *sock = get_sock(env, info, &argc, NULL, false);
  if (sock == NULL) return NULL;
  return uint32_value(env, (uint32_t)nng_socket_id(sock->s));
}

/* ---------------------------------------------------------------- endpoints */

/* Builds a TLS config from {cert, key, ca, serverName, authMode}; returns 0 or an nng errno. */
static int tls_config(napi_env env, napi_value opts, nng_tls_mode mode, nng_tls_config **out) {
  int rv = nng_tls_config_alloc(out, mode);
  if (rv != 0) return rv;
  napi_value v;
  napi_valuetype t;
  char *cert = NULL, *key = NULL;
  if (napi_get_named_property(env, opts, "cert", &v) == napi_ok && napi_typeof(env, v, &t) == napi_ok &&
      t == napi_string)
    cert = get_string(env, v);
  if (napi_get_named_property(env, opts, "key", &v) == napi_ok && napi_typeof(env, v, &t) == napi_ok &&
      t == napi_string)
    key = get_string(env, v);
  if (cert != NULL && key != NULL) rv = nng_tls_config_own_cert(*out, cert, key, NULL);
  free(cert);
  free(key);
  if (rv == 0 && napi_get_named_property(env, opts, "ca", &v) == napi_ok &&
      napi_typeof(env, v, &t) == napi_ok && t == napi_string) {
    char *ca = get_string(env, v);
    rv = nng_tls_config_ca_chain(*out, ca, NULL);
    free(ca);
  }
  if (rv == 0 && napi_get_named_property(env, opts, "serverName", &v) == napi_ok &&
      napi_typeof(env, v, &t) == napi_ok && t == napi_string) {
    char *name = get_string(env, v);
    rv = nng_tls_config_server_name(*out, name);
    free(name);
  }
  if (rv == 0 && napi_get_named_property(env, opts, "authMode", &v) == napi_ok &&
      napi_typeof(env, v, &t) == napi_ok && t == napi_number) {
    rv = nng_tls_config_auth_mode(*out, (nng_tls_auth_mode)get_int(env, v, 0));
  }
  if (rv != 0) nng_tls_config_free(*out);
  return rv;
}

static bool is_object(napi_env env, napi_value v) {
  napi_valuetype t;
  return v != NULL && napi_typeof(env, v, &t) == napi_ok && t == napi_object;
}

/* listen(url, tls?): binds synchronously (local, non-blocking); returns the listener id. */
static napi_value sock_listen(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2] = {NULL, NULL};
  sock_t *sock = get_sock(env, info, &argc, argv, true);
  if (sock == NULL) return NULL;
  char *url = get_string(env, argv[0]);
  if (url == NULL) return throw_type(env, "url expected");
  nng_listener l;
  int rv = nng_listener_create(&l, sock->s, url);
  free(url);
  if (rv != 0) return throw_nng(env, rv, "listen");
  if (argc > 1 && is_object(env, argv[1])) {
    nng_tls_config *cfg;
    rv = tls_config(env, argv[1], NNG_TLS_MODE_SERVER, &cfg);
    if (rv == 0) {
      rv = nng_listener_set_ptr(l, NNG_OPT_TLS_CONFIG, cfg);
      nng_tls_config_free(cfg); /* the listener holds its own reference */
    }
  }
  if (rv == 0) rv = nng_listener_start(l, 0);
  if (rv != 0) {
    nng_listener_close(l);
    return throw_nng(env, rv, "listen");
  }
  return uint32_value(env, (uint32_t)nng_listener_id(l));
}

static void dial_thread(void *arg) {
  op_t *op = arg;
  op->result = nng_dialer_start(op->dialer, 0);
  op_post(op);
}

/*
 * dial(url, block, tls?): non-blocking dial returns the dialer id at once (nng connects and
 * reconnects in the background). A blocking dial runs nng_dialer_start on an nng thread and
 * returns a token; its completion carries the dialer id or the connect error.
 */
static napi_value sock_dial(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3] = {NULL, NULL, NULL};
  sock_t *sock = get_sock(env, info, &argc, argv, true);
  if (sock == NULL) return NULL;
  char *url = get_string(env, argv[0]);
  if (url == NULL) return throw_type(env, "url expected");
  bool block = false;
  if (argc > 1) napi_get_value_bool(env, argv[1], &block);
  nng_dialer d;
  int rv = nng_dialer_create(&d, sock->s, url);
  free(url);
  if (rv != 0) return throw_nng(env, rv, "dial");
  if (argc > 2 && is_object(env, argv[2])) {
    nng_tls_config *cfg;
    rv = tls_config(env, argv[2], NNG_TLS_MODE_CLIENT, &cfg);
    if (rv == 0) {
      rv = nng_dialer_set_ptr(d, NNG_OPT_TLS_CONFIG, cfg);
      nng_tls_config_free(cfg);
    }
    if (rv != 0) {
      nng_dialer_close(d);
      return throw_nng(env, rv, "dial");
    }
  }
  if (!block) {
    rv = nng_dialer_start(d, NNG_FLAG_NONBLOCK);
    if (rv != 0) {
      nng_dialer_close(d);
      return throw_nng(env, rv, "dial");
    }
    return uint32_value(env, (uint32_t)nng_dialer_id(d));
  }
  op_t *op = op_acquire(env, sock, OP_DIAL);
  if (op == NULL) {
    nng_dialer_close(d);
    return throw_nng(env, NNG_ENOMEM, "dial");
  }
  op->dialer = d;
  rv = nng_thread_create(&op->thread, dial_thread, op);
  if (rv != 0) {
    op->thread = NULL;
    nng_dialer_close(d);
    op_start_failed(op);
    return throw_nng(env, rv, "dial");
  }
  return uint32_value(env, op->token);
}

/* boundPort(listenerId): the TCP port a tcp:// or ws:// listener bound (for port 0), or 0. */
static napi_value sock_bound_port(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  sock_t *sock = get_sock(env, info, &argc, argv, true);
  if (sock == NULL) return NULL;
  uint32_t id;
  napi_get_value_uint32(env, argv[0], &id);
  nng_listener l = NNG_LISTENER_INITIALIZER;
  l.id = id;
  int port = 0;
  if (nng_listener_get_int(l, NNG_OPT_TCP_BOUND_PORT, &port) != 0) port = 0;
  return uint32_value(env, (uint32_t)port);
}

/* closeEndpoint(id, isListener) */
static napi_value sock_close_endpoint(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  sock_t *sock = get_sock(env, info, &argc, argv, false);
  if (sock == NULL) return NULL;
  uint32_t id;
  bool listener = false;
  napi_get_value_uint32(env, argv[0], &id);
  napi_get_value_bool(env, argv[1], &listener);
  if (!sock->open) return undefined(env);
  if (listener) {
    nng_listener l = NNG_LISTENER_INITIALIZER;
    l.id = id;
    nng_listener_close(l);
  } else {
    nng_dialer d = NNG_DIALER_INITIALIZER;
    d.id = id;
    nng_dialer_close(d);
  }
  return undefined(env);
}

/* ---------------------------------------------------------------- options */

enum opt_type { OPT_MS = 0, OPT_SIZE = 1, OPT_INT = 2, OPT_BOOL = 3, OPT_STRING = 4, OPT_BYTES = 5 };

/* setOpt(name, type, value) */
static napi_value sock_set_opt(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  sock_t *sock = get_sock(env, info, &argc, argv, true);
  if (sock == NULL) return NULL;
  char name[64];
  size_t len;
  if (napi_get_value_string_utf8(env, argv[0], name, sizeof name, &len) != napi_ok) {
    return throw_type(env, "option name expected");
  }
  int type = get_int(env, argv[1], -1);
  int rv;
  switch (type) {
  case OPT_MS: {
    double ms;
    napi_get_value_double(env, argv[2], &ms);
    rv = nng_socket_set_ms(sock->s, name, ms >= 2147483647.0 ? 2147483647 : (nng_duration)ms);
    break;
  }
  case OPT_SIZE: {
    double n;
    napi_get_value_double(env, argv[2], &n);
    rv = nng_socket_set_size(sock->s, name, (size_t)n);
    break;
  }
  case OPT_INT:
    rv = nng_socket_set_int(sock->s, name, get_int(env, argv[2], 0));
    break;
  case OPT_BOOL: {
    bool b = false;
    napi_get_value_bool(env, argv[2], &b);
    rv = nng_socket_set_bool(sock->s, name, b);
    break;
  }
  case OPT_STRING: {
    char *s = get_string(env, argv[2]);
    rv = s == NULL ? NNG_EINVAL : nng_socket_set_string(sock->s, name, s);
    free(s);
    break;
  }
  case OPT_BYTES: {
    nng_msg *m;
    rv = value_to_msg(env, argv[2], &m);
    if (rv == 0) {
      rv = nng_socket_set(sock->s, name, nng_msg_body(m), nng_msg_len(m));
      nng_msg_free(m);
    }
    break;
  }
  default:
    return throw_type(env, "unknown option type");
  }
  if (rv != 0) return throw_nng(env, rv, name);
  return undefined(env);
}

/* getOpt(name, type) for ms, size, int, bool and string options. */
static napi_value sock_get_opt(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2], out;
  sock_t *sock = get_sock(env, info, &argc, argv, true);
  if (sock == NULL) return NULL;
  char name[64];
  size_t len;
  if (napi_get_value_string_utf8(env, argv[0], name, sizeof name, &len) != napi_ok) {
    return throw_type(env, "option name expected");
  }
  int rv;
  switch (get_int(env, argv[1], -1)) {
  case OPT_MS: {
    nng_duration d;
    rv = nng_socket_get_ms(sock->s, name, &d);
    napi_create_int32(env, d, &out);
    break;
  }
  case OPT_SIZE: {
    size_t n;
    rv = nng_socket_get_size(sock->s, name, &n);
    napi_create_double(env, (double)n, &out);
    break;
  }
  case OPT_INT: {
    int n;
    rv = nng_socket_get_int(sock->s, name, &n);
    napi_create_int32(env, n, &out);
    break;
  }
  case OPT_BOOL: {
    bool b;
    rv = nng_socket_get_bool(sock->s, name, &b);
    napi_get_boolean(env, b, &out);
    break;
  }
  case OPT_STRING: {
    char *s;
    rv = nng_socket_get_string(sock->s, name, &s);
    if (rv == 0) {
      napi_create_string_utf8(env, s, NAPI_AUTO_LENGTH, &out);
      nng_strfree(s);
    }
    break;
  }
  default:
    return throw_type(env, "unknown option type");
  }
  if (rv != 0) return throw_nng(env, rv, name);
  return out;
}

/* ---------------------------------------------------------------- I/O */

static nng_duration timeout_arg(napi_env env, napi_value v) {
  double ms;
  if (v == NULL || napi_get_value_double(env, v, &ms) != napi_ok) return NNG_DURATION_DEFAULT;
  if (ms < 0) return ms <= -2 ? NNG_DURATION_DEFAULT : NNG_DURATION_INFINITE;
  return ms >= 2147483647.0 ? 2147483647 : (nng_duration)ms;
}

/* send(data, timeoutMs) -> token: socket-level send (push, pub, pair, bus, surveyor, …). */
static napi_value sock_send(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2] = {NULL, NULL};
  sock_t *sock = get_sock(env, info, &argc, argv, true);
  if (sock == NULL) return NULL;
  nng_msg *msg;
  int rv = value_to_msg(env, argv[0], &msg);
  if (rv != 0) return rv == NNG_EINVAL ? throw_type(env, "bytes or string expected") : throw_nng(env, rv, "send");
  op_t *op = op_acquire(env, sock, OP_SEND);
  if (op == NULL) {
    nng_msg_free(msg);
    return throw_nng(env, NNG_ENOMEM, "send");
  }
  nng_aio_set_timeout(op->aio, timeout_arg(env, argv[1]));
  nng_aio_set_msg(op->aio, msg);
  nng_send_aio(sock->s, op->aio);
  return uint32_value(env, op->token);
}

/* recv(timeoutMs) -> token: socket-level receive. */
static napi_value sock_recv(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1] = {NULL};
  sock_t *sock = get_sock(env, info, &argc, argv, true);
  if (sock == NULL) return NULL;
  op_t *op = op_acquire(env, sock, OP_RECV);
  if (op == NULL) return throw_nng(env, NNG_ENOMEM, "recv");
  nng_aio_set_timeout(op->aio, timeout_arg(env, argv[0]));
  nng_recv_aio(sock->s, op->aio);
  return uint32_value(env, op->token);
}

static int ensure_ctx(op_t *op) {
  if (op->has_ctx) return 0;
  int rv = nng_ctx_open(&op->ctx, op->sock->s);
  if (rv == 0) op->has_ctx = true;
  return rv;
}

/* request(data, timeoutMs) -> token: REQ only; one context per in-flight request. */
static napi_value sock_request(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2] = {NULL, NULL};
  sock_t *sock = get_sock(env, info, &argc, argv, true);
  if (sock == NULL) return NULL;
  nng_msg *msg;
  int rv = value_to_msg(env, argv[0], &msg);
  if (rv != 0) return rv == NNG_EINVAL ? throw_type(env, "bytes or string expected") : throw_nng(env, rv, "request");
  op_t *op = op_acquire(env, sock, OP_REQUEST);
  if (op == NULL) {
    nng_msg_free(msg);
    return throw_nng(env, NNG_ENOMEM, "request");
  }
  rv = ensure_ctx(op);
  if (rv != 0) {
    nng_msg_free(msg);
    op_start_failed(op);
    return throw_nng(env, rv, "request");
  }
  if (op->saio == NULL && (rv = nng_aio_alloc(&op->saio, NULL, NULL)) != 0) {
    op->saio = NULL;
    nng_msg_free(msg);
    op_start_failed(op);
    return throw_nng(env, rv, "request");
  }
  nng_duration t = timeout_arg(env, argv[1]);
  if (t == NNG_DURATION_DEFAULT) t = NNG_DURATION_INFINITE;
  /* The send half completes without a callback; the receive half is started at once (the
   * context holds the request from nng_ctx_send on) and its completion is the only one. */
  nng_aio_set_timeout(op->saio, t);
  nng_aio_set_timeout(op->aio, t);
  nng_aio_set_msg(op->saio, msg);
  op->phase = PH_RECV;
  nng_ctx_send(op->ctx, op->saio);
  nng_ctx_recv(op->ctx, op->aio);
  return uint32_value(env, op->token);
}

/* serve(count): starts `count` contexts that each receive a request, hand it to JS (EV_REQUEST
 * with the context's token) and wait for reply(token, data) or skip(token). */
static napi_value sock_serve(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  sock_t *sock = get_sock(env, info, &argc, argv, true);
  if (sock == NULL) return NULL;
  int32_t count = get_int(env, argv[0], 1);
  for (int32_t i = 0; i < count; i++) {
    op_t *op = op_acquire(env, sock, OP_SERVE);
    if (op == NULL) return throw_nng(env, NNG_ENOMEM, "serve");
    int rv = ensure_ctx(op);
    if (rv != 0) {
      op_start_failed(op);
      return throw_nng(env, rv, "serve");
    }
    nng_aio_set_timeout(op->aio, NNG_DURATION_INFINITE);
    op->phase = PH_RECV;
    nng_ctx_recv(op->ctx, op->aio);
  }
  return undefined(env);
}

static op_t *serving_op(napi_env env, sock_t *sock, napi_value token) {
  uint32_t t;
  if (napi_get_value_uint32(env, token, &t) != napi_ok || t >= sock->nops) return NULL;
  op_t *op = sock->ops[t];
  if (op == NULL || !op->busy || op->kind != OP_SERVE || op->phase != PH_IDLE || op->posted) return NULL;
  return op;
}

/* reply(token, data): answers the request the context holds, then it receives again. */
static napi_value sock_reply(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  sock_t *sock = get_sock(env, info, &argc, argv, false);
  if (sock == NULL) return NULL;
  if (!sock->open) return undefined(env); /* the context's ECLOSED completion is on its way */
  op_t *op = serving_op(env, sock, argv[0]);
  if (op == NULL) return throw_type(env, "no request pending on that token");
  nng_msg *msg;
  int rv = value_to_msg(env, argv[1], &msg);
  if (rv != 0) return rv == NNG_EINVAL ? throw_type(env, "bytes or string expected") : throw_nng(env, rv, "reply");
  op->phase = PH_SEND;
  nng_aio_set_msg(op->aio, msg);
  nng_ctx_send(op->ctx, op->aio);
  return undefined(env);
}

/* skip(token): drops the request without an answer and receives the next one. */
static napi_value sock_skip(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  sock_t *sock = get_sock(env, info, &argc, argv, false);
  if (sock == NULL) return NULL;
  if (!sock->open) return undefined(env);
  op_t *op = serving_op(env, sock, argv[0]);
  if (op == NULL) return throw_type(env, "no request pending on that token");
  op->phase = PH_RECV;
  nng_ctx_recv(op->ctx, op->aio);
  return undefined(env);
}

/* failOnDisconnect(bool): REQ requests in flight fail with NNG_ECONNSHUT when a pipe drops. */
static napi_value sock_fail_on_disconnect(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  sock_t *sock = get_sock(env, info, &argc, argv, true);
  if (sock == NULL) return NULL;
  bool on = false;
  napi_get_value_bool(env, argv[0], &on);
  sock->fail_on_disconnect = on;
  return undefined(env);
}

/* cancel(token): the operation completes with NNG_ECANCELED (or its result, if it won). */
static napi_value sock_cancel(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  sock_t *sock = get_sock(env, info, &argc, argv, false);
  if (sock == NULL) return NULL;
  uint32_t t;
  if (napi_get_value_uint32(env, argv[0], &t) != napi_ok || t >= sock->nops) return undefined(env);
  op_t *op = sock->ops[t];
  if (op == NULL || !op->busy) return undefined(env);
  if (op->kind == OP_DIAL) {
    nng_dialer_close(op->dialer);
    return undefined(env);
  }
  atomic_store(&op->cancelled, 1);
  nng_aio_cancel(op->aio);
  return undefined(env);
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
      if (op->saio != NULL) nng_aio_stop(op->saio);
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
    {"skip", NULL, sock_skip, NULL, NULL, NULL, napi_default, NULL},
    {"cancel", NULL, sock_cancel, NULL, NULL, NULL, napi_default, NULL},
    {"failOnDisconnect", NULL, sock_fail_on_disconnect, NULL, NULL, NULL, napi_default, NULL},
    {"close", NULL, sock_close_js, NULL, NULL, NULL, napi_default, NULL},
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
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)

/*
 * Socket methods: listen, dial (blocking dial on an nng thread), endpoints, options.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addon.h"

#include <nng/supplemental/tls/tls.h>

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

/*
 * listen(url, tls?, ipcPermissions?): binds synchronously (local, non-blocking); returns the
 * listener id. ipcPermissions (a number, ipc:// only) is set before the start: nng chmods the
 * socket between bind() and listen(), so no connection is accepted under the umask's mode.
 */
napi_value sock_listen(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3] = {NULL, NULL, NULL};
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
  napi_valuetype perms_type = napi_undefined;
  if (rv == 0 && argc > 2 && napi_typeof(env, argv[2], &perms_type) == napi_ok && perms_type == napi_number)
    rv = nng_listener_set_int(l, NNG_OPT_IPC_PERMISSIONS, get_int(env, argv[2], 0));
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
napi_value sock_dial(napi_env env, napi_callback_info info) {
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
napi_value sock_bound_port(napi_env env, napi_callback_info info) {
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
napi_value sock_close_endpoint(napi_env env, napi_callback_info info) {
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
napi_value sock_set_opt(napi_env env, napi_callback_info info) {
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
napi_value sock_get_opt(napi_env env, napi_callback_info info) {
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

/*
 * Small helpers between Node-API values and the addon: errors, arguments, the socket of `this`.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addon.h"

/* Throws an Error carrying the nng errno (`errno`) for packages/nng to map. */
napi_value throw_nng(napi_env env, int rv, const char *what) {
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

napi_value throw_type(napi_env env, const char *text) {
  napi_throw_type_error(env, NULL, text);
  return NULL;
}

napi_value undefined(napi_env env) {
  napi_value u;
  napi_get_undefined(env, &u);
  return u;
}

napi_value uint32_value(napi_env env, uint32_t v) {
  napi_value out;
  napi_create_uint32(env, v, &out);
  return out;
}

/* Reads `this` and up to `n` arguments; returns the open socket or throws CLOSED. */
sock_t *get_sock(napi_env env, napi_callback_info info, size_t *argc, napi_value *argv, bool need_open) {
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

char *get_string(napi_env env, napi_value v) {
  size_t len;
  if (napi_get_value_string_utf8(env, v, NULL, 0, &len) != napi_ok) return NULL;
  char *s = malloc(len + 1);
  if (s == NULL) return NULL;
  napi_get_value_string_utf8(env, v, s, len + 1, &len);
  return s;
}

int32_t get_int(napi_env env, napi_value v, int32_t dflt) {
  int32_t out;
  return napi_get_value_int32(env, v, &out) == napi_ok ? out : dflt;
}

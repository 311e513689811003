/* verbs provider: connections through librdmacm (client, listener, accept, close). */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "verbs.h"
#include "verbs_internal.h"

#define VERBS_RESOLVE_TIMEOUT_MS 2000

static void cq_poll_cb(uv_poll_t *h, int status, int events) {
  verbs_conn *c = h->data;
  if (c != NULL) verbs_in_scope(c->venv, verbs_drain_cq, c);
}

static void conn_cm_drain(void *arg);
static void cm_poll_cb(uv_poll_t *h, int status, int events) {
  verbs_conn *c = h->data;
  if (c != NULL) verbs_in_scope(c->venv, conn_cm_drain, c);
}

/* RC parameters: one outstanding RDMA READ each way is the least READ needs. */
static void conn_params(verbs_conn *c, struct rdma_conn_param *p) {
  memset(p, 0, sizeof *p);
  p->private_data = c->private_len > 0 ? c->private_data : NULL;
  p->private_data_len = c->private_len;
  p->responder_resources = 1;
  p->initiator_depth = 1;
  p->retry_count = 7;
  p->rnr_retry_count = 7;
}

/* Completion channel, CQ (armed), RC QP on the context's PD, and the CQ watch. */
static int conn_setup_qp(verbs_conn *c, char *err, size_t errlen) {
  const verbs_lib *L = c->ctx->L;
  struct rdma_cm_id *id = c->id;
  if (id->verbs != c->ctx->verbs) {
    snprintf(err, errlen, "the route uses another RDMA device than the context's (%s)", c->ctx->device);
    return EXDEV;
  }
  errno = 0;
  c->cc = L->create_comp_channel(id->verbs);
  if (c->cc == NULL || verbs_set_nonblock(c->cc->fd) != 0) {
    verbs_errfmt(err, errlen, "ibv_create_comp_channel", errno != 0 ? errno : ENOMEM);
    return errno != 0 ? errno : ENOMEM;
  }
  c->cq = L->create_cq(id->verbs, (int)c->max_inflight * 2, c, c->cc, 0);
  if (c->cq == NULL) {
    verbs_errfmt(err, errlen, "ibv_create_cq", errno != 0 ? errno : ENOMEM);
    return errno != 0 ? errno : ENOMEM;
  }
  int rc = ibv_req_notify_cq(c->cq, 0);
  if (rc != 0) {
    verbs_errfmt(err, errlen, "ibv_req_notify_cq", rc);
    return rc;
  }
  struct ibv_qp_init_attr qa;
  memset(&qa, 0, sizeof qa);
  qa.send_cq = c->cq;
  qa.recv_cq = c->cq;
  qa.qp_type = IBV_QPT_RC;
  qa.cap.max_send_wr = c->max_inflight;
  qa.cap.max_recv_wr = 1;
  qa.cap.max_send_sge = 1;
  qa.cap.max_recv_sge = 1;
  if (L->create_qp(id, c->ctx->pd, &qa) != 0) {
    verbs_errfmt(err, errlen, "rdma_create_qp", errno);
    return errno != 0 ? errno : EIO;
  }
  c->cq_poll = verbs_poll_start(c->venv, c->cc->fd, c, cq_poll_cb);
  if (c->cq_poll == NULL) {
    snprintf(err, errlen, "uv_poll on the completion channel failed");
    return EIO;
  }
  return 0;
}

int verbs_conn_start(verbs_ctx *ctx, verbs_conn *c, const struct sockaddr *dst, int timeout_ms, char *err,
                     size_t errlen) {
  const verbs_lib *L = ctx->L;
  c->ctx = ctx;
  c->state = VC_RESOLVING;
  VERBS_LINK(ctx->conns, c);
  errno = 0;
  c->ch = L->create_event_channel();
  if (c->ch == NULL || verbs_set_nonblock(c->ch->fd) != 0) {
    verbs_errfmt(err, errlen, "rdma_create_event_channel", errno != 0 ? errno : ENOMEM);
    return errno != 0 ? errno : ENOMEM;
  }
  if (L->create_id(c->ch, &c->id, c, RDMA_PS_TCP) != 0) {
    verbs_errfmt(err, errlen, "rdma_create_id", errno);
    return errno != 0 ? errno : EIO;
  }
  c->cm_poll = verbs_poll_start(c->venv, c->ch->fd, c, cm_poll_cb);
  if (c->cm_poll == NULL) {
    snprintf(err, errlen, "uv_poll on the rdma_cm event channel failed");
    return EIO;
  }
  if (L->resolve_addr(c->id, NULL, (struct sockaddr *)dst, timeout_ms > 0 ? timeout_ms : VERBS_RESOLVE_TIMEOUT_MS) != 0) {
    verbs_errfmt(err, errlen, "rdma_resolve_addr", errno);
    return errno != 0 ? errno : EIO;
  }
  return 0;
}

/* Calls obj[name](arg) when it is a function; an exception becomes uncaught. */
static void call_method(napi_env env, napi_value obj, const char *name, napi_value fn_or_null, napi_value arg) {
  napi_value fn = fn_or_null;
  napi_valuetype t = napi_undefined;
  if (fn == NULL && napi_get_named_property(env, obj, name, &fn) != napi_ok) return;
  if (napi_typeof(env, fn, &t) != napi_ok || t != napi_function) return;
  napi_value ignored;
  if (napi_call_function(env, obj, fn, arg != NULL ? 1 : 0, &arg, &ignored) != napi_ok) verbs_rethrow_pending(env);
}

static void conn_established(verbs_conn *c) {
  napi_env env = c->venv->env;
  c->state = VC_ESTABLISHED;
  if (c->connect_deferred != NULL) { /* client */
    napi_value self;
    napi_get_reference_value(env, c->self, &self);
    napi_deferred d = c->connect_deferred;
    c->connect_deferred = NULL;
    napi_resolve_deferred(env, d, self);
    return;
  }
  napi_value self = verbs_wrap_conn(env, c); /* server: the connection's JS object starts now */
  if (self == NULL) {
    verbs_conn_close(c, "ENOMEM", "could not create the connection object", 1);
    return;
  }
  napi_value fn = NULL, global;
  napi_get_reference_value(env, c->on_connection, &fn);
  napi_delete_reference(env, c->on_connection);
  c->on_connection = NULL;
  napi_get_global(env, &global);
  napi_valuetype t = napi_undefined;
  napi_value ignored;
  if (fn != NULL && napi_typeof(env, fn, &t) == napi_ok && t == napi_function &&
      napi_call_function(env, global, fn, 1, &self, &ignored) != napi_ok)
    verbs_rethrow_pending(env);
}

/* Returns 1 when the connection was closed (and, when no JS object owns it, freed). */
static int conn_on_event(verbs_conn *c, int type, int status) {
  const verbs_lib *L = c->ctx->L;
  char err[384];
  int rc = 0;
  switch (type) {
    case RDMA_CM_EVENT_ADDR_RESOLVED:
      rc = conn_setup_qp(c, err, sizeof err);
      if (rc == 0 && L->resolve_route(c->id, VERBS_RESOLVE_TIMEOUT_MS) != 0) {
        rc = errno != 0 ? errno : EIO;
        verbs_errfmt(err, sizeof err, "rdma_resolve_route", rc);
      }
      break;
    case RDMA_CM_EVENT_ROUTE_RESOLVED: {
      struct rdma_conn_param p;
      conn_params(c, &p);
      c->state = VC_CONNECTING;
      if (L->connect(c->id, &p) != 0) {
        rc = errno != 0 ? errno : EIO;
        verbs_errfmt(err, sizeof err, "rdma_connect", rc);
      }
      break;
    }
    case RDMA_CM_EVENT_ESTABLISHED:
      conn_established(c);
      return c->state == VC_CLOSED;
    case RDMA_CM_EVENT_DISCONNECTED:
    case RDMA_CM_EVENT_DEVICE_REMOVAL:
    case RDMA_CM_EVENT_TIMEWAIT_EXIT: {
      napi_env env = c->venv->env;
      napi_value self = NULL, reason;
      int wrapped = c->wrapped;
      if (wrapped) napi_get_reference_value(env, c->self, &self); /* held by this handle scope */
      snprintf(err, sizeof err, "the peer disconnected (rdma_cm %s)", L->event_str(type));
      verbs_conn_close(c, "EDISCONNECTED", err, 1);
      if (wrapped && self != NULL) {
        napi_create_string_utf8(env, err, NAPI_AUTO_LENGTH, &reason);
        call_method(env, self, "ondisconnect", NULL, reason);
      }
      return 1;
    }
    case RDMA_CM_EVENT_ADDR_ERROR:
    case RDMA_CM_EVENT_ROUTE_ERROR:
    case RDMA_CM_EVENT_UNREACHABLE:
    case RDMA_CM_EVENT_REJECTED:
    case RDMA_CM_EVENT_CONNECT_ERROR:
      snprintf(err, sizeof err, "rdma_cm reported %s (status %d)", L->event_str(type), status);
      verbs_conn_close(c, "ECONNECT", err, 1);
      return 1;
    default:
      return 0;
  }
  if (rc != 0) {
    verbs_conn_close(c, "ECONNECT", err, 1);
    return 1;
  }
  return 0;
}

static void conn_cm_drain(void *arg) {
  verbs_conn *c = arg;
  struct rdma_cm_event *ev;
  while (c->state != VC_CLOSED && c->ctx->L->get_cm_event(c->ch, &ev) == 0) {
    int type = ev->event, status = ev->status;
    c->ctx->L->ack_cm_event(ev);
    if (conn_on_event(c, type, status)) return;
  }
}

void verbs_conn_close(verbs_conn *c, const char *code, const char *message, int napi_ok) {
  if (c->state == VC_CLOSED) return;
  int established = c->state == VC_ESTABLISHED;
  c->state = VC_CLOSED;
  verbs_ctx *ctx = c->ctx;
  const verbs_lib *L = ctx->L;
  napi_env env = c->venv->env;
  verbs_poll_stop(&c->cm_poll);
  verbs_poll_stop(&c->cq_poll);
  /* Destroying the QP first stops the hardware: no DMA into our buffers after this. */
  if (c->id != NULL) {
    if (established) L->disconnect(c->id);
    if (c->id->qp != NULL) L->destroy_qp(c->id);
  }
  while (c->ops != NULL) {
    verbs_op *op = c->ops;
    c->ops = op->next;
    if (napi_ok) napi_reject_deferred(env, op->deferred, verbs_make_error(env, code, -1, message));
    verbs_op_release(c, op, napi_ok);
  }
  c->inflight = 0;
  if (c->connect_deferred != NULL && napi_ok)
    napi_reject_deferred(env, c->connect_deferred, verbs_make_error(env, code, -1, message));
  c->connect_deferred = NULL;
  if (c->cq != NULL) L->destroy_cq(c->cq);
  if (c->cc != NULL) L->destroy_comp_channel(c->cc);
  if (c->id != NULL) L->destroy_id(c->id);
  if (c->ch != NULL) L->destroy_event_channel(c->ch);
  c->cq = NULL;
  c->cc = NULL;
  c->id = NULL;
  c->ch = NULL;
  VERBS_UNLINK(ctx->conns, c);
  c->ctx = NULL;
  if (napi_ok) {
    if (c->self != NULL) napi_delete_reference(env, c->self);
    if (c->ctx_ref != NULL) napi_delete_reference(env, c->ctx_ref);
    if (c->on_connection != NULL) napi_delete_reference(env, c->on_connection);
  }
  c->self = c->ctx_ref = c->on_connection = NULL;
  if (!c->wrapped) free(c);
}

/* --- listener --- */

static void listener_accept(verbs_listener *l, struct rdma_cm_id *child, const void *pdata, uint8_t plen) {
  const verbs_lib *L = l->ctx->L;
  napi_env env = l->venv->env;
  char err[384];
  verbs_conn *c = calloc(1, sizeof *c);
  if (c == NULL) {
    L->reject(child, NULL, 0);
    L->destroy_id(child);
    return;
  }
  c->venv = l->venv;
  c->ctx = l->ctx;
  c->state = VC_CONNECTING;
  c->max_inflight = l->max_inflight;
  c->private_len = plen > VERBS_MAX_PRIVATE_DATA ? VERBS_MAX_PRIVATE_DATA : plen;
  if (pdata != NULL) memcpy(c->private_data, pdata, c->private_len);
  VERBS_LINK(l->ctx->conns, c);
  /* The connection gets its own event channel so it outlives the listener. */
  c->ch = L->create_event_channel();
  if (c->ch == NULL || verbs_set_nonblock(c->ch->fd) != 0 || L->migrate_id(child, c->ch) != 0) {
    L->reject(child, NULL, 0);
    L->destroy_id(child);
    verbs_conn_close(c, "ECONNECT", "accept failed", 1);
    return;
  }
  c->id = child;
  child->context = c;
  napi_value v;
  napi_get_reference_value(env, l->on_connection, &v);
  napi_create_reference(env, v, 1, &c->on_connection);
  napi_get_reference_value(env, l->ctx_ref, &v);
  napi_create_reference(env, v, 1, &c->ctx_ref);
  int rc = conn_setup_qp(c, err, sizeof err);
  c->cm_poll = rc == 0 ? verbs_poll_start(c->venv, c->ch->fd, c, cm_poll_cb) : NULL;
  struct rdma_conn_param p;
  conn_params(c, &p);
  p.private_data = NULL;
  p.private_data_len = 0;
  if (rc != 0 || c->cm_poll == NULL || L->accept(child, &p) != 0) {
    if (rc == 0) L->reject(child, NULL, 0);
    verbs_conn_close(c, "ECONNECT", "accept failed", 1);
  }
}

static void listener_cm_drain(void *arg) {
  verbs_listener *l = arg;
  const verbs_lib *L = l->ctx->L;
  struct rdma_cm_event *ev;
  while (!l->closed && L->get_cm_event(l->ch, &ev) == 0) {
    if (ev->event != RDMA_CM_EVENT_CONNECT_REQUEST) {
      L->ack_cm_event(ev);
      continue;
    }
    struct rdma_cm_id *child = ev->id;
    uint8_t pdata[VERBS_MAX_PRIVATE_DATA];
    uint8_t plen = ev->param.conn.private_data_len;
    if (plen > sizeof pdata) plen = sizeof pdata;
    if (plen > 0 && ev->param.conn.private_data != NULL) memcpy(pdata, ev->param.conn.private_data, plen);
    else plen = 0;
    L->ack_cm_event(ev); /* before rdma_migrate_id, which waits for the id's events to be acked */
    listener_accept(l, child, pdata, plen);
  }
}

static void listener_poll_cb(uv_poll_t *h, int status, int events) {
  verbs_listener *l = h->data;
  if (l != NULL) verbs_in_scope(l->venv, listener_cm_drain, l);
}

int verbs_listener_start(verbs_ctx *ctx, verbs_listener *l, const struct sockaddr *addr, int backlog, char *err,
                         size_t errlen) {
  const verbs_lib *L = ctx->L;
  l->ctx = ctx;
  VERBS_LINK(ctx->listeners, l);
  errno = 0;
  l->ch = L->create_event_channel();
  if (l->ch == NULL || verbs_set_nonblock(l->ch->fd) != 0) {
    verbs_errfmt(err, errlen, "rdma_create_event_channel", errno != 0 ? errno : ENOMEM);
    return errno != 0 ? errno : ENOMEM;
  }
  if (L->create_id(l->ch, &l->id, l, RDMA_PS_TCP) != 0) {
    verbs_errfmt(err, errlen, "rdma_create_id", errno);
    return errno != 0 ? errno : EIO;
  }
  if (L->bind_addr(l->id, (struct sockaddr *)addr) != 0) {
    verbs_errfmt(err, errlen, "rdma_bind_addr", errno);
    return errno != 0 ? errno : EIO;
  }
  if (L->listen(l->id, backlog) != 0) {
    verbs_errfmt(err, errlen, "rdma_listen", errno);
    return errno != 0 ? errno : EIO;
  }
  l->port = ntohs(L->get_src_port(l->id));
  l->cm_poll = verbs_poll_start(l->venv, l->ch->fd, l, listener_poll_cb);
  if (l->cm_poll == NULL) {
    snprintf(err, errlen, "uv_poll on the rdma_cm event channel failed");
    return EIO;
  }
  return 0;
}

void verbs_listener_close(verbs_listener *l, int napi_ok) {
  if (l->closed) return;
  l->closed = 1;
  const verbs_lib *L = l->ctx->L;
  verbs_poll_stop(&l->cm_poll);
  if (l->id != NULL) L->destroy_id(l->id);
  if (l->ch != NULL) L->destroy_event_channel(l->ch);
  l->id = NULL;
  l->ch = NULL;
  VERBS_UNLINK(l->ctx->listeners, l);
  l->ctx = NULL;
  if (napi_ok) {
    napi_env env = l->venv->env;
    if (l->self != NULL) napi_delete_reference(env, l->self);
    if (l->ctx_ref != NULL) napi_delete_reference(env, l->ctx_ref);
    if (l->on_connection != NULL) napi_delete_reference(env, l->on_connection);
  }
  l->self = l->ctx_ref = l->on_connection = NULL;
}

/* verbs provider: device context, memory regions, posting and completions (see verbs.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "verbs.h"
#include "verbs_internal.h"

_Static_assert(IBV_WC_REM_ACCESS_ERR == 10 && IBV_WC_GENERAL_ERR == 21, "wc status names follow the enum");

int verbs_set_nonblock(int fd) {
  int fl = fcntl(fd, F_GETFL);
  return fl < 0 ? -1 : fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

void verbs_errfmt(char *err, size_t len, const char *what, int e) {
  char nbuf[16];
  snprintf(err, len, "%s failed with %s (%s)", what, verbs_errno_name(e, nbuf, sizeof nbuf), strerror(e));
}

static void free_handle(uv_handle_t *h) { free(h); }

uv_poll_t *verbs_poll_start(verbs_env *venv, int fd, void *data, uv_poll_cb cb) {
  uv_loop_t *loop = NULL;
  if (napi_get_uv_event_loop(venv->env, &loop) != napi_ok || loop == NULL) return NULL;
  uv_poll_t *h = calloc(1, sizeof *h);
  if (h == NULL) return NULL;
  if (uv_poll_init(loop, h, fd) != 0) {
    free(h);
    return NULL;
  }
  h->data = data;
  if (uv_poll_start(h, UV_READABLE, cb) != 0) {
    uv_close((uv_handle_t *)h, free_handle);
    return NULL;
  }
  return h;
}

/* uv_close removes the fd from epoll at once, so the library may close it right after. */
void verbs_poll_stop(uv_poll_t **hp) {
  if (*hp == NULL) return;
  (*hp)->data = NULL;
  uv_close((uv_handle_t *)*hp, free_handle);
  *hp = NULL;
}

int verbs_ctx_open(verbs_ctx *ctx, char *err, size_t errlen) {
  char lerr[512];
  const verbs_lib *L = verbs_lib_load(lerr, sizeof lerr);
  if (L == NULL) {
    snprintf(err, errlen, "%s", lerr);
    return ENOENT;
  }
  int n = 0;
  errno = 0;
  ctx->devices = L->get_devices(&n);
  if (ctx->devices == NULL || n == 0) {
    int e = errno != 0 ? errno : ENODEV;
    if (ctx->devices != NULL) L->free_devices(ctx->devices);
    ctx->devices = NULL;
    verbs_errfmt(err, errlen, "librdmacm: rdma_get_devices (no usable RDMA device)", e);
    return e;
  }
  ctx->verbs = ctx->devices[0];
  snprintf(ctx->device, sizeof ctx->device, "%s", L->get_device_name(ctx->verbs->device));
  errno = 0;
  ctx->pd = L->alloc_pd(ctx->verbs);
  if (ctx->pd == NULL) {
    int e = errno != 0 ? errno : ENOMEM;
    L->free_devices(ctx->devices);
    ctx->devices = NULL;
    verbs_errfmt(err, errlen, "ibv_alloc_pd", e);
    return e;
  }
  ctx->L = L;
  return 0;
}

void verbs_ctx_close(verbs_ctx *ctx, int napi_ok) {
  if (ctx->closed) return;
  ctx->closed = 1;
  while (ctx->conns != NULL) verbs_conn_close(ctx->conns, "ECLOSED", "the verbs context was closed", napi_ok);
  while (ctx->listeners != NULL) verbs_listener_close(ctx->listeners, napi_ok);
  /* Every operation has settled, so no region is in use any more. */
  while (ctx->regions != NULL) verbs_region_dereg(ctx->regions, napi_ok);
  if (ctx->pd != NULL) ctx->L->dealloc_pd(ctx->pd);
  ctx->pd = NULL;
  if (ctx->devices != NULL) ctx->L->free_devices(ctx->devices);
  ctx->devices = NULL;
  if (ctx->venv != NULL) VERBS_UNLINK(ctx->venv->ctxs, ctx);
}

int verbs_region_register(verbs_ctx *ctx, verbs_region *r, void *data, size_t length, int access) {
  /* LOCAL_WRITE always: the region may be the target of our own READs, and the verbs spec
   * requires it with REMOTE_WRITE. */
  int flags = IBV_ACCESS_LOCAL_WRITE;
  if (access & VERBS_ACCESS_READ) flags |= IBV_ACCESS_REMOTE_READ;
  if (access & VERBS_ACCESS_WRITE) flags |= IBV_ACCESS_REMOTE_WRITE;
  errno = 0;
  struct ibv_mr *mr = ctx->L->reg_mr(ctx->pd, data, length, flags);
  if (mr == NULL) return errno != 0 ? errno : ENOMEM;
  r->mr = mr;
  r->data = data;
  r->length = length;
  r->access = access;
  r->ctx = ctx;
  VERBS_LINK(ctx->regions, r);
  return 0;
}

void verbs_region_dereg(verbs_region *r, int napi_ok) {
  if (r->ctx == NULL) return;
  r->ctx->L->dereg_mr(r->mr);
  r->mr = NULL;
  VERBS_UNLINK(r->ctx->regions, r);
  r->ctx = NULL;
  if (napi_ok && r->venv != NULL) {
    if (r->buf_ref != NULL) napi_delete_reference(r->venv->env, r->buf_ref);
    if (r->ctx_ref != NULL) napi_delete_reference(r->venv->env, r->ctx_ref);
  }
  r->buf_ref = NULL;
  r->ctx_ref = NULL;
}

void verbs_region_close(verbs_region *r, int napi_ok) {
  if (r->ctx == NULL) return;
  if (r->inflight > 0) {
    r->closing = 1; /* the last completion deregisters it */
    return;
  }
  verbs_region_dereg(r, napi_ok);
}

int verbs_conn_post(verbs_conn *c, verbs_op *op, verbs_region *r, size_t local_offset, uint64_t remote_addr,
                    uint32_t rkey, uint32_t length, char *err, size_t errlen) {
  if (c->state != VC_ESTABLISHED) {
    snprintf(err, errlen, "the connection is closed");
    return ENOTCONN;
  }
  if (c->qp_error) {
    snprintf(err, errlen, "the queue pair is in the error state after a failed operation; reconnect");
    return EIO;
  }
  if (r->ctx != c->ctx || r->mr == NULL || r->closing) {
    snprintf(err, errlen, "the local region is deregistered or belongs to another context");
    return EINVAL;
  }
  if (length == 0 || length > VERBS_MAX_OP_LENGTH || local_offset > r->length || length > r->length - local_offset) {
    snprintf(err, errlen, "local range [%zu, +%u) is outside the local region of %zu bytes (or empty)", local_offset,
             length, r->length);
    return ERANGE;
  }
  if (c->inflight >= c->max_inflight) {
    snprintf(err, errlen, "%u operations are in flight (the send queue depth)", c->inflight);
    return EBUSY;
  }
  struct ibv_sge sge = {.addr = (uintptr_t)(r->data + local_offset), .length = length, .lkey = r->mr->lkey};
  struct ibv_send_wr wr;
  memset(&wr, 0, sizeof wr);
  wr.wr_id = ++c->next_wr_id; /* unique per connection: completions find their op by it */
  wr.sg_list = &sge;
  wr.num_sge = 1;
  wr.opcode = op->write ? IBV_WR_RDMA_WRITE : IBV_WR_RDMA_READ;
  wr.send_flags = IBV_SEND_SIGNALED;
  wr.wr.rdma.remote_addr = remote_addr;
  wr.wr.rdma.rkey = rkey;
  struct ibv_send_wr *bad = NULL;
  int rc = ibv_post_send(c->id->qp, &wr, &bad);
  if (rc != 0) {
    verbs_errfmt(err, errlen, "ibv_post_send", rc);
    return rc;
  }
  op->wr_id = wr.wr_id;
  op->region = r;
  op->length = length;
  r->inflight++;
  op->next = c->ops;
  c->ops = op;
  c->inflight++;
  return 0;
}

/* Settles nothing; returns the op's region to its owner and frees the op. */
void verbs_op_release(verbs_conn *c, verbs_op *op, int napi_ok) {
  verbs_region *r = op->region;
  if (r != NULL && r->inflight > 0 && --r->inflight == 0 && r->closing) verbs_region_dereg(r, napi_ok);
  if (napi_ok && op->region_ref != NULL) napi_delete_reference(c->venv->env, op->region_ref);
  free(op);
}

static const char *wc_code(int status) {
  switch (status) {
    case IBV_WC_REM_ACCESS_ERR:
      return "EREMOTEACCESS"; /* wrong rkey, outside the region, or access not granted */
    case IBV_WC_WR_FLUSH_ERR:
      return "EFLUSHED"; /* the queue pair went to the error state first */
    case IBV_WC_RETRY_EXC_ERR:
    case IBV_WC_RESP_TIMEOUT_ERR:
      return "ETIMEDOUT";
    case IBV_WC_LOC_PROT_ERR:
    case IBV_WC_LOC_LEN_ERR:
    case IBV_WC_LOC_ACCESS_ERR:
      return "ELOCAL";
    default:
      return "EIO";
  }
}

static void op_complete(verbs_conn *c, const struct ibv_wc *wc) {
  verbs_op **pp = &c->ops;
  while (*pp != NULL && (*pp)->wr_id != wc->wr_id) pp = &(*pp)->next;
  verbs_op *op = *pp;
  if (op == NULL) return; /* settled already (close) */
  *pp = op->next;
  c->inflight--;
  napi_env env = c->venv->env;
  if (wc->status == IBV_WC_SUCCESS) {
    napi_value n;
    napi_create_uint32(env, op->length, &n);
    napi_resolve_deferred(env, op->deferred, n);
  } else {
    c->qp_error = 1;
    char msg[256];
    snprintf(msg, sizeof msg, "RDMA %s of %u bytes completed with %s (vendor error %u)", op->write ? "WRITE" : "READ",
             op->length, verbs_wc_status_name(wc->status), wc->vendor_err);
    napi_reject_deferred(env, op->deferred, verbs_make_error(env, wc_code(wc->status), wc->status, msg));
  }
  verbs_op_release(c, op, 1);
}

/* Completion channel readable: consume its events, re-arm, then drain the CQ. Re-arming before
 * polling means a completion arriving meanwhile either is polled now or raises a new event. */
void verbs_drain_cq(void *arg) {
  verbs_conn *c = arg;
  if (c->state == VC_CLOSED || c->cq == NULL) return;
  const verbs_lib *L = c->ctx->L;
  struct ibv_cq *ev_cq = NULL;
  void *ev_ctx = NULL;
  unsigned events = 0;
  while (L->get_cq_event(c->cc, &ev_cq, &ev_ctx) == 0) events++;
  if (events > 0) L->ack_cq_events(c->cq, events);
  ibv_req_notify_cq(c->cq, 0);
  struct ibv_wc wc[16];
  int n;
  while (c->state != VC_CLOSED && (n = ibv_poll_cq(c->cq, 16, wc)) > 0) {
    for (int i = 0; i < n && c->state != VC_CLOSED; i++) op_complete(c, &wc[i]);
  }
}

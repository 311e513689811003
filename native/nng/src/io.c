/*
 * Socket methods that move messages: send, recv, request (REQ), serve/reply/drop (REP,
 * RESPONDENT), cancel. Each starts an aio and returns a token at once.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addon.h"

/* ---------------------------------------------------------------- I/O */

static nng_duration timeout_arg(napi_env env, napi_value v) {
  double ms;
  if (v == NULL || napi_get_value_double(env, v, &ms) != napi_ok) return NNG_DURATION_DEFAULT;
  if (ms < 0) return ms <= -2 ? NNG_DURATION_DEFAULT : NNG_DURATION_INFINITE;
  return ms >= 2147483647.0 ? 2147483647 : (nng_duration)ms;
}

/* The message of a send-like call and the op that carries it. On failure a JS exception is
 * pending, nothing is left allocated, and NULL is returned. */
static op_t *op_with_msg(napi_env env, sock_t *sock, napi_value data, int kind, const char *what, nng_msg **msg) {
  int rv = value_to_msg(env, data, msg);
  if (rv != 0) {
    if (rv == NNG_EINVAL) throw_type(env, "bytes or string expected");
    else throw_nng(env, rv, what);
    return NULL;
  }
  op_t *op = op_acquire(env, sock, kind);
  if (op == NULL) {
    nng_msg_free(*msg);
    throw_nng(env, NNG_ENOMEM, what);
  }
  return op;
}

/* send(data, timeoutMs) -> token: socket-level send (push, pub, pair, bus, surveyor, …). */
napi_value sock_send(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2] = {NULL, NULL};
  sock_t *sock = get_sock(env, info, &argc, argv, true);
  if (sock == NULL) return NULL;
  nng_msg *msg;
  op_t *op = op_with_msg(env, sock, argv[0], OP_SEND, "send", &msg);
  if (op == NULL) return NULL;
  nng_aio_set_timeout(op->aio, timeout_arg(env, argv[1]));
  nng_aio_set_msg(op->aio, msg);
  IN_SCOPE(nng_send_aio(sock->s, op->aio));
  return uint32_value(env, op->token);
}

/* recv(timeoutMs) -> token: socket-level receive. */
napi_value sock_recv(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1] = {NULL};
  sock_t *sock = get_sock(env, info, &argc, argv, true);
  if (sock == NULL) return NULL;
  op_t *op = op_acquire(env, sock, OP_RECV);
  if (op == NULL) return throw_nng(env, NNG_ENOMEM, "recv");
  nng_aio_set_timeout(op->aio, timeout_arg(env, argv[0]));
  IN_SCOPE(nng_recv_aio(sock->s, op->aio));
  return uint32_value(env, op->token);
}

static int ensure_ctx(op_t *op) {
  if (op->has_ctx) return 0;
  int rv = nng_ctx_open(&op->ctx, op->sock->s);
  if (rv == 0) op->has_ctx = true;
  return rv;
}

/* request(data, timeoutMs) -> token: REQ only; one context per in-flight request.
 *
 * The send goes on a callback-less aio: when a pipe is ready nng writes the request and
 * completes that aio right here, without dispatching a completion to its task threads (one
 * thread wake-up less per request); when it must wait for a pipe, nng completes it inline on
 * the thread that sends it later. The receive of the reply starts at once, on the JS thread,
 * with the whole timeout: nng 1.5 accepts a receive on a context whose request is queued. The
 * send aio never times out and is never cancelled (cancelling a queued send while its receive
 * is pending trips an assertion in nng 1.5's req.c); a timeout, abort or lost connection
 * cancels the receive, which resets the context, and op_request_settle() closes it. */
napi_value sock_request(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2] = {NULL, NULL};
  sock_t *sock = get_sock(env, info, &argc, argv, true);
  if (sock == NULL) return NULL;
  nng_msg *msg;
  op_t *op = op_with_msg(env, sock, argv[0], OP_REQUEST, "request", &msg);
  if (op == NULL) return NULL;
  int rv = ensure_ctx(op);
  if (rv == 0 && op->saio == NULL) rv = nng_aio_alloc(&op->saio, NULL, NULL);
  if (rv != 0) {
    nng_msg_free(msg);
    op_start_failed(op);
    return throw_nng(env, rv, "request");
  }
  nng_duration t = timeout_arg(env, argv[1]);
  if (t == NNG_DURATION_DEFAULT) t = NNG_DURATION_INFINITE;
  nng_aio_set_timeout(op->saio, NNG_DURATION_INFINITE);
  nng_aio_set_msg(op->saio, msg);
  nni_oc_enter();
  nng_ctx_send(op->ctx, op->saio);
  /* If the send failed at once (e.g. out of memory), the context has no request and this
   * receive fails with NNG_ESTATE; op_request_settle() frees the unsent message. */
  nng_aio_set_timeout(op->aio, t);
  op->phase = PH_RECV;
  nng_ctx_recv(op->ctx, op->aio);
  nni_oc_leave();
  return uint32_value(env, op->token);
}

/* Starts one serving context receiving; 0 or an nng error. JS thread. */
static int serve_one(napi_env env, sock_t *sock) {
  op_t *op = op_acquire(env, sock, OP_SERVE);
  if (op == NULL) return NNG_ENOMEM;
  int rv = ensure_ctx(op);
  if (rv != 0) {
    op_start_failed(op);
    return rv;
  }
  nng_aio_set_timeout(op->aio, NNG_DURATION_INFINITE);
  op->phase = PH_RECV;
  IN_SCOPE(nng_ctx_recv(op->ctx, op->aio));
  return 0;
}

/* serve(count): starts `count` contexts that each receive a request, hand it to JS (EV_REQUEST
 * with the context's token) and wait for reply(token, data) or drop(token). */
napi_value sock_serve(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  sock_t *sock = get_sock(env, info, &argc, argv, true);
  if (sock == NULL) return NULL;
  int32_t count = get_int(env, argv[0], 1);
  for (int32_t i = 0; i < count; i++) {
    int rv = serve_one(env, sock);
    if (rv != 0) return throw_nng(env, rv, "serve");
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

/* Sends a reply on a serving op's context (see sock_reply). JS thread. */
static void send_reply(napi_env env, sock_t *sock, op_t *op, nng_msg *msg) {
  if (sock->parked != NULL) sock_reap_parked(sock);
  nng_aio_set_timeout(op->saio, NNG_DURATION_INFINITE);
  nng_aio_set_msg(op->saio, msg);
  IN_SCOPE(nng_ctx_send(op->ctx, op->saio));
  if (nng_aio_get_msg(op->saio) != NULL && nng_aio_result(op->saio) == 0) {
    op->phase = PH_PARKED;
    op->next_parked = sock->parked;
    sock->parked = op;
    if (serve_one(env, sock) != 0) sock->serve_deficit++;
    return;
  }
  nng_aio_wait(op->saio);
  int rv = nng_aio_result(op->saio);
  op_drop_unsent(op->saio); /* a failed send leaves the message with us */
  if (rv == NNG_ECLOSED) {
    op_release(op);
    return;
  }
  op->phase = PH_RECV;
  IN_SCOPE(nng_ctx_recv(op->ctx, op->aio));
}

/*
 * reply(token, data): answers the request the context holds, then it receives again.
 *
 * While a batch of completions is being delivered (call_js), the first reply goes out at once
 * and the later ones are held (PH_FLUSH) and sent back to back when the batch is done: nng then
 * hands them to its task threads in one burst instead of spread between the handlers' work,
 * which measured 10-15 % less server CPU per request with 64 in flight
 * (docs/benchmarks-nng.md). A lone request's reply is never held.
 *
 * The reply goes on a callback-less aio, like a request's send: when the pipe is free, nng
 * hands the message to it and completes the aio right here, with no completion dispatched to
 * its task threads (one thread wake-up less per request), and the context receives again at
 * once. When the pipe is still busy with an earlier reply, nng queues this one with the aio;
 * the context must not send again until it has left, so the op is parked and a fresh context
 * takes its place; parked ops are reaped (back to the free list) on later replies, once nng has
 * taken their message (it clears the aio's message before completing it, so the wait in
 * reap is bounded: no I/O in between).
 */
napi_value sock_reply(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  sock_t *sock = get_sock(env, info, &argc, argv, false);
  if (sock == NULL) return NULL;
  if (!sock->open) return undefined(env); /* the context's ECLOSED completion is on its way */
  op_t *op = serving_op(env, sock, argv[0]);
  if (op == NULL) return throw_type(env, "no request pending on that token");
  nng_msg *msg;
  int rv = value_to_msg(env, argv[1], &msg);
  if (rv == 0 && op->saio == NULL) {
    rv = nng_aio_alloc(&op->saio, NULL, NULL);
    if (rv != 0) {
      op->saio = NULL;
      nng_msg_free(msg);
    }
  }
  if (rv != 0) return rv == NNG_EINVAL ? throw_type(env, "bytes or string expected") : throw_nng(env, rv, "reply");
  addon_t *a = sock->addon;
  if (a->in_batch && a->batch_replies++ > 0) {
    /* Delivering a batch: replies go out together once it is done (addon_flush_replies). */
    op->phase = PH_FLUSH;
    op->reply_msg = msg;
    a->held_replies++;
    op->next_flush = NULL;
    if (a->flush_tail != NULL) a->flush_tail->next_flush = op;
    else a->flush_head = op;
    a->flush_tail = op;
    return undefined(env);
  }
  send_reply(env, sock, op, msg);
  return undefined(env);
}

/* Sends the replies held in this batch. JS thread: after the batch, or from close() in it (so
 * that a socket's held replies reach nng before it closes, like a reply made outside a batch;
 * other sockets' go out early, which is harmless). A socket collected meanwhile drops them. */
void addon_flush_replies(napi_env env, addon_t *a) {
  op_t *op = a->flush_head;
  a->flush_head = a->flush_tail = NULL;
  while (op != NULL) {
    op_t *next = op->next_flush;
    nng_msg *msg = op->reply_msg;
    op->reply_msg = NULL;
    op->next_flush = NULL;
    if (!op->sock->open) {
      nng_msg_free(msg);
      op_release(op);
    } else {
      send_reply(env, op->sock, op, msg);
    }
    op = next;
  }
}

/* drop(token): drops the request without an answer and receives the next one. */
napi_value sock_drop(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  sock_t *sock = get_sock(env, info, &argc, argv, false);
  if (sock == NULL) return NULL;
  if (!sock->open) return undefined(env);
  op_t *op = serving_op(env, sock, argv[0]);
  if (op == NULL) return throw_type(env, "no request pending on that token");
  op->phase = PH_RECV;
  IN_SCOPE(nng_ctx_recv(op->ctx, op->aio));
  return undefined(env);
}

/* cancel(token): the operation completes with NNG_ECANCELED (or its result, if it won). */
napi_value sock_cancel(napi_env env, napi_callback_info info) {
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
  nng_aio_cancel(op->aio);
  return undefined(env);
}

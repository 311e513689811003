/*
 * The floor of the nng benchmark: the same REQ/REP exchange written directly on libnng.
 *
 *   floor server <url>                        echo server, 64 contexts (aio state machines)
 *   floor client <url> <size> <n> <inflight>  n round trips of <size> bytes; prints
 *                                             "<seconds> <round trips>"
 *
 * inflight 1 uses the blocking socket API (nng_sendmsg/nng_recvmsg), the simplest and fastest
 * way to do one round trip at a time; inflight > 1 uses one context per request in flight.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <nng/nng.h>
#include <nng/protocol/reqrep0/rep.h>
#include <nng/protocol/reqrep0/req.h>
#include <nng/supplemental/util/platform.h>

#define SERVER_CONTEXTS 64

static void die(const char *what, int rv) {
  fprintf(stderr, "floor: %s: %s\n", what, nng_strerror(rv));
  exit(1);
}

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- server: each context receives, then sends the same message back, then receives again */

struct server_ctx {
  nng_aio *aio;
  nng_ctx ctx;
  int sending;
};

static void server_cb(void *arg) {
  struct server_ctx *c = arg;
  int rv = nng_aio_result(c->aio);
  if (rv == NNG_ECLOSED) return;
  if (c->sending) {
    if (rv != 0) nng_msg_free(nng_aio_get_msg(c->aio));
    c->sending = 0;
    nng_ctx_recv(c->ctx, c->aio);
    return;
  }
  if (rv != 0) {
    nng_ctx_recv(c->ctx, c->aio);
    return;
  }
  c->sending = 1;
  nng_ctx_send(c->ctx, c->aio); /* the received message is sent back as it is */
}

static int serve(const char *url) {
  nng_socket s;
  int rv;
  if ((rv = nng_rep0_open(&s)) != 0) die("rep0_open", rv);
  if ((rv = nng_listen(s, url, NULL, 0)) != 0) die("listen", rv);
  static struct server_ctx ctxs[SERVER_CONTEXTS];
  for (int i = 0; i < SERVER_CONTEXTS; i++) {
    if ((rv = nng_aio_alloc(&ctxs[i].aio, server_cb, &ctxs[i])) != 0) die("aio_alloc", rv);
    if ((rv = nng_ctx_open(&ctxs[i].ctx, s)) != 0) die("ctx_open", rv);
    nng_ctx_recv(ctxs[i].ctx, ctxs[i].aio);
  }
  printf("ready\n");
  fflush(stdout);
  for (;;) nng_msleep(1000000); /* killed by the bench */
}

/* ---- client */

struct client_state {
  nng_mtx *mtx;
  nng_cv *cv;
  int remaining; /* requests still to start */
  int outstanding;
  size_t size;
};

struct client_ctx {
  nng_aio *aio;
  nng_ctx ctx;
  int receiving;
  struct client_state *st;
};

static void start_request(struct client_ctx *c) {
  nng_msg *m;
  nng_msg_alloc(&m, c->st->size);
  memset(nng_msg_body(m), 'x', c->st->size);
  nng_aio_set_msg(c->aio, m);
  c->receiving = 0;
  nng_ctx_send(c->ctx, c->aio);
}

static void client_cb(void *arg) {
  struct client_ctx *c = arg;
  struct client_state *st = c->st;
  int rv = nng_aio_result(c->aio);
  if (rv != 0) die(c->receiving ? "ctx recv" : "ctx send", rv);
  if (!c->receiving) {
    c->receiving = 1;
    nng_ctx_recv(c->ctx, c->aio);
    return;
  }
  nng_msg_free(nng_aio_get_msg(c->aio));
  nng_mtx_lock(st->mtx);
  int again = st->remaining > 0;
  if (again) st->remaining--;
  else if (--st->outstanding == 0) nng_cv_wake(st->cv);
  nng_mtx_unlock(st->mtx);
  if (again) start_request(c);
}

static int client(const char *url, size_t size, int n, int inflight) {
  nng_socket s;
  int rv;
  if ((rv = nng_req0_open(&s)) != 0) die("req0_open", rv);
  if ((rv = nng_dial(s, url, NULL, 0)) != 0) die("dial", rv);
  double t0, t1;
  if (inflight <= 1) {
    nng_msg *m;
    t0 = now();
    for (int i = 0; i < n; i++) {
      nng_msg_alloc(&m, size);
      memset(nng_msg_body(m), 'x', size);
      if ((rv = nng_sendmsg(s, m, 0)) != 0) die("sendmsg", rv);
      if ((rv = nng_recvmsg(s, &m, 0)) != 0) die("recvmsg", rv);
      nng_msg_free(m);
    }
    t1 = now();
  } else {
    struct client_state st = {.remaining = n - inflight, .outstanding = inflight, .size = size};
    nng_mtx_alloc(&st.mtx);
    nng_cv_alloc(&st.cv, st.mtx);
    struct client_ctx *cs = calloc((size_t)inflight, sizeof *cs);
    for (int i = 0; i < inflight; i++) {
      cs[i].st = &st;
      if ((rv = nng_aio_alloc(&cs[i].aio, client_cb, &cs[i])) != 0) die("aio_alloc", rv);
      if ((rv = nng_ctx_open(&cs[i].ctx, s)) != 0) die("ctx_open", rv);
    }
    t0 = now();
    for (int i = 0; i < inflight; i++) start_request(&cs[i]);
    nng_mtx_lock(st.mtx);
    while (st.outstanding > 0) nng_cv_wait(st.cv);
    nng_mtx_unlock(st.mtx);
    t1 = now();
  }
  printf("%.6f %d\n", t1 - t0, n);
  nng_close(s);
  return 0;
}

int main(int argc, char **argv) {
  if (argc >= 3 && strcmp(argv[1], "server") == 0) return serve(argv[2]);
  if (argc >= 6 && strcmp(argv[1], "client") == 0) {
    return client(argv[2], (size_t)atol(argv[3]), atoi(argv[4]), atoi(argv[5]));
  }
  fprintf(stderr, "usage: floor server <url> | floor client <url> <size> <n> <inflight>\n");
  return 2;
}

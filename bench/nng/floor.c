/*
 * The floor of the nng benchmark: the same REQ/REP exchange written directly on libnng.
 *
 *   floor server <url>                        echo server, 64 contexts (aio state machines)
 *   floor client <url> <size> <n> <inflight>  n round trips of <size> bytes; prints
 *                                             "<seconds> <round trips>"
 *
 * inflight 1 uses the blocking socket API (nng_sendmsg/nng_recvmsg), the simplest and fastest
 * way to do one round trip at a time; inflight > 1 uses one context per request in flight.
 *
 *   floor server-hop <url>                          the echo server, but each request is answered
 *                                                   by an event-loop thread
 *   floor client <url> <size> <n> <inflight> hop   every reply is handled, and the next request
 *                                                   sent, by an event-loop thread
 *
 * The "hop" variants are the same exchange with the one thing any binding to an event-loop
 * runtime (Node's JS thread) must add: nng's callback hands the completion to a loop thread
 * (a queue and an eventfd that the loop waits on with epoll, as libuv does), and that thread
 * sends. No JavaScript, no Node-API: what remains of our overhead beyond this is ours.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <pthread.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <nng/nng.h>
#include <nng/protocol/reqrep0/rep.h>
#include <nng/protocol/reqrep0/req.h>
#include <nng/supplemental/util/platform.h>

#define SERVER_CONTEXTS 64

/* Completion scopes of our libnng (native/nng/libnng.mjs), as the addon uses them on the JS
 * thread: the loop thread of the "hop" variants makes its nng calls in one, so a write or read
 * they finish completes on that thread, not on an nng task thread. */
#include <nng/openclaw_scopes.h>

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


/* ---- the event loop of the "hop" variants: a queue, an eventfd doorbell rung when the queue
 * goes from empty to not empty, and a thread that waits on it with epoll and drains the queue */

struct item {
  struct item *next;
};

struct loop {
  int efd, ep;
  pthread_mutex_t mu;
  struct item *head, *tail;
};

static void loop_init(struct loop *l) {
  l->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  l->ep = epoll_create1(EPOLL_CLOEXEC);
  struct epoll_event ev = {.events = EPOLLIN, .data.fd = l->efd};
  if (l->efd < 0 || l->ep < 0 || epoll_ctl(l->ep, EPOLL_CTL_ADD, l->efd, &ev) != 0) {
    perror("floor: loop");
    exit(1);
  }
  pthread_mutex_init(&l->mu, NULL);
  l->head = l->tail = NULL;
}

/* Any thread: queue `it` for the loop. */
static void loop_post(struct loop *l, struct item *it) {
  it->next = NULL;
  pthread_mutex_lock(&l->mu);
  int ring = l->head == NULL;
  if (l->tail != NULL) l->tail->next = it;
  else l->head = it;
  l->tail = it;
  pthread_mutex_unlock(&l->mu);
  if (ring) {
    uint64_t one = 1;
    if (write(l->efd, &one, sizeof one) < 0) perror("floor: eventfd write");
  }
}

/* The loop thread: waits for the doorbell, then takes every queued item, oldest first. */
static struct item *loop_wait(struct loop *l) {
  for (;;) {
    struct epoll_event ev;
    int n = epoll_wait(l->ep, &ev, 1, -1);
    if (n <= 0) continue;
    uint64_t v;
    if (read(l->efd, &v, sizeof v) < 0) continue;
    pthread_mutex_lock(&l->mu);
    struct item *list = l->head;
    l->head = l->tail = NULL;
    pthread_mutex_unlock(&l->mu);
    if (list != NULL) return list;
  }
}

/* ---- server-hop: the context's receive callback posts it to the loop, which replies */

struct hop_server_ctx {
  struct item it; /* first */
  nng_aio *raio;  /* receive: posts to the loop */
  nng_aio *saio;  /* reply: its callback receives again */
  nng_ctx ctx;
};

static struct loop server_loop;

static void hop_server_recv_cb(void *arg) {
  struct hop_server_ctx *c = arg;
  int rv = nng_aio_result(c->raio);
  if (rv == NNG_ECLOSED) return;
  if (rv != 0) {
    nng_ctx_recv(c->ctx, c->raio);
    return;
  }
  loop_post(&server_loop, &c->it);
}

static void hop_server_send_cb(void *arg) {
  struct hop_server_ctx *c = arg;
  int rv = nng_aio_result(c->saio);
  if (rv == NNG_ECLOSED) return;
  if (rv != 0) nng_msg_free(nng_aio_get_msg(c->saio));
  nng_ctx_recv(c->ctx, c->raio);
}

static int serve_hop(const char *url) {
  nng_socket s;
  int rv;
  loop_init(&server_loop);
  if ((rv = nng_rep0_open(&s)) != 0) die("rep0_open", rv);
  if ((rv = nng_listen(s, url, NULL, 0)) != 0) die("listen", rv);
  static struct hop_server_ctx ctxs[SERVER_CONTEXTS];
  for (int i = 0; i < SERVER_CONTEXTS; i++) {
    if ((rv = nng_aio_alloc(&ctxs[i].raio, hop_server_recv_cb, &ctxs[i])) != 0) die("aio_alloc", rv);
    if ((rv = nng_aio_alloc(&ctxs[i].saio, hop_server_send_cb, &ctxs[i])) != 0) die("aio_alloc", rv);
    if ((rv = nng_ctx_open(&ctxs[i].ctx, s)) != 0) die("ctx_open", rv);
    nng_ctx_recv(ctxs[i].ctx, ctxs[i].raio);
  }
  printf("ready\n");
  fflush(stdout);
  for (;;) {
    struct item *list = loop_wait(&server_loop);
    while (list != NULL) {
      struct hop_server_ctx *c = (struct hop_server_ctx *)list;
      list = list->next;
      nng_aio_set_msg(c->saio, nng_aio_get_msg(c->raio)); /* echo */
      nni_oc_enter();
      nng_ctx_send(c->ctx, c->saio);
      nni_oc_leave();
    }
  }
}

/* ---- client hop: the reply's callback posts the context to the loop, which starts the next
 * request on it. The request goes on a callback-less aio (it completes where it is sent). */

struct hop_client_ctx {
  struct item it; /* first */
  nng_aio *raio;
  nng_aio *saio;
  nng_ctx ctx;
};

static struct loop client_loop;

static void hop_client_recv_cb(void *arg) {
  struct hop_client_ctx *c = arg;
  int rv = nng_aio_result(c->raio);
  if (rv != 0) die("ctx recv", rv);
  loop_post(&client_loop, &c->it);
}

static void hop_start(struct hop_client_ctx *c, size_t size) {
  nng_msg *m;
  nng_msg_alloc(&m, size);
  memset(nng_msg_body(m), 'x', size);
  nng_aio_set_msg(c->saio, m);
  nni_oc_enter();
  nng_ctx_send(c->ctx, c->saio);
  nng_ctx_recv(c->ctx, c->raio);
  nni_oc_leave();
}

static void client_hop(nng_socket s, size_t size, int n, int inflight, double *t0, double *t1) {
  int rv;
  loop_init(&client_loop);
  struct hop_client_ctx *cs = calloc((size_t)inflight, sizeof *cs);
  for (int i = 0; i < inflight; i++) {
    if ((rv = nng_aio_alloc(&cs[i].raio, hop_client_recv_cb, &cs[i])) != 0) die("aio_alloc", rv);
    if ((rv = nng_aio_alloc(&cs[i].saio, NULL, NULL)) != 0) die("aio_alloc", rv);
    if ((rv = nng_ctx_open(&cs[i].ctx, s)) != 0) die("ctx_open", rv);
  }
  int started = 0, done = 0;
  *t0 = now();
  for (int i = 0; i < inflight && started < n; i++, started++) hop_start(&cs[i], size);
  while (done < n) {
    struct item *list = loop_wait(&client_loop);
    while (list != NULL) {
      struct hop_client_ctx *c = (struct hop_client_ctx *)list;
      list = list->next;
      nng_aio_wait(c->saio); /* the reply proves the request left: no wait in practice */
      nng_msg_free(nng_aio_get_msg(c->raio));
      done++;
      if (started < n) {
        started++;
        hop_start(c, size);
      }
    }
  }
  *t1 = now();
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

static int client(const char *url, size_t size, int n, int inflight, int hop) {
  nng_socket s;
  int rv;
  if ((rv = nng_req0_open(&s)) != 0) die("req0_open", rv);
  if ((rv = nng_dial(s, url, NULL, 0)) != 0) die("dial", rv);
  double t0, t1;
  if (hop) {
    client_hop(s, size, n, inflight, &t0, &t1);
  } else if (inflight <= 1) {
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
  if (argc >= 3 && strcmp(argv[1], "server-hop") == 0) return serve_hop(argv[2]);
  if (argc >= 6 && strcmp(argv[1], "client") == 0) {
    int hop = argc >= 7 && strcmp(argv[6], "hop") == 0;
    return client(argv[2], (size_t)atol(argv[3]), atoi(argv[4]), atoi(argv[5]), hop);
  }
  fprintf(stderr, "usage: floor server|server-hop <url> | floor client <url> <size> <n> <inflight> [hop]\n");
  return 2;
}

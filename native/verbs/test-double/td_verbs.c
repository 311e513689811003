/* TEST DOUBLE of libibverbs (see verbs_test_double.h): device, PD, MR table, CQ, posting. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/uio.h>
#include <unistd.h>

#include "verbs_test_double.h"

pthread_mutex_t td_lock = PTHREAD_MUTEX_INITIALIZER;

static int td_poll_cq(struct ibv_cq *cq, int n, struct ibv_wc *wc);
static int td_req_notify_cq(struct ibv_cq *cq, int solicited_only);
static int td_post_send(struct ibv_qp *qp, struct ibv_send_wr *wr, struct ibv_send_wr **bad);

static struct ibv_device td_device = {.node_type = IBV_NODE_CA, .transport_type = IBV_TRANSPORT_IB,
                                      .name = "test-double0", .dev_name = "test-double-uverbs0"};
struct ibv_context td_context = {.device = &td_device, .cmd_fd = -1, .async_fd = -1, .num_comp_vectors = 1};

__attribute__((constructor)) static void td_init(void) {
  td_context.ops.poll_cq = td_poll_cq;
  td_context.ops.req_notify_cq = td_req_notify_cq;
  td_context.ops.post_send = td_post_send;
  /* The peer's responder thread writes into this process with process_vm_writev: allow it
   * where Yama restricts ptrace to descendants (harmless elsewhere). */
  prctl(PR_SET_PTRACER, PR_SET_PTRACER_ANY, 0, 0, 0);
}

TD_EXPORT struct ibv_device **ibv_get_device_list(int *num) {
  struct ibv_device **list = calloc(2, sizeof *list);
  if (list == NULL) return NULL;
  list[0] = &td_device;
  if (num != NULL) *num = 1;
  return list;
}

TD_EXPORT void ibv_free_device_list(struct ibv_device **list) { free(list); }
TD_EXPORT const char *ibv_get_device_name(struct ibv_device *d) { return d->name; }

TD_EXPORT struct ibv_pd *ibv_alloc_pd(struct ibv_context *ctx) {
  struct ibv_pd *pd = calloc(1, sizeof *pd);
  if (pd != NULL) pd->context = ctx;
  return pd;
}

TD_EXPORT int ibv_dealloc_pd(struct ibv_pd *pd) {
  free(pd);
  return 0;
}

/* ------------------------------------------------------------------ MR table */

typedef struct td_mr {
  struct ibv_mr pub;
  int access;
  struct td_mr *next;
} td_mr;

static pthread_rwlock_t mr_lock = PTHREAD_RWLOCK_INITIALIZER;
static td_mr *mrs;

static td_mr *mr_by_key(uint32_t key, int remote) {
  for (td_mr *m = mrs; m != NULL; m = m->next)
    if ((remote ? m->pub.rkey : m->pub.lkey) == key) return m;
  return NULL;
}

static int inside(const td_mr *m, uint64_t addr, uint64_t len) {
  uint64_t base = (uint64_t)(uintptr_t)m->pub.addr;
  return addr >= base && len <= m->pub.length && addr - base <= m->pub.length - len;
}

/* Parenthesised: ibv_reg_mr is a function-like macro in <infiniband/verbs.h>. */
TD_EXPORT struct ibv_mr *(ibv_reg_mr)(struct ibv_pd *pd, void *addr, size_t length, int access) {
  if (length == 0 || ((access & (IBV_ACCESS_REMOTE_WRITE | IBV_ACCESS_REMOTE_ATOMIC)) && !(access & IBV_ACCESS_LOCAL_WRITE))) {
    errno = EINVAL; /* the verbs rule: remote write needs local write */
    return NULL;
  }
  td_mr *m = calloc(1, sizeof *m);
  if (m == NULL) return NULL;
  m->pub.context = pd->context;
  m->pub.pd = pd;
  m->pub.addr = addr;
  m->pub.length = length;
  m->access = access;
  pthread_rwlock_wrlock(&mr_lock);
  do { /* random, unique, non-zero keys: a guessed key is as wrong as on a NIC */
    uint32_t k = 0;
    if (getrandom(&k, sizeof k, 0) != sizeof k) k = (uint32_t)rand();
    m->pub.lkey = m->pub.rkey = k;
  } while (m->pub.rkey == 0 || mr_by_key(m->pub.rkey, 1) != NULL);
  m->pub.handle = m->pub.rkey;
  m->next = mrs;
  mrs = m;
  pthread_rwlock_unlock(&mr_lock);
  return &m->pub;
}

/* Waits for copies in progress (they hold the read lock), as dereg waits for a NIC's DMA. */
TD_EXPORT int ibv_dereg_mr(struct ibv_mr *mr) {
  pthread_rwlock_wrlock(&mr_lock);
  for (td_mr **pp = &mrs; *pp != NULL; pp = &(*pp)->next) {
    if (&(*pp)->pub == mr) {
      td_mr *m = *pp;
      *pp = m->next;
      free(m);
      break;
    }
  }
  pthread_rwlock_unlock(&mr_lock);
  return 0;
}

/* Moves all `len` bytes, looping over partial transfers. */
static int vm_copy(pid_t pid, int to_peer, void *mine, uint64_t theirs, size_t len) {
  size_t done = 0;
  while (done < len) {
    struct iovec l = {(char *)mine + done, len - done};
    struct iovec r = {(void *)(uintptr_t)(theirs + done), len - done};
    ssize_t n = to_peer ? process_vm_writev(pid, &l, 1, &r, 1, 0) : process_vm_readv(pid, &l, 1, &r, 1, 0);
    if (n <= 0) return -1;
    done += (size_t)n;
  }
  return 0;
}

enum ibv_wc_status td_serve_request(const td_msg *m, pid_t pid) {
  int want = m->type == TD_REQ_READ ? IBV_ACCESS_REMOTE_READ : IBV_ACCESS_REMOTE_WRITE;
  enum ibv_wc_status st = IBV_WC_SUCCESS;
  pthread_rwlock_rdlock(&mr_lock);
  td_mr *mr = mr_by_key(m->rkey, 1);
  if (mr == NULL || !(mr->access & want) || !inside(mr, m->remote_addr, m->length)) st = IBV_WC_REM_ACCESS_ERR;
  else if (vm_copy(pid, m->type == TD_REQ_READ, (void *)(uintptr_t)m->remote_addr, m->local_addr, m->length) != 0)
    st = IBV_WC_REM_OP_ERR; /* the initiator's memory could not be reached (EPERM, ESRCH, EFAULT) */
  pthread_rwlock_unlock(&mr_lock);
  return st;
}

/* ------------------------------------------------------------------ completion channel, CQ */

TD_EXPORT struct ibv_comp_channel *ibv_create_comp_channel(struct ibv_context *ctx) {
  struct ibv_comp_channel *ch = calloc(1, sizeof *ch);
  int fds[2];
  if (ch == NULL || pipe2(fds, O_CLOEXEC) != 0) {
    free(ch);
    return NULL;
  }
  ch->context = ctx;
  ch->fd = fds[0];
  ch->refcnt = fds[1]; /* the double keeps the pipe's write end here */
  return ch;
}

TD_EXPORT int ibv_destroy_comp_channel(struct ibv_comp_channel *ch) {
  close(ch->fd);
  close(ch->refcnt);
  free(ch);
  return 0;
}

TD_EXPORT struct ibv_cq *ibv_create_cq(struct ibv_context *ctx, int cqe, void *cq_context,
                                       struct ibv_comp_channel *channel, int comp_vector) {
  td_cq *cq = calloc(1, sizeof *cq);
  if (cq == NULL) return NULL;
  cq->cap = cqe < 16 ? 16 : cqe;
  cq->ring = calloc((size_t)cq->cap, sizeof *cq->ring);
  if (cq->ring == NULL) {
    free(cq);
    return NULL;
  }
  pthread_mutex_init(&cq->mu, NULL);
  cq->pub.context = ctx;
  cq->pub.channel = channel;
  cq->pub.cq_context = cq_context;
  cq->pub.cqe = cq->cap;
  cq->notify_fd = channel != NULL ? channel->refcnt : -1;
  return &cq->pub;
}

TD_EXPORT int ibv_destroy_cq(struct ibv_cq *pub) {
  td_cq *cq = (td_cq *)pub;
  pthread_mutex_destroy(&cq->mu);
  free(cq->ring);
  free(cq);
  return 0;
}

TD_EXPORT int ibv_get_cq_event(struct ibv_comp_channel *ch, struct ibv_cq **cq, void **cq_context) {
  struct ibv_cq *got = NULL;
  ssize_t n = read(ch->fd, &got, sizeof got);
  if (n != (ssize_t)sizeof got) return -1; /* EAGAIN on the non-blocking fd */
  *cq = got;
  *cq_context = got->cq_context;
  return 0;
}

TD_EXPORT void ibv_ack_cq_events(struct ibv_cq *cq, unsigned int nevents) {}

void td_cq_push(td_cq *cq, const struct ibv_wc *wc) {
  pthread_mutex_lock(&cq->mu);
  if (cq->count == cq->cap) {
    fprintf(stderr, "verbs test double: CQ overrun (%d entries)\n", cq->cap);
  } else {
    cq->ring[(cq->head + cq->count) % cq->cap] = *wc;
    cq->count++;
  }
  if (cq->armed && cq->notify_fd >= 0) {
    cq->armed = 0;
    struct ibv_cq *p = &cq->pub;
    if (write(cq->notify_fd, &p, sizeof p) != (ssize_t)sizeof p) fprintf(stderr, "verbs test double: notify lost\n");
  }
  pthread_mutex_unlock(&cq->mu);
}

static int td_poll_cq(struct ibv_cq *pub, int n, struct ibv_wc *wc) {
  td_cq *cq = (td_cq *)pub;
  int got = 0;
  pthread_mutex_lock(&cq->mu);
  while (got < n && cq->count > 0) {
    wc[got++] = cq->ring[cq->head];
    cq->head = (cq->head + 1) % cq->cap;
    cq->count--;
  }
  pthread_mutex_unlock(&cq->mu);
  return got;
}

/* Like the hardware: the next completion after arming raises one event. */
static int td_req_notify_cq(struct ibv_cq *pub, int solicited_only) {
  td_cq *cq = (td_cq *)pub;
  pthread_mutex_lock(&cq->mu);
  cq->armed = 1;
  pthread_mutex_unlock(&cq->mu);
  return 0;
}

/* ------------------------------------------------------------------ QP completions, posting */

static void push_wc(td_qp *qp, uint64_t wr_id, enum ibv_wc_opcode opcode, uint32_t len, enum ibv_wc_status st) {
  struct ibv_wc wc;
  memset(&wc, 0, sizeof wc);
  wc.wr_id = wr_id;
  wc.status = st;
  wc.opcode = opcode;
  wc.byte_len = st == IBV_WC_SUCCESS ? len : 0;
  wc.qp_num = qp->pub.qp_num;
  td_cq_push((td_cq *)qp->pub.send_cq, &wc);
}

void td_qp_complete(td_qp *qp, uint64_t wr_id, enum ibv_wc_status status) {
  for (td_outstanding **pp = &qp->outstanding; *pp != NULL; pp = &(*pp)->next) {
    td_outstanding *o = *pp;
    if (o->wr_id != wr_id) continue;
    *pp = o->next;
    qp->n_outstanding--;
    if (status != IBV_WC_SUCCESS) qp->error = 1; /* RC: an error completion moves the QP to ERR */
    if (o->signaled || status != IBV_WC_SUCCESS) push_wc(qp, o->wr_id, o->opcode, o->length, status);
    free(o);
    break;
  }
  if (qp->n_outstanding == 0) pthread_cond_broadcast(&qp->drained);
}

void td_qp_flush(td_qp *qp) {
  qp->error = 1;
  while (qp->outstanding != NULL) td_qp_complete(qp, qp->outstanding->wr_id, IBV_WC_WR_FLUSH_ERR);
  pthread_cond_broadcast(&qp->drained);
}

static int local_ok(const struct ibv_send_wr *wr) {
  if (wr->num_sge != 1) return 0;
  pthread_rwlock_rdlock(&mr_lock);
  td_mr *m = mr_by_key(wr->sg_list[0].lkey, 0);
  int ok = m != NULL && inside(m, wr->sg_list[0].addr, wr->sg_list[0].length) &&
           (wr->opcode != IBV_WR_RDMA_READ || (m->access & IBV_ACCESS_LOCAL_WRITE));
  pthread_rwlock_unlock(&mr_lock);
  return ok;
}

static int td_post_send(struct ibv_qp *pub, struct ibv_send_wr *wr, struct ibv_send_wr **bad) {
  td_qp *qp = (td_qp *)pub;
  for (; wr != NULL; wr = wr->next) {
    if (wr->opcode != IBV_WR_RDMA_READ && wr->opcode != IBV_WR_RDMA_WRITE) goto invalid;
    pthread_mutex_lock(&td_lock);
    td_id *id = qp->id;
    if (id == NULL || !id->established) {
      pthread_mutex_unlock(&td_lock);
      goto invalid;
    }
    if (qp->n_outstanding >= qp->max_send_wr) {
      pthread_mutex_unlock(&td_lock);
      *bad = wr;
      return ENOMEM;
    }
    td_outstanding *o = calloc(1, sizeof *o);
    if (o == NULL) {
      pthread_mutex_unlock(&td_lock);
      *bad = wr;
      return ENOMEM;
    }
    o->wr_id = wr->wr_id;
    o->opcode = wr->opcode == IBV_WR_RDMA_READ ? IBV_WC_RDMA_READ : IBV_WC_RDMA_WRITE;
    o->length = wr->num_sge == 1 ? wr->sg_list[0].length : 0;
    o->signaled = (wr->send_flags & IBV_SEND_SIGNALED) || qp->pub.qp_type != IBV_QPT_RC;
    o->next = qp->outstanding;
    qp->outstanding = o;
    qp->n_outstanding++;
    enum ibv_wc_status local = IBV_WC_SUCCESS;
    if (qp->error || id->disconnected) local = IBV_WC_WR_FLUSH_ERR;
    else if (!local_ok(wr)) local = IBV_WC_LOC_PROT_ERR;
    else if (wr->opcode == IBV_WR_RDMA_READ && (id->initiator_depth == 0 || id->peer_responder_resources == 0))
      local = IBV_WC_REM_INV_REQ_ERR; /* no READ credits were negotiated */
    if (local != IBV_WC_SUCCESS) {
      td_qp_complete(qp, o->wr_id, local);
      pthread_mutex_unlock(&td_lock);
      continue;
    }
    td_msg m;
    memset(&m, 0, sizeof m);
    m.type = wr->opcode == IBV_WR_RDMA_READ ? TD_REQ_READ : TD_REQ_WRITE;
    m.wr_id = wr->wr_id;
    m.remote_addr = wr->wr.rdma.remote_addr;
    m.rkey = wr->wr.rdma.rkey;
    m.local_addr = wr->sg_list[0].addr;
    m.length = wr->sg_list[0].length;
    pthread_mutex_unlock(&td_lock);
    if (td_send(id, &m) != 0) { /* the fabric is gone: the reader thread flushes */
    }
  }
  return 0;
invalid:
  *bad = wr;
  return EINVAL;
}

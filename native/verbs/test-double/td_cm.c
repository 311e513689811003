/* TEST DOUBLE of librdmacm (see verbs_test_double.h): ids, event channels, the TCP "fabric"
 * and the per-connection "NIC" thread. */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "verbs_test_double.h"

static uint32_t next_qp_num = 0x100;

/* ------------------------------------------------------------------ event channels */

TD_EXPORT struct rdma_event_channel *rdma_create_event_channel(void) {
  td_channel *ch = calloc(1, sizeof *ch);
  int fds[2];
  if (ch == NULL || pipe2(fds, O_CLOEXEC) != 0) {
    free(ch);
    return NULL;
  }
  ch->pub.fd = fds[0];
  ch->wfd = fds[1];
  return &ch->pub;
}

TD_EXPORT void rdma_destroy_event_channel(struct rdma_event_channel *pub) {
  td_channel *ch = (td_channel *)pub;
  pthread_mutex_lock(&td_lock);
  while (ch->head != NULL) {
    td_event *e = ch->head;
    ch->head = e->next;
    free(e);
  }
  pthread_mutex_unlock(&td_lock);
  close(ch->pub.fd);
  close(ch->wfd);
  free(ch);
}

void td_push_event(td_id *id, enum rdma_cm_event_type type, int status, td_id *listen_id) {
  td_channel *ch = (td_channel *)id->pub.channel;
  td_event *e = calloc(1, sizeof *e);
  if (e == NULL || ch == NULL) {
    free(e);
    return;
  }
  e->pub.id = &id->pub;
  e->pub.listen_id = listen_id != NULL ? &listen_id->pub : NULL;
  e->pub.event = type;
  e->pub.status = status;
  if (type == RDMA_CM_EVENT_CONNECT_REQUEST) {
    memcpy(e->private_data, id->private_data, id->private_len);
    e->pub.param.conn.private_data = e->private_data;
    e->pub.param.conn.private_data_len = id->private_len;
    e->pub.param.conn.initiator_depth = id->peer_initiator_depth;
    e->pub.param.conn.responder_resources = id->peer_responder_resources;
  }
  if (ch->tail != NULL) ch->tail->next = e;
  else ch->head = e;
  ch->tail = e;
  char b = 'e';
  if (write(ch->wfd, &b, 1) != 1) fprintf(stderr, "verbs test double: cm event notify lost\n");
}

TD_EXPORT int rdma_get_cm_event(struct rdma_event_channel *pub, struct rdma_cm_event **event) {
  td_channel *ch = (td_channel *)pub;
  char b;
  if (read(ch->pub.fd, &b, 1) != 1) return -1; /* EAGAIN on the non-blocking fd */
  pthread_mutex_lock(&td_lock);
  td_event *e = ch->head;
  if (e != NULL) {
    ch->head = e->next;
    if (ch->head == NULL) ch->tail = NULL;
  }
  pthread_mutex_unlock(&td_lock);
  if (e == NULL) {
    errno = EAGAIN;
    return -1;
  }
  *event = &e->pub;
  return 0;
}

TD_EXPORT int rdma_ack_cm_event(struct rdma_cm_event *event) {
  free(event); /* pub is the first member of td_event */
  return 0;
}

TD_EXPORT const char *rdma_event_str(enum rdma_cm_event_type t) {
  static const char *names[] = {"RDMA_CM_EVENT_ADDR_RESOLVED", "RDMA_CM_EVENT_ADDR_ERROR",
                                "RDMA_CM_EVENT_ROUTE_RESOLVED", "RDMA_CM_EVENT_ROUTE_ERROR",
                                "RDMA_CM_EVENT_CONNECT_REQUEST", "RDMA_CM_EVENT_CONNECT_RESPONSE",
                                "RDMA_CM_EVENT_CONNECT_ERROR", "RDMA_CM_EVENT_UNREACHABLE",
                                "RDMA_CM_EVENT_REJECTED", "RDMA_CM_EVENT_ESTABLISHED",
                                "RDMA_CM_EVENT_DISCONNECTED", "RDMA_CM_EVENT_DEVICE_REMOVAL"};
  return (unsigned)t < sizeof names / sizeof names[0] ? names[t] : "RDMA_CM_EVENT_OTHER";
}

TD_EXPORT struct ibv_context **rdma_get_devices(int *num) {
  static struct ibv_context *list[2] = {&td_context, NULL};
  if (num != NULL) *num = 1;
  return list;
}

TD_EXPORT void rdma_free_devices(struct ibv_context **list) {}

/* ------------------------------------------------------------------ ids */

TD_EXPORT int rdma_create_id(struct rdma_event_channel *ch, struct rdma_cm_id **out, void *context,
                             enum rdma_port_space ps) {
  td_id *id = calloc(1, sizeof *id);
  if (id == NULL) return -1;
  id->pub.channel = ch;
  id->pub.context = context;
  id->pub.ps = ps;
  id->pub.qp_type = IBV_QPT_RC;
  id->sock = -1;
  pthread_mutex_init(&id->wmu, NULL);
  *out = &id->pub;
  return 0;
}

TD_EXPORT int rdma_migrate_id(struct rdma_cm_id *pub, struct rdma_event_channel *ch) {
  pthread_mutex_lock(&td_lock);
  pub->channel = ch;
  pthread_mutex_unlock(&td_lock);
  return 0;
}

TD_EXPORT int rdma_destroy_id(struct rdma_cm_id *pub) {
  td_id *id = (td_id *)pub;
  pthread_mutex_lock(&td_lock);
  id->disconnected = 1;
  id->pub.channel = NULL; /* the thread queues nothing more */
  if (id->sock >= 0) shutdown(id->sock, SHUT_RDWR); /* wakes the thread's accept/read */
  pthread_mutex_unlock(&td_lock);
  if (id->has_thread) pthread_join(id->thread, NULL);
  if (id->sock >= 0) close(id->sock);
  pthread_mutex_destroy(&id->wmu);
  free(id);
  return 0;
}

TD_EXPORT int rdma_resolve_addr(struct rdma_cm_id *pub, struct sockaddr *src, struct sockaddr *dst, int timeout_ms) {
  td_id *id = (td_id *)pub;
  size_t len = dst->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
  memcpy(&id->dst, dst, len);
  memcpy(&id->pub.route.addr.dst_storage, dst, len);
  pthread_mutex_lock(&td_lock);
  id->pub.verbs = &td_context; /* the route's device */
  td_push_event(id, RDMA_CM_EVENT_ADDR_RESOLVED, 0, NULL);
  pthread_mutex_unlock(&td_lock);
  return 0;
}

TD_EXPORT int rdma_resolve_route(struct rdma_cm_id *pub, int timeout_ms) {
  pthread_mutex_lock(&td_lock);
  td_push_event((td_id *)pub, RDMA_CM_EVENT_ROUTE_RESOLVED, 0, NULL);
  pthread_mutex_unlock(&td_lock);
  return 0;
}

TD_EXPORT int rdma_create_qp(struct rdma_cm_id *pub, struct ibv_pd *pd, struct ibv_qp_init_attr *attr) {
  td_qp *qp = calloc(1, sizeof *qp);
  if (qp == NULL || attr->send_cq == NULL) {
    free(qp);
    errno = EINVAL;
    return -1;
  }
  qp->pub.context = pub->verbs != NULL ? pub->verbs : &td_context;
  qp->pub.pd = pd;
  qp->pub.send_cq = attr->send_cq;
  qp->pub.recv_cq = attr->recv_cq;
  qp->pub.qp_type = attr->qp_type;
  qp->pub.state = IBV_QPS_INIT;
  qp->max_send_wr = attr->cap.max_send_wr;
  pthread_cond_init(&qp->drained, NULL);
  pthread_mutex_lock(&td_lock);
  qp->pub.qp_num = next_qp_num++;
  qp->id = (td_id *)pub;
  pub->qp = &qp->pub;
  pthread_mutex_unlock(&td_lock);
  return 0;
}

/* Like destroying a hardware QP, returns only when nothing more will touch our memory for it:
 * waits (bounded) until every request sent has its response or the fabric is gone. */
TD_EXPORT void rdma_destroy_qp(struct rdma_cm_id *pub) {
  td_qp *qp = (td_qp *)pub->qp;
  if (qp == NULL) return;
  struct timespec until;
  clock_gettime(CLOCK_REALTIME, &until);
  until.tv_sec += 5;
  pthread_mutex_lock(&td_lock);
  while (qp->n_outstanding > 0 && ((td_id *)pub)->has_thread &&
         pthread_cond_timedwait(&qp->drained, &td_lock, &until) == 0) {
  }
  td_qp_flush(qp); /* completions nobody will poll: frees the bookkeeping */
  pub->qp = NULL;
  qp->id = NULL;
  pthread_mutex_unlock(&td_lock);
  pthread_cond_destroy(&qp->drained);
  free(qp);
}

/* ------------------------------------------------------------------ fabric */

int td_send(td_id *id, const td_msg *m) {
  pthread_mutex_lock(&id->wmu);
  size_t done = 0;
  int rc = 0;
  while (done < sizeof *m) {
    ssize_t n = send(id->sock, (const char *)m + done, sizeof *m - done, MSG_NOSIGNAL);
    if (n <= 0) {
      if (n < 0 && errno == EINTR) continue;
      rc = -1;
      break;
    }
    done += (size_t)n;
  }
  pthread_mutex_unlock(&id->wmu);
  return rc;
}

static int recv_msg(int fd, td_msg *m) {
  size_t done = 0;
  while (done < sizeof *m) {
    ssize_t n = recv(fd, (char *)m + done, sizeof *m - done, 0);
    if (n <= 0) {
      if (n < 0 && errno == EINTR) continue;
      return -1;
    }
    done += (size_t)n;
  }
  return 0;
}

/* The "NIC": serves the peer's requests, completes ours, notices the peer going away. */
static void nic_loop(td_id *id) {
  td_msg m;
  while (recv_msg(id->sock, &m) == 0) {
    if (m.type == TD_REQ_READ || m.type == TD_REQ_WRITE) {
      td_msg r;
      memset(&r, 0, sizeof r);
      r.type = TD_RESP;
      r.wr_id = m.wr_id;
      r.status = td_serve_request(&m, id->peer_pid);
      if (td_send(id, &r) != 0) break;
    } else if (m.type == TD_RESP) {
      pthread_mutex_lock(&td_lock);
      if (id->pub.qp != NULL) td_qp_complete((td_qp *)id->pub.qp, m.wr_id, (enum ibv_wc_status)m.status);
      pthread_mutex_unlock(&td_lock);
    } else if (m.type == TD_BYE) {
      break;
    }
  }
  shutdown(id->sock, SHUT_WR); /* the peer reads our last responses, then EOF */
  pthread_mutex_lock(&td_lock);
  if (id->pub.qp != NULL) td_qp_flush((td_qp *)id->pub.qp);
  if (!id->disconnected) {
    id->disconnected = 1;
    td_push_event(id, RDMA_CM_EVENT_DISCONNECTED, 0, NULL);
  }
  pthread_mutex_unlock(&td_lock);
}

static void *client_thread(void *arg) {
  td_id *id = arg;
  int fd = socket(id->dst.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  pthread_mutex_lock(&td_lock);
  id->sock = fd;
  int gone = id->disconnected;
  pthread_mutex_unlock(&td_lock);
  socklen_t len = id->dst.ss_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
  td_msg m;
  memset(&m, 0, sizeof m);
  m.type = TD_HELLO;
  m.pid = (uint32_t)getpid();
  m.initiator_depth = id->initiator_depth;
  m.responder_resources = id->responder_resources;
  m.private_len = id->private_len;
  memcpy(m.private_data, id->private_data, id->private_len);
  int err = gone ? ECANCELED : 0;
  if (!err && connect(fd, (struct sockaddr *)&id->dst, len) != 0) err = errno;
  if (!err && td_send(id, &m) != 0) err = ECONNRESET;
  if (!err && recv_msg(fd, &m) != 0) err = ECONNRESET;
  if (!err && m.type != TD_ACCEPT) err = ECONNREFUSED;
  pthread_mutex_lock(&td_lock);
  if (err) {
    id->disconnected = 1;
    td_push_event(id, err == ECONNREFUSED ? RDMA_CM_EVENT_REJECTED : RDMA_CM_EVENT_UNREACHABLE, err, NULL);
    pthread_mutex_unlock(&td_lock);
    return NULL;
  }
  id->peer_pid = (pid_t)m.pid;
  id->peer_initiator_depth = m.initiator_depth;
  id->peer_responder_resources = m.responder_resources;
  id->established = 1;
  if (id->pub.qp != NULL) id->pub.qp->state = IBV_QPS_RTS;
  td_push_event(id, RDMA_CM_EVENT_ESTABLISHED, 0, NULL);
  pthread_mutex_unlock(&td_lock);
  nic_loop(id);
  return NULL;
}

static void *server_thread(void *arg) {
  nic_loop(arg);
  return NULL;
}

static void *listener_thread(void *arg) {
  td_id *l = arg;
  for (;;) {
    int fd = accept4(l->sock, NULL, NULL, SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      return NULL; /* shut down by rdma_destroy_id */
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    td_msg m;
    td_id *c = NULL;
    if (recv_msg(fd, &m) != 0 || m.type != TD_HELLO || (c = calloc(1, sizeof *c)) == NULL) {
      close(fd);
      continue;
    }
    pthread_mutex_init(&c->wmu, NULL);
    c->sock = fd;
    c->peer_pid = (pid_t)m.pid;
    c->peer_initiator_depth = m.initiator_depth;
    c->peer_responder_resources = m.responder_resources;
    c->private_len = m.private_len > sizeof c->private_data ? sizeof c->private_data : m.private_len;
    memcpy(c->private_data, m.private_data, c->private_len);
    c->pub.verbs = &td_context;
    c->pub.ps = l->pub.ps;
    c->pub.qp_type = IBV_QPT_RC;
    pthread_mutex_lock(&td_lock);
    c->pub.channel = l->pub.channel;
    c->pub.context = l->pub.context;
    if (c->pub.channel != NULL) td_push_event(c, RDMA_CM_EVENT_CONNECT_REQUEST, 0, l);
    pthread_mutex_unlock(&td_lock);
  }
}

TD_EXPORT int rdma_bind_addr(struct rdma_cm_id *pub, struct sockaddr *addr) {
  td_id *id = (td_id *)pub;
  socklen_t len = addr->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
  int fd = socket(addr->sa_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  if (fd < 0) return -1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (bind(fd, addr, len) != 0) {
    int e = errno;
    close(fd);
    errno = e;
    return -1;
  }
  socklen_t sl = sizeof id->pub.route.addr.src_storage;
  getsockname(fd, (struct sockaddr *)&id->pub.route.addr.src_storage, &sl);
  id->sock = fd;
  return 0;
}

TD_EXPORT int rdma_listen(struct rdma_cm_id *pub, int backlog) {
  td_id *id = (td_id *)pub;
  if (id->sock < 0 || listen(id->sock, backlog) != 0) return -1;
  id->listening = 1;
  if (pthread_create(&id->thread, NULL, listener_thread, id) != 0) return -1;
  id->has_thread = 1;
  return 0;
}

TD_EXPORT uint16_t rdma_get_src_port(struct rdma_cm_id *pub) {
  struct sockaddr *sa = &pub->route.addr.src_addr;
  return sa->sa_family == AF_INET6 ? pub->route.addr.src_sin6.sin6_port : pub->route.addr.src_sin.sin_port;
}

TD_EXPORT int rdma_connect(struct rdma_cm_id *pub, struct rdma_conn_param *p) {
  td_id *id = (td_id *)pub;
  id->initiator_depth = p != NULL ? p->initiator_depth : 0;
  id->responder_resources = p != NULL ? p->responder_resources : 0;
  if (p != NULL && p->private_data_len > 0) {
    id->private_len = p->private_data_len > 56 ? 56 : p->private_data_len;
    memcpy(id->private_data, p->private_data, id->private_len);
  }
  if (pthread_create(&id->thread, NULL, client_thread, id) != 0) return -1;
  id->has_thread = 1;
  return 0;
}

TD_EXPORT int rdma_accept(struct rdma_cm_id *pub, struct rdma_conn_param *p) {
  td_id *id = (td_id *)pub;
  id->initiator_depth = p != NULL ? p->initiator_depth : 0;
  id->responder_resources = p != NULL ? p->responder_resources : 0;
  td_msg m;
  memset(&m, 0, sizeof m);
  m.type = TD_ACCEPT;
  m.pid = (uint32_t)getpid();
  m.initiator_depth = id->initiator_depth;
  m.responder_resources = id->responder_resources;
  if (td_send(id, &m) != 0) return -1;
  pthread_mutex_lock(&td_lock);
  id->established = 1;
  if (id->pub.qp != NULL) id->pub.qp->state = IBV_QPS_RTS;
  td_push_event(id, RDMA_CM_EVENT_ESTABLISHED, 0, NULL);
  pthread_mutex_unlock(&td_lock);
  if (pthread_create(&id->thread, NULL, server_thread, id) != 0) return -1;
  id->has_thread = 1;
  return 0;
}

TD_EXPORT int rdma_reject(struct rdma_cm_id *pub, const void *private_data, uint8_t len) {
  td_msg m;
  memset(&m, 0, sizeof m);
  m.type = TD_REJECT;
  return td_send((td_id *)pub, &m);
}

TD_EXPORT int rdma_disconnect(struct rdma_cm_id *pub) {
  td_id *id = (td_id *)pub;
  td_msg m;
  memset(&m, 0, sizeof m);
  m.type = TD_BYE;
  td_send(id, &m);
  shutdown(id->sock, SHUT_WR);
  pthread_mutex_lock(&td_lock);
  if (!id->disconnected) {
    id->disconnected = 1;
    td_push_event(id, RDMA_CM_EVENT_DISCONNECTED, 0, NULL);
  }
  pthread_mutex_unlock(&td_lock);
  return 0;
}

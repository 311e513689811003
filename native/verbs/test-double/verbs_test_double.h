/*
 * TEST DOUBLE of libibverbs + librdmacm for the verbs provider's tests. It is not RDMA: it
 * implements only the entry points native/verbs/src uses, with the same structs, so that
 * registration, connection, posting and completion run through the addon's real verbs code on
 * a machine without an RDMA device. Loaded only by the verbs tests, through
 * OPENCLAW_IPC_LIBIBVERBS / OPENCLAW_IPC_LIBRDMACM.
 *
 * How it stands in for the hardware:
 * - "fabric": one loopback TCP connection per queue pair, carrying small fixed-size messages
 *   (hello/accept, read/write requests, responses, bye). Data never travels on it.
 * - "NIC": one thread per connection in each process. The RESPONDER's thread checks a request
 *   against its own process' MR table (rkey known, range inside, REMOTE_READ/REMOTE_WRITE
 *   granted) and moves the bytes itself with process_vm_writev (READ: into the initiator) or
 *   process_vm_readv (WRITE: from the initiator), holding the table lock so a region cannot be
 *   deregistered mid-copy. A failed check completes the WR with IBV_WC_REM_ACCESS_ERR, as a NIC
 *   would; the initiator's queue pair then goes to the error state (later WRs flush).
 * - completions: a ring per CQ; the completion channel is a pipe carrying the CQ pointer, so
 *   its fd works with poll/epoll like the real one. rdma_cm events likewise (a pipe + queue).
 * - peer death: the TCP connection closes; outstanding WRs complete with IBV_WC_WR_FLUSH_ERR and
 *   the id gets RDMA_CM_EVENT_DISCONNECTED.
 */
#ifndef OPENCLAW_VERBS_TEST_DOUBLE_H
#define OPENCLAW_VERBS_TEST_DOUBLE_H

#include <pthread.h>
#include <stdint.h>
#include <sys/types.h>

#include <infiniband/verbs.h>
#include <rdma/rdma_cma.h>

#define TD_EXPORT __attribute__((visibility("default")))

/* Fabric message (host byte order: both ends are on this host). */
enum td_msg_type { TD_HELLO = 1, TD_ACCEPT, TD_REJECT, TD_REQ_READ, TD_REQ_WRITE, TD_RESP, TD_BYE };
typedef struct td_msg {
  uint32_t type;
  uint32_t status; /* TD_RESP: an ibv_wc_status */
  uint64_t wr_id;
  uint64_t remote_addr; /* the responder's address */
  uint64_t local_addr;  /* the initiator's address */
  uint32_t rkey;
  uint32_t length;
  uint32_t pid;
  uint8_t initiator_depth, responder_resources, private_len, pad;
  uint8_t private_data[56];
} td_msg;

typedef struct td_outstanding {
  struct td_outstanding *next;
  uint64_t wr_id;
  enum ibv_wc_opcode opcode;
  uint32_t length;
  int signaled;
} td_outstanding;

typedef struct td_cq {
  struct ibv_cq pub; /* first: the addon sees a struct ibv_cq */
  pthread_mutex_t mu;
  struct ibv_wc *ring;
  int cap, head, count, armed;
  int notify_fd; /* write end of the completion channel's pipe, -1 without channel */
} td_cq;

typedef struct td_qp {
  struct ibv_qp pub;
  struct td_id *id;
  td_outstanding *outstanding;
  unsigned n_outstanding, max_send_wr;
  int error; /* RC error state: new WRs flush */
  pthread_cond_t drained;
} td_qp;

typedef struct td_channel {
  struct rdma_event_channel pub;
  int wfd;
  struct td_event *head, *tail;
} td_channel;

typedef struct td_event {
  struct rdma_cm_event pub;
  struct td_event *next;
  uint8_t private_data[56];
} td_event;

typedef struct td_id {
  struct rdma_cm_id pub;
  int sock;           /* listening socket or the connection's fabric socket */
  int listening;
  int established;
  int disconnected;   /* DISCONNECTED delivered */
  pthread_t thread;
  int has_thread;
  pid_t peer_pid;
  uint8_t initiator_depth, responder_resources;           /* ours */
  uint8_t peer_initiator_depth, peer_responder_resources; /* the peer's */
  uint8_t private_data[56];
  uint8_t private_len;
  struct sockaddr_storage dst;
  pthread_mutex_t wmu; /* one writer at a time on sock */
} td_id;

/* The one lock of the double's connection state (ids, channels, CQs' rings use their own). */
extern pthread_mutex_t td_lock;
extern struct ibv_context td_context;

/* td_verbs.c */
void td_cq_push(td_cq *cq, const struct ibv_wc *wc);
/* Completes an outstanding WR of `qp` (called with td_lock held). */
void td_qp_complete(td_qp *qp, uint64_t wr_id, enum ibv_wc_status status);
/* Completes every outstanding WR with IBV_WC_WR_FLUSH_ERR (td_lock held). */
void td_qp_flush(td_qp *qp);
/* Responder side: checks rkey/range/access in this process' MR table and copies with
 * process_vm_readv/writev to or from `pid`. Returns an ibv_wc_status. */
enum ibv_wc_status td_serve_request(const td_msg *m, pid_t pid);

/* td_cm.c */
int td_send(td_id *id, const td_msg *m);
/* Queues an rdma_cm event on the id's current channel (td_lock held). */
void td_push_event(td_id *id, enum rdma_cm_event_type type, int status, td_id *listen_id);

#endif

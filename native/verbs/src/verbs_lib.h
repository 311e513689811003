/*
 * The verbs provider's view of libibverbs.so.1 and librdmacm.so.1, loaded with dlopen at first
 * use so the addon loads on machines without rdma-core. OPENCLAW_IPC_LIBIBVERBS and
 * OPENCLAW_IPC_LIBRDMACM override the file names (the verbs tests point both at the test
 * double, native/verbs/build/libverbs-test-double.so).
 *
 * Field names drop the ibv_ / rdma_ prefix: ibv_reg_mr is a macro in <infiniband/verbs.h>.
 * ibv_post_send, ibv_poll_cq and ibv_req_notify_cq are static inlines calling through
 * context->ops; the addon uses them as the header defines them, so they need no symbol.
 */
#ifndef OPENCLAW_VERBS_LIB_H
#define OPENCLAW_VERBS_LIB_H

#include <stddef.h>
#include <stdint.h>

#include <infiniband/verbs.h>
#include <rdma/rdma_cma.h>

typedef struct verbs_lib {
  /* libibverbs */
  struct ibv_device **(*get_device_list)(int *num);
  void (*free_device_list)(struct ibv_device **list);
  const char *(*get_device_name)(struct ibv_device *device);
  struct ibv_pd *(*alloc_pd)(struct ibv_context *context);
  int (*dealloc_pd)(struct ibv_pd *pd);
  struct ibv_mr *(*reg_mr)(struct ibv_pd *pd, void *addr, size_t length, int access);
  int (*dereg_mr)(struct ibv_mr *mr);
  struct ibv_comp_channel *(*create_comp_channel)(struct ibv_context *context);
  int (*destroy_comp_channel)(struct ibv_comp_channel *channel);
  struct ibv_cq *(*create_cq)(struct ibv_context *context, int cqe, void *cq_context,
                              struct ibv_comp_channel *channel, int comp_vector);
  int (*destroy_cq)(struct ibv_cq *cq);
  int (*get_cq_event)(struct ibv_comp_channel *channel, struct ibv_cq **cq, void **cq_context);
  void (*ack_cq_events)(struct ibv_cq *cq, unsigned int nevents);
  /* librdmacm */
  struct ibv_context **(*get_devices)(int *num);
  void (*free_devices)(struct ibv_context **list);
  struct rdma_event_channel *(*create_event_channel)(void);
  void (*destroy_event_channel)(struct rdma_event_channel *channel);
  int (*create_id)(struct rdma_event_channel *channel, struct rdma_cm_id **id, void *context,
                   enum rdma_port_space ps);
  int (*destroy_id)(struct rdma_cm_id *id);
  int (*migrate_id)(struct rdma_cm_id *id, struct rdma_event_channel *channel);
  int (*bind_addr)(struct rdma_cm_id *id, struct sockaddr *addr);
  int (*listen)(struct rdma_cm_id *id, int backlog);
  int (*resolve_addr)(struct rdma_cm_id *id, struct sockaddr *src, struct sockaddr *dst, int timeout_ms);
  int (*resolve_route)(struct rdma_cm_id *id, int timeout_ms);
  int (*create_qp)(struct rdma_cm_id *id, struct ibv_pd *pd, struct ibv_qp_init_attr *attr);
  void (*destroy_qp)(struct rdma_cm_id *id);
  int (*connect)(struct rdma_cm_id *id, struct rdma_conn_param *param);
  int (*accept)(struct rdma_cm_id *id, struct rdma_conn_param *param);
  int (*reject)(struct rdma_cm_id *id, const void *private_data, uint8_t private_data_len);
  int (*disconnect)(struct rdma_cm_id *id);
  int (*get_cm_event)(struct rdma_event_channel *channel, struct rdma_cm_event **event);
  int (*ack_cm_event)(struct rdma_cm_event *event);
  uint16_t (*get_src_port)(struct rdma_cm_id *id); /* network byte order */
  const char *(*event_str)(enum rdma_cm_event_type event);
  char ibverbs_name[256];
  char rdmacm_name[256];
} verbs_lib;

/*
 * Loads both libraries once per process (thread-safe; later calls return the same answer).
 * Returns the table, or NULL with `err` saying which library or symbol is missing.
 */
const verbs_lib *verbs_lib_load(char *err, size_t errlen);

/* What probe() found. `code` is an errno name ('ENOSYS', 'ENODEV', ...) or 'ENOENT' when a
 * library could not be loaded; empty when available. */
typedef struct verbs_probe_result {
  int available;
  int err; /* the errno value, 0 when none */
  char code[32];
  char reason[768];
  int ndevices;
  char devices[8][64];
  char ibverbs_name[256];
  char rdmacm_name[256];
} verbs_probe_result;

/* Asks the loaded libraries for devices and for an rdma_cm event channel. Never blocks for
 * long (sysfs reads), never throws. */
void verbs_probe(verbs_probe_result *out);

/* The errno's name ("ENOSYS"), or "E<number>" for one glibc does not name. */
const char *verbs_errno_name(int err, char *buf, size_t len);

/* The libibverbs name of a work completion status ("IBV_WC_REM_ACCESS_ERR"). */
const char *verbs_wc_status_name(int status);

#endif

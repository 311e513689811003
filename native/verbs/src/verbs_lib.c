/* dlopen of libibverbs.so.1 / librdmacm.so.1 and probe(): see verbs_lib.h. */
#include "verbs_lib.h"

#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static verbs_lib lib;
static int lib_loaded;
static char lib_error[512];
static pthread_once_t lib_once = PTHREAD_ONCE_INIT;

static const char *env_or(const char *name, const char *fallback) {
  const char *v = getenv(name);
  return v != NULL && v[0] != '\0' ? v : fallback;
}

/* Resolves `sym` into *slot; on failure records the first missing symbol. */
static int resolve(void *handle, const char *libname, const char *sym, void *slot) {
  void *p = dlsym(handle, sym);
  if (p == NULL) {
    if (lib_error[0] == '\0') snprintf(lib_error, sizeof lib_error, "%s has no symbol %s", libname, sym);
    return -1;
  }
  memcpy(slot, &p, sizeof p);
  return 0;
}

#define RESOLVE(h, name, field, sym) bad |= resolve(h, name, sym, (void *)&lib.field)

static void load_once(void) {
  const char *ibname = env_or("OPENCLAW_IPC_LIBIBVERBS", "libibverbs.so.1");
  const char *cmname = env_or("OPENCLAW_IPC_LIBRDMACM", "librdmacm.so.1");
  snprintf(lib.ibverbs_name, sizeof lib.ibverbs_name, "%s", ibname);
  snprintf(lib.rdmacm_name, sizeof lib.rdmacm_name, "%s", cmname);
  void *ib = dlopen(ibname, RTLD_NOW | RTLD_LOCAL);
  if (ib == NULL) {
    snprintf(lib_error, sizeof lib_error, "%s could not be loaded: %s", ibname, dlerror());
    return;
  }
  void *cm = dlopen(cmname, RTLD_NOW | RTLD_LOCAL);
  if (cm == NULL) {
    snprintf(lib_error, sizeof lib_error, "%s could not be loaded: %s", cmname, dlerror());
    return;
  }
  int bad = 0;
  RESOLVE(ib, ibname, get_device_list, "ibv_get_device_list");
  RESOLVE(ib, ibname, free_device_list, "ibv_free_device_list");
  RESOLVE(ib, ibname, get_device_name, "ibv_get_device_name");
  RESOLVE(ib, ibname, alloc_pd, "ibv_alloc_pd");
  RESOLVE(ib, ibname, dealloc_pd, "ibv_dealloc_pd");
  RESOLVE(ib, ibname, reg_mr, "ibv_reg_mr");
  RESOLVE(ib, ibname, dereg_mr, "ibv_dereg_mr");
  RESOLVE(ib, ibname, create_comp_channel, "ibv_create_comp_channel");
  RESOLVE(ib, ibname, destroy_comp_channel, "ibv_destroy_comp_channel");
  RESOLVE(ib, ibname, create_cq, "ibv_create_cq");
  RESOLVE(ib, ibname, destroy_cq, "ibv_destroy_cq");
  RESOLVE(ib, ibname, get_cq_event, "ibv_get_cq_event");
  RESOLVE(ib, ibname, ack_cq_events, "ibv_ack_cq_events");
  RESOLVE(cm, cmname, get_devices, "rdma_get_devices");
  RESOLVE(cm, cmname, free_devices, "rdma_free_devices");
  RESOLVE(cm, cmname, create_event_channel, "rdma_create_event_channel");
  RESOLVE(cm, cmname, destroy_event_channel, "rdma_destroy_event_channel");
  RESOLVE(cm, cmname, create_id, "rdma_create_id");
  RESOLVE(cm, cmname, destroy_id, "rdma_destroy_id");
  RESOLVE(cm, cmname, migrate_id, "rdma_migrate_id");
  RESOLVE(cm, cmname, bind_addr, "rdma_bind_addr");
  RESOLVE(cm, cmname, listen, "rdma_listen");
  RESOLVE(cm, cmname, resolve_addr, "rdma_resolve_addr");
  RESOLVE(cm, cmname, resolve_route, "rdma_resolve_route");
  RESOLVE(cm, cmname, create_qp, "rdma_create_qp");
  RESOLVE(cm, cmname, destroy_qp, "rdma_destroy_qp");
  RESOLVE(cm, cmname, connect, "rdma_connect");
  RESOLVE(cm, cmname, accept, "rdma_accept");
  RESOLVE(cm, cmname, reject, "rdma_reject");
  RESOLVE(cm, cmname, disconnect, "rdma_disconnect");
  RESOLVE(cm, cmname, get_cm_event, "rdma_get_cm_event");
  RESOLVE(cm, cmname, ack_cm_event, "rdma_ack_cm_event");
  RESOLVE(cm, cmname, get_src_port, "rdma_get_src_port");
  RESOLVE(cm, cmname, event_str, "rdma_event_str");
  if (!bad) lib_loaded = 1;
  /* The handles stay open for the life of the process: the table points into them. */
}

const verbs_lib *verbs_lib_load(char *err, size_t errlen) {
  pthread_once(&lib_once, load_once);
  if (lib_loaded) return &lib;
  if (err != NULL && errlen > 0) snprintf(err, errlen, "%s", lib_error);
  return NULL;
}

/* The errno values the verbs and rdma_cm calls report, by name (strerrorname_np is glibc 2.32+
 * only, and musl has none). */
const char *verbs_errno_name(int err, char *buf, size_t len) {
  switch (err) {
#define NAME(e) \
  case e: \
    return #e;
    NAME(EPERM) NAME(ENOENT) NAME(EINTR) NAME(EIO) NAME(ENXIO) NAME(EBADF) NAME(EAGAIN) NAME(ENOMEM)
    NAME(EACCES) NAME(EFAULT) NAME(EBUSY) NAME(EEXIST) NAME(ENODEV) NAME(EINVAL) NAME(ENFILE)
    NAME(EMFILE) NAME(ENOSPC) NAME(ERANGE) NAME(ENOSYS) NAME(EOPNOTSUPP) NAME(EPROTO) NAME(ENOBUFS)
    NAME(EADDRINUSE) NAME(EADDRNOTAVAIL) NAME(ENETDOWN) NAME(ENETUNREACH) NAME(ECONNABORTED)
    NAME(ECONNRESET) NAME(EISCONN) NAME(ENOTCONN) NAME(ETIMEDOUT) NAME(ECONNREFUSED)
    NAME(EHOSTUNREACH) NAME(EALREADY) NAME(EINPROGRESS) NAME(ECANCELED) NAME(EPIPE) NAME(ESRCH)
    NAME(EMSGSIZE) NAME(EOVERFLOW) /* ENOTSUP is EOPNOTSUPP on Linux */
#undef NAME
  }
  snprintf(buf, len, "E%d", err);
  return buf;
}

static void set_failure(verbs_probe_result *out, int err, const char *fmt, const char *detail) {
  char nbuf[16];
  out->available = 0;
  out->err = err;
  snprintf(out->code, sizeof out->code, "%s", err != 0 ? verbs_errno_name(err, nbuf, sizeof nbuf) : "ENODEV");
  snprintf(out->reason, sizeof out->reason, fmt, detail);
}

void verbs_probe(verbs_probe_result *out) {
  memset(out, 0, sizeof *out);
  char err[512];
  const verbs_lib *L = verbs_lib_load(err, sizeof err);
  snprintf(out->ibverbs_name, sizeof out->ibverbs_name, "%s", lib.ibverbs_name);
  snprintf(out->rdmacm_name, sizeof out->rdmacm_name, "%s", lib.rdmacm_name);
  if (L == NULL) {
    out->available = 0;
    snprintf(out->code, sizeof out->code, "ENOENT");
    snprintf(out->reason, sizeof out->reason, "%s", err);
    return;
  }
  int n = 0;
  errno = 0;
  struct ibv_device **list = L->get_device_list(&n);
  if (list == NULL) {
    int e = errno;
    char detail[256];
    char nbuf[16];
    snprintf(detail, sizeof detail, "%s (%s)", verbs_errno_name(e, nbuf, sizeof nbuf), strerror(e));
    int no_sysfs = access("/sys/class/infiniband_verbs", F_OK) != 0;
    set_failure(out, e,
                e != ENOSYS ? "libibverbs: ibv_get_device_list failed with %s"
                : no_sysfs  ? "libibverbs: ibv_get_device_list failed with %s: the kernel has no "
                              "InfiniBand/RDMA support (no /sys/class/infiniband_verbs)"
                            : "libibverbs: ibv_get_device_list failed with %s: the kernel has no "
                              "InfiniBand/RDMA support",
                detail);
    return;
  }
  for (int i = 0; i < n && i < 8; i++) {
    snprintf(out->devices[i], sizeof out->devices[i], "%s", L->get_device_name(list[i]));
  }
  out->ndevices = n;
  L->free_device_list(list);
  if (n == 0) {
    set_failure(out, 0, "libibverbs: no RDMA device%s", "");
    return;
  }
  errno = 0;
  struct rdma_event_channel *ch = L->create_event_channel();
  if (ch == NULL) {
    int e = errno;
    char detail[256];
    char nbuf[16];
    snprintf(detail, sizeof detail, "%s (%s)", verbs_errno_name(e, nbuf, sizeof nbuf), strerror(e));
    set_failure(out, e, "librdmacm: rdma_create_event_channel failed with %s (is rdma_ucm loaded?)", detail);
    return;
  }
  L->destroy_event_channel(ch);
  out->available = 1;
}

const char *verbs_wc_status_name(int status) {
  static const char *names[] = {
    "IBV_WC_SUCCESS",          "IBV_WC_LOC_LEN_ERR",    "IBV_WC_LOC_QP_OP_ERR",    "IBV_WC_LOC_EEC_OP_ERR",
    "IBV_WC_LOC_PROT_ERR",     "IBV_WC_WR_FLUSH_ERR",   "IBV_WC_MW_BIND_ERR",      "IBV_WC_BAD_RESP_ERR",
    "IBV_WC_LOC_ACCESS_ERR",   "IBV_WC_REM_INV_REQ_ERR", "IBV_WC_REM_ACCESS_ERR",  "IBV_WC_REM_OP_ERR",
    "IBV_WC_RETRY_EXC_ERR",    "IBV_WC_RNR_RETRY_EXC_ERR", "IBV_WC_LOC_RDD_VIOL_ERR", "IBV_WC_REM_INV_RD_REQ_ERR",
    "IBV_WC_REM_ABORT_ERR",    "IBV_WC_INV_EECN_ERR",   "IBV_WC_INV_EEC_STATE_ERR", "IBV_WC_FATAL_ERR",
    "IBV_WC_RESP_TIMEOUT_ERR", "IBV_WC_GENERAL_ERR",
  };
  if (status >= 0 && (size_t)status < sizeof names / sizeof names[0]) return names[status];
  return "IBV_WC_UNKNOWN";
}

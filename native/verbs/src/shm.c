/* shm provider: placeholder until the fd server lands. */
#include "addon.h"

napi_value js_shm_serve(napi_env env, napi_callback_info info) {
  (void)info;
  return throw_error(env, RC_NOSYS, 0, "shmServe: not built yet");
}
napi_value js_shm_attach(napi_env env, napi_callback_info info) {
  (void)info;
  return throw_error(env, RC_NOSYS, 0, "shmAttach: not built yet");
}
napi_status shm_define_classes(napi_env env, napi_value *server_cls, napi_value *peer_cls) {
  napi_status s = napi_define_class(env, "ShmServer", NAPI_AUTO_LENGTH, internal_ctor, NULL, 0, NULL, server_cls);
  if (s != napi_ok) return s;
  return napi_define_class(env, "ShmPeer", NAPI_AUTO_LENGTH, internal_ctor, NULL, 0, NULL, peer_cls);
}
void shm_env_cleanup(addon_t *a) { (void)a; }

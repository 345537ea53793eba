// Entry of the anogen native addon: only registers exports (see ../shared/DESIGN.md).
#include "common.h"

namespace anogen {
void InitTensor(Napi::Env env, Napi::Object exports);
void InitOps(Napi::Env env, Napi::Object exports);
void InitAutograd(Napi::Env env, Napi::Object exports);
}  // namespace anogen

static Napi::Object Init(Napi::Env env, Napi::Object exports) {
  anogen::InitTensor(env, exports);
  anogen::InitOps(env, exports);
  anogen::InitAutograd(env, exports);
  return exports;
}

NODE_API_MODULE(anogen_native, Init)

// Shared pieces of the anogen native addon: the tensor box held by JS, the one place
// where C++ exceptions become JS errors (ANOGEN_PROTECT), and argument helpers.
#pragma once
#include <napi.h>
#include <ATen/ATen.h>
#include <c10/util/Exception.h>
#include <atomic>
#include <string>
#include <vector>

namespace anogen {

// A heap box owning one at::Tensor. JS holds it through a Napi::External; dispose()
// resets the tensor early, the finalizer deletes the box (safety net).
struct TensorBox {
  at::Tensor t;
  int64_t accounted = 0;  // bytes reported to V8 as external memory
};

extern std::atomic<int64_t> g_live_boxes;
extern Napi::FunctionReference* g_torch_error;  // JS class TorchError, set from JS at load

Napi::Value Wrap(Napi::Env env, at::Tensor t);        // new External holding t (null if undefined)
TensorBox* Box(const Napi::Value& v, const char* what);  // throws TypeError if v is not a tensor handle
const at::Tensor& Unwrap(const Napi::Value& v, const char* what);
void ReleaseBox(Napi::BasicEnv env, TensorBox* box);

// Throws a JS TorchError (or Error before registration) carrying `msg`.
[[noreturn]] void ThrowTorch(Napi::Env env, const std::string& msg);

std::vector<int64_t> IntList(const Napi::Value& v, const char* what);

}  // namespace anogen

// Every exported function body runs inside this: torch errors keep torch's message
// without the C++ backtrace, and nothing escapes as a C++ exception into N-API.
#define ANOGEN_PROTECT(env, body)                                                 \
  try {                                                                         \
    body                                                                        \
  } catch (const Napi::Error&) {                                                \
    throw;                                                                      \
  } catch (const c10::Error& e) {                                               \
    ::anogen::ThrowTorch(env, e.what_without_backtrace());                      \
  } catch (const std::exception& e) {                                           \
    ::anogen::ThrowTorch(env, e.what());                                        \
  } catch (...) {                                                               \
    ::anogen::ThrowTorch(env, "unknown C++ exception");                         \
  }

// Autograd (backward, grad, grad mode), randomness, threads and devices.
#include "common.h"
#include <ATen/Parallel.h>
#include <ATen/CPUGeneratorImpl.h>
#include <cstring>
#include <mutex>
#include <c10/core/GradMode.h>
#include <torch/csrc/autograd/autograd.h>
#include <torch/csrc/autograd/variable.h>
#include <torch/cuda.h>
#include <torch/utils.h>
#include <torch/version.h>

namespace anogen {

static std::vector<at::Tensor> TensorArray(const Napi::Value& v, const char* what) {
  std::vector<at::Tensor> out;
  if (!v.IsArray()) throw Napi::TypeError::New(v.Env(), std::string(what) + ": expected an array of tensors");
  auto a = v.As<Napi::Array>();
  for (uint32_t i = 0; i < a.Length(); i++) {
    Napi::Value e = a.Get(i);
    if (e.IsNull() || e.IsUndefined()) out.emplace_back();
    else out.push_back(Unwrap(e, what));
  }
  return out;
}

// backward(t, grad|null, retainGraph, createGraph)
static Napi::Value Backward(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  ANOGEN_PROTECT(env, {
    at::Tensor t = Unwrap(info[0], "backward");
    std::vector<at::Tensor> grads;
    if (info.Length() > 1 && info[1].IsExternal()) grads.push_back(Unwrap(info[1], "backward grad"));
    bool create = info.Length() > 3 && info[3].ToBoolean().Value();
    c10::optional<bool> retain;
    if (info.Length() > 2 && info[2].IsBoolean()) retain = info[2].As<Napi::Boolean>().Value();
    torch::autograd::backward({t}, grads, retain, create);
    return env.Undefined();
  })
  return env.Undefined();
}

// grad(outputs[], inputs[], gradOutputs[]|null, retainGraph|null, createGraph, allowUnused) -> (tensor|null)[]
static Napi::Value Grad(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  ANOGEN_PROTECT(env, {
    auto outputs = TensorArray(info[0], "grad outputs");
    auto inputs = TensorArray(info[1], "grad inputs");
    std::vector<at::Tensor> gouts;
    if (info[2].IsArray()) gouts = TensorArray(info[2], "grad gradOutputs");
    c10::optional<bool> retain;
    if (info[3].IsBoolean()) retain = info[3].As<Napi::Boolean>().Value();
    bool create = info[4].ToBoolean().Value();
    bool allow_unused = info[5].ToBoolean().Value();
    auto res = torch::autograd::grad(outputs, inputs, gouts, retain, create, allow_unused);
    auto out = Napi::Array::New(env, res.size());
    for (size_t i = 0; i < res.size(); i++) out.Set(static_cast<uint32_t>(i), Wrap(env, res[i]));
    return out;
  })
  return env.Undefined();
}

static Napi::Value GetGrad(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  ANOGEN_PROTECT(env, { return Wrap(env, Unwrap(info[0], "grad").grad()); })
  return env.Undefined();
}

// setGrad(t, g|null)
static Napi::Value SetGrad(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  ANOGEN_PROTECT(env, {
    at::Tensor t = Unwrap(info[0], "setGrad");
    if (info[1].IsExternal()) t.mutable_grad() = Unwrap(info[1], "setGrad");
    else t.mutable_grad() = at::Tensor();
    return env.Undefined();
  })
  return env.Undefined();
}

static Napi::Value SetRequiresGrad(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  ANOGEN_PROTECT(env, {
    at::Tensor t = Unwrap(info[0], "requiresGrad");
    t.set_requires_grad(info[1].ToBoolean().Value());
    return env.Undefined();
  })
  return env.Undefined();
}

static Napi::Value IsLeaf(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  ANOGEN_PROTECT(env, { return Napi::Boolean::New(env, Unwrap(info[0], "isLeaf").is_leaf()); })
  return env.Undefined();
}

static Napi::Value SetGradEnabled(const Napi::CallbackInfo& info) {
  bool prev = c10::GradMode::is_enabled();
  c10::GradMode::set_enabled(info[0].ToBoolean().Value());
  return Napi::Boolean::New(info.Env(), prev);
}

static Napi::Value IsGradEnabled(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), c10::GradMode::is_enabled());
}

static Napi::Value ManualSeed(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  ANOGEN_PROTECT(env, {
    torch::manual_seed(static_cast<uint64_t>(info[0].As<Napi::Number>().Int64Value()));
    return env.Undefined();
  })
  return env.Undefined();
}

// The CPU generator's state as bytes (a copy), for exact resume of training.
static Napi::Value GetRngState(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  ANOGEN_PROTECT(env, {
    auto gen = at::detail::getDefaultCPUGenerator();
    at::Tensor st;
    {
      std::lock_guard<std::mutex> lock(gen.mutex());
      st = gen.get_state();
    }
    st = st.contiguous();
    return Napi::Buffer<uint8_t>::Copy(env, st.data_ptr<uint8_t>(), static_cast<size_t>(st.numel()));
  })
  return env.Undefined();
}

// Restores the CPU generator's state from GetRngState's bytes (libtorch validates the size).
static Napi::Value SetRngState(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  ANOGEN_PROTECT(env, {
    if (!info[0].IsBuffer()) throw Napi::TypeError::New(env, "setRngState: expected a Buffer");
    auto buf = info[0].As<Napi::Buffer<uint8_t>>();
    at::Tensor st = at::empty({static_cast<int64_t>(buf.Length())}, at::kByte);
    std::memcpy(st.data_ptr<uint8_t>(), buf.Data(), buf.Length());
    auto gen = at::detail::getDefaultCPUGenerator();
    std::lock_guard<std::mutex> lock(gen.mutex());
    gen.set_state(st);
    return env.Undefined();
  })
  return env.Undefined();
}

static Napi::Value SetNumThreads(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  ANOGEN_PROTECT(env, {
    at::set_num_threads(info[0].As<Napi::Number>().Int32Value());
    return env.Undefined();
  })
  return env.Undefined();
}

static Napi::Value GetNumThreads(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), at::get_num_threads());
}

static Napi::Value CudaIsAvailable(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), torch::cuda::is_available());
}

static Napi::Value CudaDeviceCount(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(torch::cuda::device_count()));
}

static Napi::Value Version(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), TORCH_VERSION);
}

void InitAutograd(Napi::Env env, Napi::Object exports) {
  exports.Set("backward", Napi::Function::New(env, Backward));
  exports.Set("autogradGrad", Napi::Function::New(env, Grad));
  exports.Set("getGrad", Napi::Function::New(env, GetGrad));
  exports.Set("setGrad", Napi::Function::New(env, SetGrad));
  exports.Set("setRequiresGrad", Napi::Function::New(env, SetRequiresGrad));
  exports.Set("isLeaf", Napi::Function::New(env, IsLeaf));
  exports.Set("setGradEnabled", Napi::Function::New(env, SetGradEnabled));
  exports.Set("isGradEnabled", Napi::Function::New(env, IsGradEnabled));
  exports.Set("manualSeed", Napi::Function::New(env, ManualSeed));
  exports.Set("getRngState", Napi::Function::New(env, GetRngState));
  exports.Set("setRngState", Napi::Function::New(env, SetRngState));
  exports.Set("setNumThreads", Napi::Function::New(env, SetNumThreads));
  exports.Set("getNumThreads", Napi::Function::New(env, GetNumThreads));
  exports.Set("cudaIsAvailable", Napi::Function::New(env, CudaIsAvailable));
  exports.Set("cudaDeviceCount", Napi::Function::New(env, CudaDeviceCount));
  exports.Set("torchVersion", Napi::Function::New(env, Version));
}

}  // namespace anogen

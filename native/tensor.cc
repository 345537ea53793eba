// Tensor boxes, creation from JS buffers, read-back and metadata.
#include "common.h"
#include <cstring>

namespace anogen {

std::atomic<int64_t> g_live_boxes{0};
Napi::FunctionReference* g_torch_error = nullptr;

void ThrowTorch(Napi::Env env, const std::string& msg) {
  if (g_torch_error != nullptr && !g_torch_error->IsEmpty()) {
    Napi::Object err = g_torch_error->New({Napi::String::New(env, msg)});
    throw Napi::Error(env, err);
  }
  throw Napi::Error::New(env, msg);
}

static void Account(Napi::Env env, TensorBox* box) {
  int64_t bytes = box->t.defined() && box->t.device().is_cpu() ? static_cast<int64_t>(box->t.nbytes()) : 0;
  if (bytes > 0) Napi::MemoryManagement::AdjustExternalMemory(env, bytes);
  box->accounted = bytes;
}

void ReleaseBox(Napi::BasicEnv env, TensorBox* box) {
  if (box->t.defined()) g_live_boxes--;
  if (box->accounted > 0) {
    Napi::MemoryManagement::AdjustExternalMemory(env, -box->accounted);
    box->accounted = 0;
  }
  box->t = at::Tensor();
}

Napi::Value Wrap(Napi::Env env, at::Tensor t) {
  if (!t.defined()) return env.Null();
  auto* box = new TensorBox{std::move(t), 0};
  Account(env, box);
  g_live_boxes++;
  return Napi::External<TensorBox>::New(env, box, [](Napi::BasicEnv e, TensorBox* b) {
    ReleaseBox(e, b);
    delete b;
  });
}

TensorBox* Box(const Napi::Value& v, const char* what) {
  if (!v.IsExternal()) {
    throw Napi::TypeError::New(v.Env(), std::string(what) + ": expected a Tensor");
  }
  return v.As<Napi::External<TensorBox>>().Data();
}

const at::Tensor& Unwrap(const Napi::Value& v, const char* what) {
  TensorBox* b = Box(v, what);
  if (!b->t.defined()) {
    ThrowTorch(v.Env(), std::string(what) + ": the tensor was disposed and cannot be used");
  }
  return b->t;
}

std::vector<int64_t> IntList(const Napi::Value& v, const char* what) {
  std::vector<int64_t> out;
  if (!v.IsArray()) throw Napi::TypeError::New(v.Env(), std::string(what) + ": expected an array of integers");
  auto arr = v.As<Napi::Array>();
  out.reserve(arr.Length());
  for (uint32_t i = 0; i < arr.Length(); i++) {
    Napi::Value e = arr.Get(i);
    if (!e.IsNumber()) throw Napi::TypeError::New(v.Env(), std::string(what) + ": expected an array of integers");
    double d = e.As<Napi::Number>().DoubleValue();
    if (!(d >= -9.2e18 && d <= 9.2e18) || d != static_cast<double>(static_cast<int64_t>(d))) {
      throw Napi::TypeError::New(v.Env(), std::string(what) + ": expected an array of integers, got " +
                                              e.ToString().Utf8Value() + " at position " + std::to_string(i));
    }
    out.push_back(static_cast<int64_t>(d));
  }
  return out;
}

// fromBuffer(typedArrayOrArrayBuffer, scalarTypeCode, shape[]) -> tensor (a copy, CPU)
static Napi::Value FromBuffer(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  ANOGEN_PROTECT(env, {
    const void* data = nullptr;
    size_t bytes = 0;
    if (info[0].IsTypedArray()) {
      auto ta = info[0].As<Napi::TypedArray>();
      data = static_cast<const uint8_t*>(ta.ArrayBuffer().Data()) + ta.ByteOffset();
      bytes = ta.ByteLength();
    } else if (info[0].IsBuffer()) {
      auto b = info[0].As<Napi::Buffer<uint8_t>>();
      data = b.Data();
      bytes = b.ByteLength();
    } else if (info[0].IsArrayBuffer()) {
      auto ab = info[0].As<Napi::ArrayBuffer>();
      data = ab.Data();
      bytes = ab.ByteLength();
    } else {
      throw Napi::TypeError::New(env, "fromBuffer: expected a TypedArray, Buffer or ArrayBuffer");
    }
    auto st = static_cast<at::ScalarType>(info[1].As<Napi::Number>().Int32Value());
    auto shape = IntList(info[2], "fromBuffer shape");
    int64_t numel = 1;
    for (auto d : shape) {
      if (d < 0) throw Napi::RangeError::New(env, "fromBuffer: negative dimension in shape");
      numel *= d;
    }
    size_t need = static_cast<size_t>(numel) * c10::elementSize(st);
    if (need != bytes) {
      throw Napi::RangeError::New(env, "fromBuffer: buffer has " + std::to_string(bytes) + " bytes but shape needs " +
                                           std::to_string(need));
    }
    at::Tensor t = at::empty(shape, at::TensorOptions().dtype(st));
    if (need > 0) std::memcpy(t.data_ptr(), data, need);
    return Wrap(env, t);
  })
  return env.Undefined();
}

// toBuffer(t) -> ArrayBuffer with the contiguous CPU contents in the tensor's dtype
static Napi::Value ToBuffer(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  ANOGEN_PROTECT(env, {
    at::Tensor t = Unwrap(info[0], "toBuffer");
    at::Tensor c = t.detach().to(at::kCPU).contiguous();
    auto out = Napi::ArrayBuffer::New(env, c.nbytes());
    if (c.nbytes() > 0) std::memcpy(out.Data(), c.data_ptr(), c.nbytes());
    return out;
  })
  return env.Undefined();
}

// meta(t) -> [shape[], scalarTypeCode, deviceString, requiresGrad]
static Napi::Value Meta(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  ANOGEN_PROTECT(env, {
    at::Tensor t = Unwrap(info[0], "meta");  // a copy (refcount): GCC 13 -Wdangling-reference
    auto shape = Napi::Array::New(env, t.dim());
    for (int64_t i = 0; i < t.dim(); i++) shape.Set(i, Napi::Number::New(env, static_cast<double>(t.size(i))));
    auto out = Napi::Array::New(env, 4);
    out.Set(0u, shape);
    out.Set(1u, Napi::Number::New(env, static_cast<int>(t.scalar_type())));
    out.Set(2u, Napi::String::New(env, t.device().str()));
    out.Set(3u, Napi::Boolean::New(env, t.requires_grad()));
    return out;
  })
  return env.Undefined();
}

static Napi::Value Shape(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  ANOGEN_PROTECT(env, {
    at::Tensor t = Unwrap(info[0], "shape");  // a copy (refcount): GCC 13 -Wdangling-reference
    auto shape = Napi::Array::New(env, t.dim());
    for (int64_t i = 0; i < t.dim(); i++) shape.Set(i, Napi::Number::New(env, static_cast<double>(t.size(i))));
    return shape;
  })
  return env.Undefined();
}

// shapeInto(t, Float64Array scratch) -> ndim; writes the sizes into scratch when they fit
// (a fast path for Tensor.shape: no JS array is built on the native side).
static Napi::Value ShapeInto(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  ANOGEN_PROTECT(env, {
    at::Tensor t = Unwrap(info[0], "shape");  // a copy (refcount): GCC 13 -Wdangling-reference
    if (!info[1].IsTypedArray()) throw Napi::TypeError::New(env, "shapeInto: expected a Float64Array");
    auto buf = info[1].As<Napi::Float64Array>();
    int64_t n = t.dim();
    if (static_cast<size_t>(n) <= buf.ElementLength()) {
      double* d = buf.Data();
      for (int64_t i = 0; i < n; i++) d[i] = static_cast<double>(t.size(i));
    }
    return Napi::Number::New(env, static_cast<double>(n));
  })
  return env.Undefined();
}

static Napi::Value Numel(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  ANOGEN_PROTECT(env, { return Napi::Number::New(env, static_cast<double>(Unwrap(info[0], "numel").numel())); })
  return env.Undefined();
}

static Napi::Value ScalarTypeOf(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  ANOGEN_PROTECT(env, { return Napi::Number::New(env, static_cast<int>(Unwrap(info[0], "dtype").scalar_type())); })
  return env.Undefined();
}

static Napi::Value Item(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  ANOGEN_PROTECT(env, {
    at::Tensor t = Unwrap(info[0], "item");  // a copy (refcount): GCC 13 -Wdangling-reference
    at::Scalar s = t.item();
    if (s.isBoolean()) return Napi::Boolean::New(env, s.toBool());
    if (s.isIntegral(false)) return Napi::Number::New(env, static_cast<double>(s.toLong()));
    return Napi::Number::New(env, s.toDouble());
  })
  return env.Undefined();
}

static Napi::Value Dispose(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  ANOGEN_PROTECT(env, {
    ReleaseBox(env, Box(info[0], "dispose"));
    return env.Undefined();
  })
  return env.Undefined();
}

static Napi::Value IsDisposed(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  ANOGEN_PROTECT(env, { return Napi::Boolean::New(env, !Box(info[0], "isDisposed")->t.defined()); })
  return env.Undefined();
}

static Napi::Value LiveTensors(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(g_live_boxes.load()));
}

static Napi::Value SetErrorClass(const Napi::CallbackInfo& info) {
  if (g_torch_error == nullptr) g_torch_error = new Napi::FunctionReference();
  *g_torch_error = Napi::Persistent(info[0].As<Napi::Function>());
  return info.Env().Undefined();
}

// Same storage and offset (used to make in-place ops return their JS receiver).
static Napi::Value SameTensor(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  ANOGEN_PROTECT(env, {
    return Napi::Boolean::New(env, Unwrap(info[0], "same").is_same(Unwrap(info[1], "same")));
  })
  return env.Undefined();
}

void InitTensor(Napi::Env env, Napi::Object exports) {
  exports.Set("fromBuffer", Napi::Function::New(env, FromBuffer));
  exports.Set("toBuffer", Napi::Function::New(env, ToBuffer));
  exports.Set("meta", Napi::Function::New(env, Meta));
  exports.Set("shape", Napi::Function::New(env, Shape));
  exports.Set("shapeInto", Napi::Function::New(env, ShapeInto));
  exports.Set("numel", Napi::Function::New(env, Numel));
  exports.Set("scalarType", Napi::Function::New(env, ScalarTypeOf));
  exports.Set("item", Napi::Function::New(env, Item));
  exports.Set("dispose", Napi::Function::New(env, Dispose));
  exports.Set("isDisposed", Napi::Function::New(env, IsDisposed));
  exports.Set("liveTensors", Napi::Function::New(env, LiveTensors));
  exports.Set("setErrorClass", Napi::Function::New(env, SetErrorClass));
  exports.Set("sameTensor", Napi::Function::New(env, SameTensor));
}

}  // namespace anogen

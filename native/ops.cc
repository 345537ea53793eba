// Generic access to every ATen operator through the c10 dispatcher (boxed calls).
// JS resolves an operator once (opHandle), then calls it with positional arguments
// (call); arguments are converted by the operator's schema and missing trailing
// arguments take the schema's defaults, so one binary serves libtorch 1.13 and 2.x.
#include "common.h"
#include <ATen/core/dispatch/Dispatcher.h>
#include <ATen/core/stack.h>
#include <memory>
#include <sstream>
#include <cmath>
#include <torch/version.h>

namespace anogen {

struct OpEntry {
  c10::OperatorHandle handle;
  std::string name;
  bool returns_self;  // first return aliases a written argument (in-place / out op)
};
static std::vector<std::unique_ptr<OpEntry>> g_ops;

[[noreturn]] static void ArgError(Napi::Env env, const OpEntry& op, const c10::Argument& arg, const std::string& msg) {
  throw Napi::TypeError::New(env, op.name + ": argument '" + arg.name() + "' (" + arg.type()->str() + ") " + msg);
}

static c10::IValue ToIValue(Napi::Env env, const Napi::Value& v, const c10::TypePtr& type, const OpEntry& op,
                            const c10::Argument& arg) {
  using K = c10::TypeKind;
  switch (type->kind()) {
    case K::OptionalType:
      if (v.IsNull() || v.IsUndefined()) return c10::IValue();
      return ToIValue(env, v, type->castRaw<c10::OptionalType>()->getElementType(), op, arg);
    case K::TensorType:
      if (!v.IsExternal()) ArgError(env, op, arg, "expects a Tensor");
      return Unwrap(v, op.name.c_str());
    case K::IntType:
    case K::SymIntType:
      if (v.IsNumber()) {
        double d = v.As<Napi::Number>().DoubleValue();
        if (!(d >= -9.2e18 && d <= 9.2e18) || d != static_cast<double>(static_cast<int64_t>(d)))
          ArgError(env, op, arg, "expects an integer");
        return static_cast<int64_t>(d);
      }
      if (v.IsBoolean()) return static_cast<int64_t>(v.As<Napi::Boolean>().Value());
      if (v.IsBigInt()) {
        bool lossless;
        return v.As<Napi::BigInt>().Int64Value(&lossless);
      }
      ArgError(env, op, arg, "expects an integer");
    case K::FloatType:
    case K::SymFloatType:
      if (!v.IsNumber()) ArgError(env, op, arg, "expects a number");
      return v.As<Napi::Number>().DoubleValue();
    case K::BoolType:
      if (!v.IsBoolean()) ArgError(env, op, arg, "expects a boolean");
      return v.As<Napi::Boolean>().Value();
    case K::NumberType:
      if (v.IsBoolean()) return c10::Scalar(v.As<Napi::Boolean>().Value());
      if (v.IsNumber()) {
        double d = v.As<Napi::Number>().DoubleValue();
        // integral JS numbers become integer scalars (as Python's `2`), others doubles
        if (std::isfinite(d) && d == static_cast<double>(static_cast<int64_t>(d)) && std::abs(d) < 9.007199254740992e15)
          return c10::Scalar(static_cast<int64_t>(d));
        return c10::Scalar(d);
      }
      ArgError(env, op, arg, "expects a number");
    case K::StringType:
      if (!v.IsString()) ArgError(env, op, arg, "expects a string");
      return v.As<Napi::String>().Utf8Value();
    case K::DeviceObjType:
      if (!v.IsString()) ArgError(env, op, arg, "expects a device string such as 'cpu' or 'cuda:0'");
      return c10::Device(v.As<Napi::String>().Utf8Value());
    case K::ListType: {
      const auto& elem = type->castRaw<c10::ListType>()->getElementType();
      auto ek = elem->kind();
      if (ek == K::IntType || ek == K::SymIntType) {
        if (v.IsNumber()) {  // int[N] accepts a single int, as in Python
          double d = v.As<Napi::Number>().DoubleValue();
          if (!(d >= -9.2e18 && d <= 9.2e18) || d != static_cast<double>(static_cast<int64_t>(d)))
            ArgError(env, op, arg, "expects integers");
          auto n = arg.N() ? *arg.N() : 1;
          return std::vector<int64_t>(n, static_cast<int64_t>(d));
        }
        if (!v.IsArray()) ArgError(env, op, arg, "expects an array of integers");
        return IntList(v, op.name.c_str());
      }
      if (!v.IsArray()) ArgError(env, op, arg, "expects an array");
      auto a = v.As<Napi::Array>();
      uint32_t n = a.Length();
      if (ek == K::FloatType) {
        std::vector<double> out(n);
        for (uint32_t i = 0; i < n; i++) {
          Napi::Value e = a.Get(i);
          if (!e.IsNumber()) ArgError(env, op, arg, "expects an array of numbers");
          out[i] = e.As<Napi::Number>().DoubleValue();
        }
        return out;
      }
      if (ek == K::BoolType) {
        c10::List<bool> out;
        for (uint32_t i = 0; i < n; i++) out.push_back(a.Get(i).ToBoolean().Value());
        return out;
      }
      if (ek == K::TensorType) {
        std::vector<at::Tensor> out;
        out.reserve(n);
        for (uint32_t i = 0; i < n; i++) out.push_back(Unwrap(a.Get(i), op.name.c_str()));
        return out;
      }
      if (ek == K::OptionalType &&
          elem->castRaw<c10::OptionalType>()->getElementType()->kind() == K::TensorType) {
        c10::List<c10::optional<at::Tensor>> out;
        for (uint32_t i = 0; i < n; i++) {
          Napi::Value e = a.Get(i);
          if (e.IsNull() || e.IsUndefined()) out.push_back(c10::nullopt);
          else out.push_back(Unwrap(e, op.name.c_str()));
        }
        return out;
      }
      ArgError(env, op, arg, "has a list type anogen cannot pass");
    }
    default:
      ArgError(env, op, arg, "has a type anogen cannot pass");
  }
}

static Napi::Value FromIValue(Napi::Env env, const c10::IValue& iv) {
  if (iv.isTensor()) return Wrap(env, iv.toTensor());
  if (iv.isNone()) return env.Null();
  if (iv.isDouble()) return Napi::Number::New(env, iv.toDouble());
  if (iv.isInt()) return Napi::Number::New(env, static_cast<double>(iv.toInt()));
  if (iv.isBool()) return Napi::Boolean::New(env, iv.toBool());
  if (iv.isTensorList()) {
    auto l = iv.toTensorList();
    auto out = Napi::Array::New(env, l.size());
    for (size_t i = 0; i < l.size(); i++) out.Set(static_cast<uint32_t>(i), Wrap(env, l.get(i)));
    return out;
  }
  if (iv.isIntList()) {
    auto l = iv.toIntList();
    auto out = Napi::Array::New(env, l.size());
    for (size_t i = 0; i < l.size(); i++) out.Set(static_cast<uint32_t>(i), Napi::Number::New(env, static_cast<double>(l.get(i))));
    return out;
  }
  if (iv.isTuple()) {
    const auto& el = iv.toTupleRef().elements();
    auto out = Napi::Array::New(env, el.size());
    for (size_t i = 0; i < el.size(); i++) out.Set(static_cast<uint32_t>(i), FromIValue(env, el[i]));
    return out;
  }
  if (iv.isScalar()) return Napi::Number::New(env, iv.toScalar().toDouble());
  if (iv.isString()) return Napi::String::New(env, iv.toStringRef());
  throw Napi::TypeError::New(env, std::string("anogen cannot return a value of type ") + iv.tagKind());
}

// opHandle(name, overload) -> id; throws TorchError if this libtorch has no such operator.
static Napi::Value OpHandle(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  ANOGEN_PROTECT(env, {
    std::string name = info[0].As<Napi::String>().Utf8Value();
    std::string overload = info.Length() > 1 && info[1].IsString() ? info[1].As<Napi::String>().Utf8Value() : "";
    auto h = c10::Dispatcher::singleton().findSchema({name, overload});
    if (!h.has_value()) {
      ThrowTorch(env, "operator " + name + (overload.empty() ? "" : "." + overload) + " is not available in this libtorch (" +
                          TORCH_VERSION + ")");
    }
    const auto& rets = h->schema().returns();
    bool returns_self = !rets.empty() && rets[0].alias_info() != nullptr && rets[0].alias_info()->isWrite();
    g_ops.push_back(std::make_unique<OpEntry>(OpEntry{*h, name + (overload.empty() ? "" : "." + overload), returns_self}));
    return Napi::Number::New(env, static_cast<double>(g_ops.size() - 1));
  })
  return env.Undefined();
}

static Napi::Value OpSchema(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  ANOGEN_PROTECT(env, {
    auto id = info[0].As<Napi::Number>().Uint32Value();
    if (id >= g_ops.size()) throw Napi::RangeError::New(env, "unknown operator id");
    std::ostringstream ss;
    ss << g_ops[id]->handle.schema();
    return Napi::String::New(env, ss.str());
  })
  return env.Undefined();
}

// call(id, ...args) -> converted returns (one value, or an array when the op returns several).
// In-place ops (first return aliases a written argument) return undefined.
static Napi::Value Call(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  ANOGEN_PROTECT(env, {
    auto id = info[0].As<Napi::Number>().Uint32Value();
    if (id >= g_ops.size()) throw Napi::RangeError::New(env, "unknown operator id");
    const OpEntry& op = *g_ops[id];
    const auto& schema = op.handle.schema();
    const auto& args = schema.arguments();
    size_t given = info.Length() - 1;
    if (given > args.size()) {
      throw Napi::TypeError::New(env, op.name + ": takes at most " + std::to_string(args.size()) + " arguments, got " +
                                          std::to_string(given));
    }
    torch::jit::Stack stack;
    stack.reserve(args.size());
    for (size_t i = 0; i < args.size(); i++) {
      const auto& a = args[i];
      if (i < given && !info[i + 1].IsUndefined()) {
        stack.emplace_back(ToIValue(env, info[i + 1], a.type(), op, a));
      } else if (a.default_value().has_value()) {
        stack.emplace_back(*a.default_value());
      } else if (a.type()->kind() == c10::TypeKind::OptionalType) {
        stack.emplace_back();
      } else if (i < given) {
        // an explicit undefined: usually a non-tensor passed where a Tensor was expected
        ArgError(env, op, a, "got undefined (was a value of the wrong type passed?)");
      } else {
        throw Napi::TypeError::New(env, op.name + ": missing argument '" + a.name() + "'");
      }
    }
    op.handle.callBoxed(&stack);
    if (op.returns_self) return env.Undefined();
    if (stack.size() == 1) return FromIValue(env, stack[0]);
    auto out = Napi::Array::New(env, stack.size());
    for (size_t i = 0; i < stack.size(); i++) out.Set(static_cast<uint32_t>(i), FromIValue(env, stack[i]));
    return out;
  })
  return env.Undefined();
}

void InitOps(Napi::Env env, Napi::Object exports) {
  exports.Set("opHandle", Napi::Function::New(env, OpHandle));
  exports.Set("opSchema", Napi::Function::New(env, OpSchema));
  exports.Set("call", Napi::Function::New(env, Call));
}

}  // namespace anogen

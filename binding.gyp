{
  "targets": [
    {
      "target_name": "anogen_native",
      "sources": ["native/addon.cc", "native/tensor.cc", "native/ops.cc", "native/autograd.cc"],
      "include_dirs": [
        "<!@(node -p \"require('node-addon-api').include_dir\")",
        "<!@(node scripts/libtorch.cjs include)"
      ],
      # NAPI_EXPERIMENTAL: tensor finalizers are "basic" (no JS), so Node runs them inside the GC
      # instead of queueing them until the event loop turns; without it a synchronous training
      # loop accumulated ~190 bytes of finalizer records per tensor (RSS grew linearly).
      "defines": ["NAPI_EXPERIMENTAL", "NAPI_CPP_EXCEPTIONS", "NODE_ADDON_API_DISABLE_DEPRECATED"],
      "cflags!": ["-fno-exceptions", "-fno-rtti"],
      "cflags_cc!": ["-fno-exceptions", "-fno-rtti", "-std=gnu++17", "-std=gnu++20"],
      "cflags_cc": ["-std=c++17", "-fexceptions", "-frtti", "-O2", "-Wno-unused-parameter", "-Wno-deprecated-declarations"],
      "ldflags": ["<!@(node scripts/libtorch.cjs ldflags)"],
      "libraries": ["<!@(node scripts/libtorch.cjs libs)"],
      "xcode_settings": {
        "GCC_ENABLE_CPP_EXCEPTIONS": "YES",
        "GCC_ENABLE_CPP_RTTI": "YES",
        "CLANG_CXX_LANGUAGE_STANDARD": "c++17"
      }
    }
  ]
}

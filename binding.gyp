{
  "targets": [
    {
      "target_name": "gradbook_cpu",
      "sources": [
        "runtime/backends/cpu/src/addon.cc",
        "runtime/backends/cpu/src/elementwise.cc",
        "runtime/backends/cpu/src/reduce.cc",
        "runtime/backends/cpu/src/matmul.cc",
        "runtime/backends/cpu/src/indexing.cc",
        "runtime/backends/cpu/src/threadpool.cc",
        "runtime/backends/cpu/src/vecmath.cc"
      ],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NAPI_DISABLE_CPP_EXCEPTIONS", "NODE_ADDON_API_DISABLE_DEPRECATED"],
      "cflags!": ["-O2"],
      "cflags_cc!": ["-std=gnu++17", "-O2"],
      "cflags": ["-O3", "-fno-math-errno"],
      "cflags_cc": ["-O3", "-std=c++17", "-fno-exceptions", "-fno-math-errno", "-pthread"],
      "ldflags": ["-pthread"],
      "conditions": [
        ["OS=='mac'", {
          "xcode_settings": {
            "GCC_ENABLE_CPP_EXCEPTIONS": "NO",
            "CLANG_CXX_LANGUAGE_STANDARD": "c++17",
            "OTHER_CPLUSPLUSFLAGS": ["-O3"]
          }
        }]
      ]
    }
  ]
}

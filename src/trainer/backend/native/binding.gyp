# Targets per library; scripts/build-native.ts sets -Dlibtorch=1 / -Dopenblas=1 for those installed.
{
  "variables": {
    "openblas%": 0,
    "libtorch%": 0
  },
  "target_defaults": {
    "cflags_cc!": ["-fno-exceptions", "-fno-rtti"],
    "cflags_cc": ["-O3", "-std=c++17", "-fexceptions", "-fno-trapping-math", "-fno-math-errno"]
  },
  "conditions": [
    ["openblas==1", {
      "targets": [{
        "target_name": "labbook_openblas",
        "sources": ["addon.cc", "openblas.cc", "max-pool.cc", "elementwise.cc", "augment.cc"],
        "include_dirs": ["<!@(pkg-config --cflags-only-I openblas | sed -e 's/-I//g')"],
        "libraries": ["<!@(pkg-config --libs openblas)"]
      }]
    }],
    ["libtorch==1", {
      "targets": [{
        "target_name": "labbook_libtorch",
        "sources": ["addon.cc", "aten.cc", "onednn.cc", "max-pool.cc", "elementwise.cc", "augment.cc"],
        # ATen's parallel_for is an inline OpenMP loop: without -fopenmp it runs on one thread.
        "cflags_cc": ["-fopenmp"],
        "ldflags": ["-fopenmp"],
        "libraries": ["-ltorch_cpu", "-lc10", "-ldnnl"]
      }]
    }]
  ]
}

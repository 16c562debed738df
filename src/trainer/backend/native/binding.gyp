{
  "targets": [
    {
      "target_name": "labbook_conv",
      "sources": ["conv.cc"],
      "include_dirs": ["<!@(pkg-config --cflags-only-I openblas | sed -e 's/-I//g')"],
      "libraries": ["<!@(pkg-config --libs openblas)"],
      "cflags_cc!": ["-fno-exceptions"],
      "cflags_cc": ["-O3", "-std=c++17", "-fexceptions"]
    }
  ]
}

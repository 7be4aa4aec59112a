{
  "targets": [
    {
      "target_name": "postern_dp",
      "sources": ["napi/addon.c", "lib/dp_version.c"],
      "include_dirs": ["lib"],
      "cflags": ["-O2", "-Wall", "-Wextra", "-std=gnu11"],
      "defines": ["NAPI_VERSION=8"]
    }
  ]
}

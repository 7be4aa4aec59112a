{
  "targets": [
    {
      "target_name": "postern_dp",
      "sources": ["napi/addon.c", "napi/sa.c", "napi/tunnel.c", "napi/endpoint.c", "napi/hub.c", "napi/hub_pipe.c", "napi/js_pipe.c", "napi/pptp.c", "napi/ppp_data.c", "napi/sstp.c", "napi/netlink.c", "lib/dp_version.c", "lib/esp.c", "lib/replay.c", "lib/mss_clamp.c", "lib/selector.c", "lib/gso.c", "lib/gro.c", "lib/transport.c", "lib/gre.c", "lib/tun.c", "lib/tunnel.c", "lib/net_io.c", "lib/endpoint.c", "lib/hub.c", "lib/pipe.c", "lib/pptp_gre.c", "lib/ppp_data.c", "lib/sstp_frame.c", "lib/sstp_call.c", "lib/sstp_ktls.c", "lib/tls_keys.c", "lib/mppe.c", "lib/sha1.c"],
      "libraries": ["-lpthread"],
      "include_dirs": ["lib", "napi"],
      "cflags": ["-O2", "-Wall", "-Wextra", "-std=gnu11"],
      "defines": ["NAPI_VERSION=8"]
    }
  ]
}

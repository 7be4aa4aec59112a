/* N-API glue for the data plane: thin wrappers over drivers/lib, no packet logic here. */
#include <node_api.h>

#include "dp_version.h"
#include "napi_util.h"

napi_value dp_napi_create_sa(napi_env env, napi_callback_info info);
napi_value dp_napi_sa_encrypt(napi_env env, napi_callback_info info);
napi_value dp_napi_sa_decrypt(napi_env env, napi_callback_info info);
napi_value dp_napi_sa_counters(napi_env env, napi_callback_info info);
napi_value dp_napi_sa_set_next_seq(napi_env env, napi_callback_info info);
napi_value dp_napi_status_name(napi_env env, napi_callback_info info);
napi_value dp_napi_tunnel_start(napi_env env, napi_callback_info info);
napi_value dp_napi_tunnel_stop(napi_env env, napi_callback_info info);
napi_value dp_napi_tunnel_stats(napi_env env, napi_callback_info info);
napi_value dp_napi_tunnel_add_inbound(napi_env env, napi_callback_info info);
napi_value dp_napi_tunnel_set_outbound(napi_env env, napi_callback_info info);
napi_value dp_napi_tunnel_remove_inbound(napi_env env, napi_callback_info info);
napi_value dp_napi_endpoint_open(napi_env env, napi_callback_info info);
napi_value dp_napi_endpoint_open_raw(napi_env env, napi_callback_info info);
napi_value dp_napi_endpoint_send_ike(napi_env env, napi_callback_info info);
napi_value dp_napi_endpoint_stats(napi_env env, napi_callback_info info);
napi_value dp_napi_endpoint_close(napi_env env, napi_callback_info info);
napi_value dp_napi_hub_open(napi_env env, napi_callback_info info);
napi_value dp_napi_hub_stats(napi_env env, napi_callback_info info);
napi_value dp_napi_hub_close(napi_env env, napi_callback_info info);
napi_value dp_napi_hub_pipe_attach(napi_env env, napi_callback_info info);
napi_value dp_napi_hub_pipe_route(napi_env env, napi_callback_info info);
napi_value dp_napi_hub_pipe_unroute(napi_env env, napi_callback_info info);
napi_value dp_napi_hub_pipe_stats(napi_env env, napi_callback_info info);
napi_value dp_napi_hub_write(napi_env env, napi_callback_info info);
napi_value dp_napi_pptp_open(napi_env env, napi_callback_info info);
napi_value dp_napi_pptp_call_add(napi_env env, napi_callback_info info);
napi_value dp_napi_pptp_call_remove(napi_env env, napi_callback_info info);
napi_value dp_napi_pptp_send(napi_env env, napi_callback_info info);
napi_value dp_napi_pptp_stats(napi_env env, napi_callback_info info);
napi_value dp_napi_pptp_close(napi_env env, napi_callback_info info);
napi_value dp_napi_sstp_open(napi_env env, napi_callback_info info);
napi_value dp_napi_sstp_close(napi_env env, napi_callback_info info);
napi_value dp_napi_sstp_stats(napi_env env, napi_callback_info info);
napi_value dp_napi_sstp_set_kernel_tls(napi_env env, napi_callback_info info);
napi_value dp_napi_sstp_set_key_update_records(napi_env env, napi_callback_info info);
napi_value dp_napi_sstp_tls(napi_env env, napi_callback_info info);
napi_value dp_napi_sstp_call_add(napi_env env, napi_callback_info info);
napi_value dp_napi_sstp_tls_client(napi_env env, napi_callback_info info);
napi_value dp_napi_sstp_call_dial(napi_env env, napi_callback_info info);
napi_value dp_napi_sstp_call_stop_data(napi_env env, napi_callback_info info);
napi_value dp_napi_sstp_call_peer_issuer(napi_env env, napi_callback_info info);
napi_value dp_napi_sstp_call_send(napi_env env, napi_callback_info info);
napi_value dp_napi_sstp_call_start_data(napi_env env, napi_callback_info info);
napi_value dp_napi_sstp_call_stats(napi_env env, napi_callback_info info);
napi_value dp_napi_sstp_call_remove(napi_env env, napi_callback_info info);
napi_value dp_napi_pptp_data_start(napi_env env, napi_callback_info info);
napi_value dp_napi_pptp_data_stop(napi_env env, napi_callback_info info);
napi_value dp_napi_pptp_data_stats(napi_env env, napi_callback_info info);
napi_value dp_napi_pptp_send_ip(napi_env env, napi_callback_info info);
napi_value dp_napi_tunnel_route(napi_env env, napi_callback_info info);
napi_value dp_napi_tunnel_set_peer(napi_env env, napi_callback_info info);
napi_value dp_napi_tunnel_send_gre(napi_env env, napi_callback_info info);
napi_value dp_napi_tunnel_deliver_udp(napi_env env, napi_callback_info info);
napi_value dp_napi_tunnel_send_udp(napi_env env, napi_callback_info info);
napi_value dp_napi_ppp_session_open(napi_env env, napi_callback_info info);
napi_value dp_napi_ppp_session_attach(napi_env env, napi_callback_info info);
napi_value dp_napi_ppp_session_detach(napi_env env, napi_callback_info info);
napi_value dp_napi_ppp_session_stats(napi_env env, napi_callback_info info);
napi_value dp_napi_ppp_session_release(napi_env env, napi_callback_info info);
napi_value dp_napi_netlink_open(napi_env env, napi_callback_info info);
napi_value dp_napi_netlink_request(napi_env env, napi_callback_info info);
napi_value dp_napi_netlink_listen(napi_env env, napi_callback_info info);
napi_value dp_napi_netlink_close(napi_env env, napi_callback_info info);

static napi_value get_version(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value out;
  napi_create_string_utf8(env, dp_version(), NAPI_AUTO_LENGTH, &out);
  return out;
}

/* Everything the addon exports, by its JavaScript name. */
static const struct {
  const char *name;
  napi_callback fn;
} EXPORTS[] = {
    {"version", get_version},
    {"createSa", dp_napi_create_sa},
    {"saEncrypt", dp_napi_sa_encrypt},
    {"saDecrypt", dp_napi_sa_decrypt},
    {"saCounters", dp_napi_sa_counters},
    {"saSetNextSeq", dp_napi_sa_set_next_seq},
    {"statusName", dp_napi_status_name},
    {"tunnelStart", dp_napi_tunnel_start},
    {"tunnelStop", dp_napi_tunnel_stop},
    {"tunnelStats", dp_napi_tunnel_stats},
    {"tunnelAddInbound", dp_napi_tunnel_add_inbound},
    {"tunnelSetOutbound", dp_napi_tunnel_set_outbound},
    {"tunnelRemoveInbound", dp_napi_tunnel_remove_inbound},
    {"endpointOpen", dp_napi_endpoint_open},
    {"endpointOpenRaw", dp_napi_endpoint_open_raw},
    {"endpointSendIke", dp_napi_endpoint_send_ike},
    {"endpointStats", dp_napi_endpoint_stats},
    {"endpointClose", dp_napi_endpoint_close},
    {"hubOpen", dp_napi_hub_open},
    {"hubStats", dp_napi_hub_stats},
    {"hubClose", dp_napi_hub_close},
    {"hubPipeAttach", dp_napi_hub_pipe_attach},
    {"hubPipeRoute", dp_napi_hub_pipe_route},
    {"hubPipeUnroute", dp_napi_hub_pipe_unroute},
    {"hubPipeStats", dp_napi_hub_pipe_stats},
    {"hubWrite", dp_napi_hub_write},
    {"pptpOpen", dp_napi_pptp_open},
    {"pptpCallAdd", dp_napi_pptp_call_add},
    {"pptpCallRemove", dp_napi_pptp_call_remove},
    {"pptpSend", dp_napi_pptp_send},
    {"pptpStats", dp_napi_pptp_stats},
    {"pptpClose", dp_napi_pptp_close},
    {"sstpOpen", dp_napi_sstp_open},
    {"sstpClose", dp_napi_sstp_close},
    {"sstpStats", dp_napi_sstp_stats},
    {"sstpSetKernelTls", dp_napi_sstp_set_kernel_tls},
    {"sstpSetKeyUpdateRecords", dp_napi_sstp_set_key_update_records},
    {"sstpTls", dp_napi_sstp_tls},
    {"sstpCallAdd", dp_napi_sstp_call_add},
    {"sstpTlsClient", dp_napi_sstp_tls_client},
    {"sstpCallDial", dp_napi_sstp_call_dial},
    {"sstpCallStopData", dp_napi_sstp_call_stop_data},
    {"sstpCallPeerIssuer", dp_napi_sstp_call_peer_issuer},
    {"sstpCallSend", dp_napi_sstp_call_send},
    {"sstpCallStartData", dp_napi_sstp_call_start_data},
    {"sstpCallStats", dp_napi_sstp_call_stats},
    {"sstpCallRemove", dp_napi_sstp_call_remove},
    {"pptpDataStart", dp_napi_pptp_data_start},
    {"pptpDataStop", dp_napi_pptp_data_stop},
    {"pptpDataStats", dp_napi_pptp_data_stats},
    {"pptpSendIp", dp_napi_pptp_send_ip},
    {"tunnelRoute", dp_napi_tunnel_route},
    {"tunnelSetPeer", dp_napi_tunnel_set_peer},
    {"tunnelSendGre", dp_napi_tunnel_send_gre},
    {"tunnelDeliverUdp", dp_napi_tunnel_deliver_udp},
    {"tunnelSendUdp", dp_napi_tunnel_send_udp},
    {"pppSessionOpen", dp_napi_ppp_session_open},
    {"pppSessionAttach", dp_napi_ppp_session_attach},
    {"pppSessionDetach", dp_napi_ppp_session_detach},
    {"pppSessionStats", dp_napi_ppp_session_stats},
    {"pppSessionRelease", dp_napi_ppp_session_release},
    {"netlinkOpen", dp_napi_netlink_open},
    {"netlinkRequest", dp_napi_netlink_request},
    {"netlinkListen", dp_napi_netlink_listen},
    {"netlinkClose", dp_napi_netlink_close},
};

static napi_value init(napi_env env, napi_value exports) {
  for (size_t i = 0; i < sizeof EXPORTS / sizeof EXPORTS[0]; i++) {
    napi_value f;
    napi_create_function(env, EXPORTS[i].name, NAPI_AUTO_LENGTH, EXPORTS[i].fn, NULL, &f);
    napi_set_named_property(env, exports, EXPORTS[i].name, f);
  }
  napi_set_named_property(env, exports, "abi", dp_napi_int(env, POSTERN_DP_ABI));
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)

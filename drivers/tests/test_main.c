/* The C core's tests, runnable without Node: `make -C drivers check`. */
#include "tap.h"

int tap_count, tap_failed;

void test_replay(void);
void test_esp_kat(void);
void test_esp_behaviour(void);
void test_esp_lanes(void);
void test_gre(void);
void test_mss(void);
void test_selector(void);
void test_gso(void);
void test_gro(void);
void test_transport(void);
void test_pipe(void);
void test_pptp(void);
void test_inet_sum(void);
void test_v6_outer(void);
void test_ppp_data(void);
void test_sstp(void);
void test_mppe(void);
void test_pptp_data(void);
void test_ktls(void);

int main(void) {
  test_replay();
  test_esp_kat();
  test_esp_behaviour();
  test_esp_lanes();
  test_gre();
  test_mss();
  test_selector();
  test_gso();
  test_gro();
  test_transport();
  test_pipe();
  test_pptp();
  test_inet_sum();
  test_v6_outer();
  test_ppp_data();
  test_sstp();
  test_mppe();
  test_pptp_data();
  test_ktls();
  printf("1..%d\n# %d passed, %d failed\n", tap_count, tap_count - tap_failed, tap_failed);
  return tap_failed == 0 ? 0 : 1;
}

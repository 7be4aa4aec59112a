/* Traffic-selector checks on inner addresses (RFC 4301 §5.2). */
#include "selector.h"
#include "tap.h"

void test_selector(void);

void test_selector(void) {
  dp_prefix_set s = {0};
  uint8_t v4[20] = {0x45}, v6[40] = {0x60};
  v4[12] = 10; v4[13] = 1; v4[14] = 0; v4[15] = 7;   /* source 10.1.0.7 */
  v4[16] = 10; v4[17] = 2; v4[18] = 0; v4[19] = 9;   /* destination 10.2.0.9 */
  CHECK(dp_prefix_set_matches(&s, v4, 20, true), "selectors: an empty set allows any address");
  CHECK(dp_prefix_set_add(&s, "10.1.0.0/24") && dp_prefix_set_add(&s, "2001:db8::/32") && dp_prefix_set_add(&s, "192.0.2.77"),
        "selectors: IPv4, IPv6 and host prefixes parse");
  CHECK(!dp_prefix_set_add(&s, "10.0.0.0/33") && !dp_prefix_set_add(&s, "nonsense") && !dp_prefix_set_add(&s, "10.0.0.0/") && !dp_prefix_set_add(&s, ""),
        "selectors: malformed prefixes are refused");
  CHECK(dp_prefix_set_matches(&s, v4, 20, true), "selectors: 10.1.0.7 is in 10.1.0.0/24");
  CHECK(!dp_prefix_set_matches(&s, v4, 20, false), "selectors: 10.2.0.9 is not");
  v4[14] = 1;
  CHECK(!dp_prefix_set_matches(&s, v4, 20, true), "selectors: 10.1.1.7 is outside the /24");
  v6[8] = 0x20; v6[9] = 0x01; v6[10] = 0x0d; v6[11] = 0xb8; v6[23] = 1;
  CHECK(dp_prefix_set_matches(&s, v6, 40, true), "selectors: 2001:db8::1 is in 2001:db8::/32");
  v6[11] = 0xb9;
  CHECK(!dp_prefix_set_matches(&s, v6, 40, true), "selectors: 2001:db9::1 is not");
  CHECK(!dp_prefix_set_matches(&s, v4, 10, true) && !dp_prefix_set_matches(&s, v6, 39, true), "selectors: truncated packets never match");
  dp_prefix_set odd = {0};
  dp_prefix_set_add(&odd, "10.1.0.128/25");
  v4[14] = 0; v4[15] = 200;
  CHECK(dp_prefix_set_matches(&odd, v4, 20, true), "selectors: a prefix length that is not a whole byte");
  v4[15] = 100;
  CHECK(!dp_prefix_set_matches(&odd, v4, 20, true), "selectors: and its other half");
}

import type { TopologySpec } from './topology.ts';

/**
 * lanA – gwA – nat – gwB – lanB: two sites, gwA behind a masquerading router (so NAT-T is
 * exercised). Addresses are the documentation ranges and private LANs, all inside the lab.
 */
export const twoSitesBehindNat: TopologySpec = {
  hosts: {
    lanA: { gateway: '10.1.0.1' },
    gwA: { forwarding: true, gateway: '172.16.1.1' },
    nat: { forwarding: true, masqueradeOut: 'out' },
    gwB: { forwarding: true },
    lanB: { gateway: '10.2.0.1' },
  },
  links: {
    lan: { a: ['lanA', '10.1.0.10/24'], b: ['gwA', '10.1.0.1/24'] },
    wan: { a: ['gwA', '172.16.1.2/24'], b: ['nat', '172.16.1.1/24'] },
    out: { a: ['nat', '203.0.113.1/24'], b: ['gwB', '203.0.113.2/24'] },
    lanb: { a: ['gwB', '10.2.0.1/24'], b: ['lanB', '10.2.0.10/24'] },
  },
};

/** lanA – gwA – gwB – lanB with a direct WAN link: the data-plane tests' and benchmarks' topology. */
export const twoSitesDirect: TopologySpec = {
  hosts: {
    lanA: { gateway: '10.1.0.1' },
    gwA: { forwarding: true },
    gwB: { forwarding: true },
    lanB: { gateway: '10.2.0.1' },
  },
  links: {
    lan: { a: ['lanA', '10.1.0.10/24'], b: ['gwA', '10.1.0.1/24'] },
    wan: { a: ['gwA', '192.0.2.1/24'], b: ['gwB', '192.0.2.2/24'] },
    lanb: { a: ['gwB', '10.2.0.1/24'], b: ['lanB', '10.2.0.10/24'] },
  },
};

/**
 * lanA – gwA – natA – natB – gwB – lanB: both gateways behind masquerading routers; natB forwards
 * UDP 500 and 4500 to gwB (and natA to gwA), as a branch router in front of a VPN gateway would.
 */
export const twoSitesBothBehindNat: TopologySpec = {
  hosts: {
    lanA: { gateway: '10.1.0.1' },
    gwA: { forwarding: true, gateway: '172.16.1.1' },
    natA: { forwarding: true, masqueradeOut: 'out', forwardUdp: { ports: [500, 4500], to: '172.16.1.2' } },
    natB: { forwarding: true, masqueradeOut: 'out', forwardUdp: { ports: [500, 4500], to: '172.16.2.2' } },
    gwB: { forwarding: true, gateway: '172.16.2.1' },
    lanB: { gateway: '10.2.0.1' },
  },
  links: {
    lan: { a: ['lanA', '10.1.0.10/24'], b: ['gwA', '10.1.0.1/24'] },
    wan: { a: ['gwA', '172.16.1.2/24'], b: ['natA', '172.16.1.1/24'] },
    out: { a: ['natA', '203.0.113.1/24'], b: ['natB', '203.0.113.2/24'] },
    wanb: { a: ['natB', '172.16.2.1/24'], b: ['gwB', '172.16.2.2/24'] },
    lanb: { a: ['gwB', '10.2.0.1/24'], b: ['lanB', '10.2.0.10/24'] },
  },
};

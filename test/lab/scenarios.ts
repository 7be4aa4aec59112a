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

/**
 * lanA – gwA ┐
 *             nat – gwB – lanB: two sites behind ONE masquerading router, so the gateway sees
 * lanC – gwC ┘                  both on 203.0.113.1 and tells them apart only by port.
 */
export const twoSitesBehindOneNat: TopologySpec = {
  hosts: { ...twoSitesBehindNat.hosts, lanC: { gateway: '10.3.0.1' }, gwC: { forwarding: true, gateway: '172.16.3.1' } },
  links: {
    ...twoSitesBehindNat.links,
    lanc: { a: ['lanC', '10.3.0.10/24'], b: ['gwC', '10.3.0.1/24'] },
    wanc: { a: ['gwC', '172.16.3.2/24'], b: ['nat', '172.16.3.1/24'] },
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

/**
 * Two branch sites and a hub site around a router: lanA1 – gwA1 ┐
 *                                                                rtr – gwB – lanB
 *                                                lanA2 – gwA2 ┘
 * For many tunnels on one gateway (Postern's shared TUN).
 */
export const twoBranchesOneHub: TopologySpec = {
  hosts: {
    lanA1: { gateway: '10.1.0.1' },
    gwA1: { forwarding: true, gateway: '198.51.100.1' },
    lanA2: { gateway: '10.3.0.1' },
    gwA2: { forwarding: true, gateway: '198.51.101.1' },
    rtr: { forwarding: true },
    gwB: { forwarding: true, gateway: '192.0.2.1' },
    lanB: { gateway: '10.2.0.1' },
  },
  links: {
    la1: { a: ['lanA1', '10.1.0.10/24'], b: ['gwA1', '10.1.0.1/24'] },
    a1: { a: ['gwA1', '198.51.100.2/24'], b: ['rtr', '198.51.100.1/24'] },
    la2: { a: ['lanA2', '10.3.0.10/24'], b: ['gwA2', '10.3.0.1/24'] },
    a2: { a: ['gwA2', '198.51.101.2/24'], b: ['rtr', '198.51.101.1/24'] },
    core: { a: ['rtr', '192.0.2.1/24'], b: ['gwB', '192.0.2.2/24'] },
    lanb: { a: ['gwB', '10.2.0.1/24'], b: ['lanB', '10.2.0.10/24'] },
  },
};

/**
 * A VPN gateway `gw` with a LAN behind it (lanB, 10.2.0.0/24), for remote-access clients running in a
 * qemu guest (test/lab/vm/): the VM lab plugs the guest into `gw` through a tap on 198.51.100.0/24
 * (TEST-NET-2), addresses in VM_CLIENT. The guest gets no default route: only a tunnel reaches the LAN.
 */
export const vmClientSite: TopologySpec = {
  hosts: {
    gw: { forwarding: true },
    lanB: { gateway: '10.2.0.1' },
  },
  links: {
    lanb: { a: ['gw', '10.2.0.1/24'], b: ['lanB', '10.2.0.10/24'] },
  },
};

/** Where the guest of vmClientSite sits: `Vm.boot(lab, VM_CLIENT.host, { address: VM_CLIENT.guestAddress, hostAddress: VM_CLIENT.hostAddress, … })`. */
export const VM_CLIENT = {
  host: 'gw',
  hostAddress: '198.51.100.1/24',
  guestAddress: '198.51.100.2/24',
  /** gw's address as the guest reaches it (the VPN server's address for the clients). */
  gateway: '198.51.100.1',
  guest: '198.51.100.2',
} as const;

/**
 * Remote access from a qemu guest over a routed path, with Postern's WAN addressed from the start (a
 * gateway whose WAN gets its address only when the guest's tap appears would find no address to
 * listen on):
 *
 *   guest ─tap─ client ─access─ isp ─wan─ gw ─lanb─ lanB
 *                                 └─net─ internet
 *
 * `client` is the guest's home router (the tap, 198.51.100.1/24, is made by Vm.boot: VM_REMOTE), `isp`
 * routes between it, the gateway's WAN (192.0.2.2) and `internet` (203.0.113.10), a host beyond the
 * gateway that the client cannot reach directly: `client` routes only the gateway's WAN prefix, so
 * the guest reaches `internet` and the LAN only through a tunnel the gateway forwards (and, for
 * `internet`, masquerades: see the test).
 */
export const vmRemoteAccess: TopologySpec = {
  hosts: {
    client: { forwarding: true, routes: { '192.0.2.0/24': '172.16.1.1' } },
    isp: { forwarding: true, routes: { '198.51.100.0/24': '172.16.1.2' } },
    gw: { forwarding: true, gateway: '192.0.2.1' },
    lanB: { gateway: '10.2.0.1' },
    internet: { gateway: '203.0.113.1' },
  },
  links: {
    access: { a: ['client', '172.16.1.2/24'], b: ['isp', '172.16.1.1/24'] },
    wan: { a: ['isp', '192.0.2.1/24'], b: ['gw', '192.0.2.2/24'] },
    lanb: { a: ['gw', '10.2.0.1/24'], b: ['lanB', '10.2.0.10/24'] },
    net: { a: ['isp', '203.0.113.1/24'], b: ['internet', '203.0.113.10/24'] },
  },
};

/** Where vmRemoteAccess's guest sits and what it reaches: `Vm.boot(lab, VM_REMOTE.host, { address: VM_REMOTE.guestAddress, hostAddress: VM_REMOTE.hostAddress, gateway: VM_REMOTE.router, … })`. */
export const VM_REMOTE = {
  host: 'client',
  hostAddress: '198.51.100.1/24',
  guestAddress: '198.51.100.2/24',
  /** The guest's default route (its home router). */
  router: '198.51.100.1',
  guest: '198.51.100.2',
  /** The gateway's WAN address, there before the guest boots: the VPN server's address for the clients. */
  server: '192.0.2.2',
  /** The gateway's WAN interface (a veth named after its link) and LAN interface. */
  wanInterface: 'wan',
  lanInterface: 'lanb',
  lanHost: '10.2.0.10',
  internetHost: '203.0.113.10',
} as const;

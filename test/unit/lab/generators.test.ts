import t from 'tap';
import { radiusdConf, usersFile } from '../../lab/peers/freeradius-config.ts';
import { mosquittoConf } from '../../lab/peers/mosquitto.ts';
import { openVpnConfig } from '../../lab/peers/openvpn.ts';
import { parseListSas } from '../../lab/peers/strongswan.ts';
import { strongswanConf, swanctlConf } from '../../lab/peers/strongswan-config.ts';

t.test('strongswan.conf: no autoloading, own vici socket for charon and swanctl, file log', async (t) => {
  const conf = strongswanConf('/tmp/x');
  t.match(conf, /load_modular = no/);
  t.match(conf, /load = [^\n]*kernel-libipsec[^\n]*kernel-netlink/, 'libipsec before netlink: ESP in userspace');
  t.equal(conf.match(/socket = unix:\/\/\/tmp\/x\/charon\.vici/g)?.length, 2);
  t.match(conf, /path = \/tmp\/x\/charon\.log/);
  t.match(conf, /ike = 2/, 'keys stay out of the log unless asked for');
});

t.test('swanctl.conf: connection, children, secrets quoted, pools', async (t) => {
  const conf = swanctlConf({
    connections: {
      rw: {
        localAddrs: ['%any'], remoteAddrs: ['%any'], proposals: ['aes256-sha1-modp1024', 'aes256-sha256-modp2048'],
        local: { auth: 'pubkey', id: 'vpn.example', certs: ['gw.pem'] }, remote: { auth: 'eap-mschapv2', id: '%any', eapId: '%any' },
        children: { all: { localTs: ['0.0.0.0/0'], remoteTs: ['dynamic'], espProposals: ['aes256-sha1'] } },
        pools: ['clients'], mobike: false,
      },
    },
    secrets: [{ kind: 'eap', ids: ['alice'], secret: 'pa"ss\\word' }],
    pools: { clients: { addrs: '10.10.0.0/24', dns: ['10.10.0.1'] } },
  });
  t.match(conf, /proposals = aes256-sha1-modp1024, aes256-sha256-modp2048/);
  t.match(conf, /certs = gw\.pem/);
  t.match(conf, /eap_id = %any/);
  t.match(conf, /remote_ts = dynamic/);
  t.match(conf, /mobike = no/);
  t.match(conf, /secret = "pa\\"ss\\\\word"/, 'quotes and backslashes escaped');
  t.match(conf, /clients \{\n {4}addrs = 10\.10\.0\.0\/24\n {4}dns = 10\.10\.0\.1/);
  const opens = conf.split('{').length;
  t.equal(opens, conf.split('}').length, 'braces balance');
});

t.test('parseListSas reads states and counters from swanctl --raw', async (t) => {
  const raw = 'list-sa event {site {uniqueid=1 version=2 state=ESTABLISHED local-host=203.0.113.2 nat-remote=yes child-sas {net-1 {name=net uniqueid=1 reqid=1 state=INSTALLED mode=TUNNEL protocol=ESP bytes-in=252 packets-in=3 bytes-out=252 packets-out=3 local-ts=[10.2.0.0/24] remote-ts=[10.1.0.0/24]}}}}\n';
  t.same(parseListSas(raw), [{ name: 'site', state: 'ESTABLISHED', children: [{ name: 'net', state: 'INSTALLED', bytesIn: 252, bytesOut: 252, packetsIn: 3 }] }]);
  t.same(parseListSas('list-sas reply {}\n'), []);
});

t.test('mosquitto.conf: no anonymous access, password file, root user, TLS listener when asked', async (t) => {
  const conf = mosquittoConf('/d', { address: '10.9.0.1', users: {}, tls: { port: 8883, cert: '/c.pem', key: '/k.pem' } });
  t.match(conf, /allow_anonymous false/);
  t.match(conf, /password_file \/d\/passwd/);
  t.match(conf, /user root/);
  t.match(conf, /listener 1883 10\.9\.0\.1\n/);
  t.match(conf, /listener 8883 10\.9\.0\.1\ncertfile \/c\.pem\nkeyfile \/k\.pem/);
});

t.test('mosquitto.conf: a bridge with its topics, MQTT 5, TLS with a client certificate', async (t) => {
  const conf = mosquittoConf('/d', { address: '10.9.4.1', users: {}, bridge: { name: 'edge', address: '10.9.3.1:8883', topics: [['a/+/desired', 'out', 1], ['a/+/reported', 'in', 1]], tls: { ca: '/ca', cert: '/c', key: '/k' } } });
  t.match(conf, /connection edge\naddress 10\.9\.3\.1:8883\nbridge_protocol_version mqttv50\n/);
  t.match(conf, /topic a\/\+\/desired out 1\ntopic a\/\+\/reported in 1\nbridge_cafile \/ca\nbridge_certfile \/c\nbridge_keyfile \/k\n$/);
  t.notMatch(mosquittoConf('/d', { address: '10.9.4.1', users: {} }), /connection/);
});

t.test('radiusd.conf and users: standalone, quoted, with reply attributes', async (t) => {
  const conf = radiusdConf('/r', { address: '10.9.0.1', clients: [{ name: 'lab', network: '10.9.0.0/24', secret: 's"1' }], users: [] });
  t.match(conf, /confdir = \/r/);
  t.match(conf, /secret = "s\\"1"/);
  t.match(conf, /ipaddr = 10\.9\.0\.1\n {4}port = 1812/);
  t.notMatch(conf, /\/etc\/freeradius/, 'nothing read from the system configuration');
  t.equal(usersFile([{ name: 'bob', password: 'x"y', reply: { 'Framed-IP-Address': '10.10.0.9' } }]), '"bob"\tCleartext-Password := "x\\"y"\n\tFramed-IP-Address = "10.10.0.9"\n');
  t.notMatch(conf, /peap|inner-tunnel/, 'no PEAP unless asked');
  const eapTls = { certificatePem: 'c', keyPem: 'k', caPem: 'a' };
  const peap = radiusdConf('/r', { address: '10.9.0.1', clients: [], users: [], eap: true, eapTls, eapPeap: true });
  t.match(peap, /peap \{\n {6}tls = tls-common\n {6}default_eap_type = mschapv2[\s\S]*virtual_server = "inner-tunnel"/, 'PEAP on the EAP-TLS certificate, MS-CHAPv2 inside');
  t.match(peap, /server inner-tunnel \{[\s\S]*Auth-Type MS-CHAP \{\n {6}mschap/, 'the inner MS-CHAPv2 checked by its own server');
});

t.test('openvpn.conf: p2p TLS, AES-256-GCM, userspace (DCO off), routes', async (t) => {
  const conf = openVpnConfig({ role: 'client', local: '192.0.2.1', remote: '192.0.2.2', ifconfig: ['10.254.0.1', '10.254.0.2'], routes: ['10.2.0.0 255.255.255.0'], pki: '/p' });
  t.match(conf, /^tls-client$/m);
  t.match(conf, /^data-ciphers AES-256-GCM$/m);
  t.match(conf, /^disable-dco$/m);
  t.match(conf, /^route 10\.2\.0\.0 255\.255\.255\.0$/m);
  t.match(conf, /^cert \/p\/client\.crt$/m);
  t.match(openVpnConfig({ role: 'server', local: 'a', remote: 'b', ifconfig: ['x', 'y'], routes: [], pki: '/p' }), /^tls-server$/m);
});

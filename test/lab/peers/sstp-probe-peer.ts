// An SSTP listener (the real one) whose PPP side only counts the calls that reach it: for the TLS and
// HTTP handshake with real clients, apart from PPP; with `driver`, the calls' TLS runs in the driver (issue 23).
import { randomBytes } from 'node:crypto';
import { createLogger } from '../../../firmware/log/logger.ts';
import { createCa } from '../../../firmware/pki/ca.ts';
import { issueServerCertificate } from '../../../firmware/pki/issue.ts';
import { SstpListener } from '../../../firmware/sstp/sstp-listener.ts';

const config = JSON.parse(process.argv[2] ?? '{}') as { name: string; port: number; firstFlightDelayMs?: number; driver?: boolean };
const now = new Date();
const ca = createCa({ commonName: 'probe CA', validityDays: 2, keyType: 'ecdsa-p256', now });
const cert = issueServerCertificate(ca, { commonName: config.name, sans: [config.name], validityDays: 2, now });
let calls = 0;
const listener = new SstpListener({
  host: '0.0.0.0', port: config.port, certificatePem: cert.certificatePem, keyPem: cert.keyPem,
  logger: createLogger({ sink: (r) => console.log(`log ${JSON.stringify(r)}`) }),
  ...(config.firstFlightDelayMs !== undefined ? { firstFlightDelayMs: config.firstFlightDelayMs } : {}),
  // Issue 23: the calls' TLS in the driver (no hub: the handshake is the point, not IP).
  ...(config.driver ? { native: {} } : {}),
  connection: {
    session: { randomBytes: (n) => randomBytes(n) },
    createLink: () => ({ lowerUp: () => console.log(`event ${JSON.stringify({ type: 'call', calls: ++calls })}`), receiveFrame: () => {}, lowerDown: () => {} }),
  },
});
await listener.start();
console.log('ready');
process.on('SIGTERM', () => process.exit(0));

/** `system`: host identity, management services and login users. */
import { container, flag, leaf, leafList, list } from './dsl.js';
import { enumOf, hostname, ip, name, str, uint } from './types.js';

/** `FACILITY LEVEL` statements of a syslog destination: what it keeps (telemetry/syslog.ts) */
const LEVEL = enumOf('any', 'emergency', 'alert', 'critical', 'error', 'warning', 'notice', 'info', 'debug', 'none');
const syslogFacilities = {
  any: leaf('All facilities', LEVEL),
  'interactive-commands': leaf('Commits and commands (UI_COMMIT, UI_CONFIGURATION_ERROR)', LEVEL),
  'change-log': leaf('Configuration changes', LEVEL),
  daemon: leaf('Daemons and protocol sessions (BGP state changes, start and stop)', LEVEL),
  authorization: leaf('Logins', LEVEL),
  kernel: leaf('Interfaces and the forwarding plane', LEVEL),
  firewall: leaf('Firewall filters', LEVEL),
  pfe: leaf('The vRouter data plane', LEVEL),
  user: leaf('User processes', LEVEL),
};

export const system = container('System parameters', {
  'host-name': leaf('Host name of this router', hostname),
  'domain-name': leaf('Domain name of this router', hostname),
  'time-zone': leaf('Time zone name (for example UTC)', str),
  services: container('Management services', {
    rest: container('REST management API over TCP (HTTP, bearer-token authenticated); off unless configured', {
      port: leaf('TCP port (0 picks a free port)', uint(0, 65535), { default: 8080 }),
      address: leaf('Address to listen on', ip, { default: '127.0.0.1' }),
    }),
    ssh: container('The CLI over SSH (users and keys from system login); off unless configured', {
      port: leaf('TCP port (0 picks a free port)', uint(0, 65535), { default: 22 }),
      address: leaf('Address to listen on', ip, { default: '127.0.0.1' }),
    }),
    netconf: container('NETCONF over SSH (RFC 6241/6242; users and keys from system login); off unless configured', {
      ssh: container('NETCONF over SSH', {
        port: leaf('TCP port (0 picks a free port)', uint(0, 65535), { default: 830 }),
        address: leaf('Address to listen on', ip, { default: '127.0.0.1' }),
      }),
    }),
    grpc: container('gRPC management API (proto/mgmt.proto, bearer-token authenticated); off unless configured', {
      port: leaf('TCP port (0 picks a free port)', uint(0, 65535), { default: 50051 }),
      address: leaf('Address to listen on', ip, { default: '127.0.0.1' }),
    }),
  }),
  syslog: container('System logging (RFC 5424 over UDP, and files under <state-dir>/log)', {
    host: list('A syslog collector', 'host-name', str, {
      port: leaf('UDP port of the collector', uint(1, 65535), { default: 514 }),
      ...syslogFacilities,
    }),
    file: list('A log file (show log NAME)', 'file-name', name, { ...syslogFacilities }),
  }),
  login: container('Users and authentication', {
    user: list('A user allowed to log in', 'user-name', name, {
      uid: leaf('User id', uint(100, 64000)),
      class: leaf('Login class', enumOf('super-user', 'operator', 'read-only'), { default: 'super-user' }),
      'full-name': leaf('Full name of the user', str),
      authentication: container('Authentication methods', {
        'encrypted-password': leaf('Password hash (crypt(3) form)', str, { secret: true }),
        'ssh-rsa': leafList('SSH RSA public key', str),
        'ssh-ed25519': leafList('SSH Ed25519 public key', str),
        'no-public-keys': flag('Disable SSH public-key authentication'),
      }),
    }),
  }),
});

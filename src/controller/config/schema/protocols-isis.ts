/**
 * `protocols isis` in Junos's form, and the ISO family of an interface unit (`family iso`,
 * with the NET on lo0 that names the IS-IS system). The schema checks each statement alone;
 * rules over several statements (a NET present, interfaces with family iso, SRGB bounds,
 * export policies defined) are in config/validate.ts, and the IS-IS consumer resolves the
 * Junos defaults (protocols/isis/config.ts).
 */
import { container, flag, leaf, leafList, list, type LeafType } from './dsl.js';
import { ifname, name, str, uint } from './types.js';

/**
 * A network entity title: area address (1 to 13 bytes), system ID (6 bytes), selector 00,
 * written in dotted hex as Junos and FRR do ("49.0001.0102.5500.0001.00").
 */
export const netTitle: LeafType = {
  name: 'iso-net (area.system-id.00, e.g. 49.0001.0102.5500.0001.00)',
  parse(w: string) {
    const hex = w.replace(/\./g, '');
    if (!/^[0-9a-fA-F]+$/.test(hex) || hex.length % 2 !== 0) throw new Error(`invalid NET '${w}' (dotted hex: area, system ID, selector)`);
    const bytes = hex.length / 2;
    if (bytes < 8 || bytes > 20) throw new Error(`invalid NET '${w}': ${bytes} bytes, want 8 to 20 (1-13 of area, 6 of system ID, 1 selector)`);
    if (hex.slice(-2) !== '00') throw new Error(`invalid NET '${w}': the selector (last byte) must be 00`);
    const sys = hex.slice(-14, -2).toLowerCase();
    const area = hex.slice(0, -14).toLowerCase();
    // canonical: AFI byte, then 2-byte groups, then the system ID in three groups, then 00
    let out = area.slice(0, 2);
    for (let i = 2; i < area.length; i += 4) out += '.' + area.slice(i, i + 4);
    return `${out}.${sys.slice(0, 4)}.${sys.slice(4, 8)}.${sys.slice(8, 12)}.00`;
  },
};

/** `interfaces X unit N family iso`: IS-IS runs on the unit; on lo0 it carries the NET. */
export const familyIso = container('ISO (IS-IS PDUs on this unit)', {
  address: list('Network entity title (on lo0: names the IS-IS system)', 'net', netTitle, {}),
});

const timers = {
  'hello-interval': leaf('Seconds between hellos', uint(1, 20000), { default: 9 }),
  'hold-time': leaf('Seconds a neighbour keeps the adjacency without hellos (default: 3 x hello-interval, 27 s)', uint(3, 65535)),
};

export const protocolsIsis = container('Intermediate System to Intermediate System (ISO 10589, RFC 1195)', {
  interface: list('An interface IS-IS runs on (or advertises, when passive)', 'interface-name', ifname, {
    'point-to-point': flag('Treat the circuit as point-to-point (RFC 5309: no DIS, three-way hellos)'),
    passive: flag('Advertise the interface addresses, send no hellos'),
    disable: flag('Do not run IS-IS on this interface'),
    ...timers,
    level: list('Per-level settings of this interface', 'level', uint(1, 2), {
      metric: leaf('Wide metric of the link (RFC 5305)', uint(1, 16777215), { default: 10 }),
      disable: flag('Do not run this level on the interface'),
      passive: flag('Advertise, but form no adjacency at this level'),
      priority: leaf('DIS election priority on a LAN', uint(0, 127), { default: 64 }),
      ...timers,
    }),
  }),
  level: list('Per-level settings of the instance', 'level', uint(1, 2), {
    disable: flag('Do not run this level'),
    'authentication-key': leaf('Key for HMAC-MD5 authentication of this level\'s PDUs (RFC 5304)', str, { secret: true }),
    'authentication-type': leaf('Authentication type (md5: HMAC-MD5)', { name: 'md5', parse: (w: string) => { if (w !== 'md5') throw new Error(`'${w}' is not supported (md5)`); return w; }, values: ['md5'] }),
    'wide-metrics-only': flag('Send wide metrics only (always the case: narrow metrics are not sent)'),
    preference: leaf('Preference of internal routes', uint(0, 4294967295)),
    'external-preference': leaf('Preference of external routes', uint(0, 4294967295)),
  }),
  overload: flag('Set the overload bit: no transit traffic through this system'),
  export: leafList('Export policies (redistribute routes into IS-IS)', name),
  'lsp-lifetime': leaf('Lifetime of this system\'s LSPs, seconds', uint(350, 65535), { default: 1200 }),
  'source-packet-routing': container('Segment routing (RFC 8667)', {
    srgb: container('Segment routing global block', {
      'start-label': leaf('First label of the SRGB', uint(16, 1048575)),
      'index-range': leaf('Number of labels of the SRGB', uint(1, 1048560)),
    }),
    srlb: container('Segment routing local block (adjacency SIDs)', {
      'start-label': leaf('First label of the SRLB', uint(16, 1048575)),
      'index-range': leaf('Number of labels of the SRLB', uint(1, 1048560)),
    }),
    'node-segment': container('Prefix SIDs of the loopback addresses (node flag set)', {
      'ipv4-index': leaf('SID index of the lo0 IPv4 address', uint(0, 1048575)),
      'ipv6-index': leaf('SID index of the lo0 IPv6 address', uint(0, 1048575)),
    }),
    'explicit-null': flag('Ask neighbours for explicit null rather than PHP'),
  }),
});

/**
 * Session facts that change how messages are encoded and decoded, negotiated in OPEN and
 * passed to every codec call (GoBGP's shape): 4-octet AS numbers, add-path per AFI/SAFI,
 * extended messages.
 */

export const Afi = { Ipv4: 1, Ipv6: 2 } as const;
export const Safi = { Unicast: 1, LabeledUnicast: 4, MplsVpn: 128 } as const;

/** `afi/safi` text key, e.g. '1/1' for IPv4 unicast, '2/1' for IPv6 unicast */
export function familyKey(afi: number, safi: number): string {
  return `${afi}/${safi}`;
}

export interface SessionOptions {
  /** both sides announced the 4-octet AS capability: AS_PATH carries 4-byte ASNs */
  readonly as4: boolean;
  /** families where NLRI we receive carry a path identifier (we said receive, peer said send) */
  readonly addPathRx: ReadonlySet<string>;
  /** families where NLRI we send carry a path identifier */
  readonly addPathTx: ReadonlySet<string>;
  /** RFC 8654 negotiated: messages up to 65535 octets */
  readonly extendedMessage: boolean;
  /**
   * Decode unicast prefixes as values rather than text: IPv4 into DecodedUpdate.v4 (lib/addr
   * ipv4PrefixCodes), IPv6 as lib/addr ipv6PrefixKeys in MP_REACH/MP_UNREACH's prefixes.
   * What a receiving session asks for; absent for tools and tests.
   */
  readonly prefixCodes?: boolean;
}

export const DEFAULT_OPTIONS: SessionOptions = {
  as4: true,
  addPathRx: new Set(),
  addPathTx: new Set(),
  extendedMessage: false,
};

export function maxMessageLength(o: SessionOptions): number {
  return o.extendedMessage ? 65535 : 4096;
}

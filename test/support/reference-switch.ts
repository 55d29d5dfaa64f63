/**
 * A reference 802.1Q switch (with QinQ: per-port TPIDs and tunnel access ports) for the differential test of the data plane's L2 path
 * (src/dataplane/l2.test.ts): the behaviour docs/l2.md describes, written as plainly as
 * possible (maps and arrays, one frame at a time), with no claim to speed. Given a frame on a
 * port it says which ports send which bytes, or why it is dropped, and learns the source the
 * way the data plane's main thread does once the worker's event arrives.
 */

export interface RefPort {
  mode: 'access' | 'trunk';
  vlan?: number;
  vlans?: number[];
  native?: number;
  noLocalSwitching?: boolean;
  /** QinQ: a trunk's TPID (default 0x8100); an access port that tunnels 802.1Q-tagged frames */
  tpid?: number;
  dot1qTunneling?: boolean;
}

export interface RefDomain {
  vlan: number;
  macTableSize?: number;
  interfaceMacLimit?: number;
}

export interface RefResult {
  out: { port: string; frame: Uint8Array }[];
  drop?: string;
}

const hex = (b: Uint8Array, o: number): string => Array.from(b.subarray(o, o + 6), (x) => x.toString(16).padStart(2, '0')).join(':');

export class ReferenceSwitch {
  /** in the order flooding sends (the data plane floods in vif order; tests compare per port) */
  readonly ports = new Map<string, RefPort>();
  readonly domains = new Map<number, RefDomain>();
  /** `${vlan} ${mac}` -> port */
  readonly macs = new Map<string, string>();

  private carries(p: RefPort, v: number): boolean {
    return p.mode === 'access' ? p.vlan === v : (p.vlans ?? []).includes(v) || p.native === v;
  }

  private count(pred: (k: string, port: string) => boolean): number {
    let n = 0;
    for (const [k, port] of this.macs) if (pred(k, port)) n++;
    return n;
  }

  private portLimit(port: string): number {
    const p = this.ports.get(port)!;
    let l = 0;
    for (const d of this.domains.values()) {
      if (!this.carries(p, d.vlan) || !d.interfaceMacLimit) continue;
      l = l === 0 ? d.interfaceMacLimit : Math.min(l, d.interfaceMacLimit);
    }
    return l;
  }

  receive(inPort: string, f: Uint8Array): RefResult {
    const p = this.ports.get(inPort)!;
    if (f.length < 14) return { out: [], drop: 'truncated' };
    let vlan: number;
    let payload: number;
    const et = (f[12]! << 8) | f[13]!;
    if (et === (p.tpid ?? 0x8100) && !p.dot1qTunneling) {
      if (f.length < 18) return { out: [], drop: 'truncated' };
      vlan = ((f[14]! << 8) | f[15]!) & 0xfff;
      if (p.mode !== 'trunk' || !this.carries(p, vlan)) return { out: [], drop: 'l2_vlan_not_allowed' };
      payload = 18;
    } else if (et === 0x8100 && p.mode === 'trunk') {
      // a customer (802.1Q) tag on a provider trunk
      return { out: [], drop: 'l2_vlan_not_allowed' };
    } else {
      // untagged, or a tunnel port's customer tag (payload)
      vlan = p.mode === 'access' ? p.vlan! : (p.native ?? 0);
      payload = 14;
    }
    const d = this.domains.get(vlan);
    if (vlan === 0 || !d) return { out: [], drop: 'l2_no_domain' };
    const src = hex(f, 6);
    if ((f[6]! & 1) !== 0 || src === '00:00:00:00:00:00') return { out: [], drop: 'l2_bad_source' };
    const skey = `${vlan} ${src}`;
    const known = this.macs.get(skey);
    const pl = this.portLimit(inPort);
    if (known === undefined) {
      const bl = d.macTableSize ?? 0;
      if ((pl && this.count((_, port) => port === inPort) >= pl) || (bl && this.count((k) => k.startsWith(`${vlan} `)) >= bl)) return { out: [], drop: 'mac_limit' };
    }
    const res = this.forward(inPort, p, f, vlan, payload);
    // learning: a new source, or a move (refused over the new port's limit)
    if (known !== inPort && (known === undefined || !pl || this.count((_, port) => port === inPort) < pl)) this.macs.set(skey, inPort);
    return res;
  }

  private forward(inPort: string, p: RefPort, f: Uint8Array, vlan: number, payload: number): RefResult {
    const dst = hex(f, 0);
    const body = f.subarray(payload);
    const header = (port: RefPort): Uint8Array => {
      const tagged = port.mode === 'trunk' && port.native !== vlan;
      // a frame that came in tagged keeps its tag word (priority bits); an untagged one gets priority 0
      const tci = payload === 18 ? (f[14]! << 8) | f[15]! : vlan;
      const h = new Uint8Array(tagged ? 16 : 12);
      h.set(f.subarray(0, 12));
      const tpid = port.tpid ?? 0x8100;
      if (tagged) { h[12] = tpid >> 8; h[13] = tpid & 255; h[14] = tci >> 8; h[15] = tci & 255; }
      const out = new Uint8Array(h.length + 2 + body.length);
      out.set(h);
      out[h.length] = f[payload - 2]!; out[h.length + 1] = f[payload - 1]!;
      out.set(body, h.length + 2);
      return out;
    };
    if ((f[0]! & 1) === 0) {
      const to = this.macs.get(`${vlan} ${dst}`);
      if (to !== undefined) {
        if (to === inPort) return { out: [], drop: 'l2_same_port' };
        const tp = this.ports.get(to)!;
        if (p.noLocalSwitching && tp.noLocalSwitching) return { out: [], drop: 'no_local_switching' };
        return { out: [{ port: to, frame: header(tp) }] };
      }
    }
    const out: RefResult['out'] = [];
    for (const [name, port] of this.ports) {
      if (name === inPort || !this.carries(port, vlan) || (p.noLocalSwitching && port.noLocalSwitching)) continue;
      out.push({ port: name, frame: header(port) });
    }
    return out.length ? { out } : { out, drop: 'l2_no_ports' };
  }
}

/**
 * L2 switching on the main thread (docs/l2.md): the bridge domains and ports behind the
 * programming API's setBridgeDomain/setBridgePort, written into the shared bridge table
 * (tables/bridge-table.ts), and the MAC table's one writer (tables/mac-table.ts): it applies
 * the workers' learn events (install, move, limits checked again), ages entries out, installs
 * each IRB's MAC as a static entry, and lists and clears the table. VRouterDataplane owns one
 * BridgeManager and tells it when vifs go.
 */
import { formatMac } from '../lib/addr.js';
import { logLine } from '../telemetry/log.js';
import { DataplaneError, type BridgeDomainConfig, type BridgeDomainInfo, type BridgePortConfig, type MacEntryInfo } from './api.js';
import { EVENT_WORDS } from './graph/graph.js';
import { L2_EVENT } from './graph/l2-input.js';
import { PORT_ACCESS, PORT_DOT1Q_TUNNEL, PORT_IRB, PORT_NONE, PORT_NO_LOCAL_SWITCHING, PORT_TRUNK, MAX_BD_PORTS, BD_LIMIT_FORWARD, BD_TABLE_FORWARD, QINQ_TPIDS, TPID_8021Q, type BridgeTable } from './tables/bridge-table.js';
import { MAC_STATIC, type MacTable } from './tables/mac-table.js';
import { VIF_IRB, VIF_L2, type VifTable } from './tables/vif-table.js';

interface DomainState {
  id: number;
  cfg: BridgeDomainConfig;
  irb: number;
  moves: number;
}

/** What the manager needs of the data plane around it. */
export interface BridgeContext {
  readonly bridge: BridgeTable;
  readonly mac: MacTable;
  readonly vif: VifTable;
  /** a vif's id by name, or undefined */
  vifId(name: string): number | undefined;
  vifName(id: number): string;
}

const nowSec = (): number => Math.floor(Date.now() / 1000);
const MOVE_LOG_INTERVAL_MS = 1000;

function checkVlan(v: unknown, what: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > 4094) throw new DataplaneError(`invalid ${what} ${String(v)} (1..4094)`);
  return v;
}

export class BridgeManager {
  private readonly domains = new Map<string, DomainState>();
  private readonly byId: (DomainState | undefined)[] = [];
  private readonly ports = new Map<number, BridgePortConfig>();
  private agingSec = 300;
  private lastAge = 0;
  private lastMoveLog = 0;
  private movesUnlogged = 0;
  /** learn events the main thread refused (limits, table full), for introspection */
  refused = 0;

  constructor(private readonly cx: BridgeContext) {}

  setDomain(cfg: BridgeDomainConfig): void {
    if (!cfg || typeof cfg.name !== 'string' || !/^[A-Za-z0-9_.:-]{1,64}$/.test(cfg.name)) throw new DataplaneError(`invalid bridge domain name '${cfg?.name}'`);
    const vlan = checkVlan(cfg.vlan, `VLAN of bridge domain ${cfg.name}:`);
    const bt = this.cx.bridge;
    for (const d of this.domains.values()) if (d.cfg.name !== cfg.name && d.cfg.vlan === vlan) throw new DataplaneError(`VLAN ${vlan} already belongs to bridge domain ${d.cfg.name}`);
    const limit = (v: number | undefined, what: string): number => {
      if (v === undefined) return 0;
      if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new DataplaneError(`invalid ${what} ${v}`);
      return v;
    };
    const macTableSize = limit(cfg.macTableSize, 'mac-table-size');
    limit(cfg.interfaceMacLimit, 'interface-mac-limit');
    for (const [what, v] of [['interface-mac-limit', cfg.interfaceMacLimitAction], ['mac-table-size', cfg.macTableSizeAction]] as const) {
      if (v !== undefined && v !== 'drop' && v !== 'none') throw new DataplaneError(`invalid ${what} packet-action '${String(v)}' (drop or none)`);
    }
    let irb = -1;
    if (cfg.irb !== undefined) {
      const id = this.cx.vifId(cfg.irb);
      if (id === undefined || (this.cx.vif.flags[id]! & VIF_IRB) === 0) throw new DataplaneError(`bridge domain ${cfg.name}: ${cfg.irb} is not an IRB interface (driver irb)`);
      for (const d of this.domains.values()) if (d.cfg.name !== cfg.name && d.irb === id) throw new DataplaneError(`${cfg.irb} is already the IRB of bridge domain ${d.cfg.name}`);
      irb = id;
    }
    let d = this.domains.get(cfg.name);
    if (!d) {
      let id = 1;
      while (this.byId[id]) id++;
      if (id >= bt.maxDomains) throw new DataplaneError(`too many bridge domains (max ${bt.maxDomains - 1})`);
      d = { id, cfg, irb: -1, moves: 0 };
      this.domains.set(cfg.name, d);
      this.byId[id] = d;
    } else if (d.cfg.vlan !== vlan || d.irb !== irb) {
      // another VLAN or IRB: what was learned belongs to the old one
      this.flush((i) => this.cx.mac.domain(i) === d!.id, true);
      if (d.cfg.vlan !== vlan) Atomics.store(bt.vlanDomain, d.cfg.vlan, 0);
      this.unsetIrb(d);
    }
    d.cfg = { ...cfg, vlan };
    bt.bdVlan[d.id] = vlan;
    bt.bdLimit[d.id] = macTableSize;
    bt.bdFlags[d.id] = (cfg.interfaceMacLimitAction === 'none' ? BD_LIMIT_FORWARD : 0) | (cfg.macTableSizeAction === 'none' ? BD_TABLE_FORWARD : 0);
    if (irb >= 0 && d.irb !== irb) {
      d.irb = irb;
      bt.access[irb] = d.id;
      Atomics.store(bt.mode, irb, PORT_IRB);
      Atomics.store(bt.bdIrb, d.id, irb);
      const m = this.cx.vif.mac.subarray(irb * 6, irb * 6 + 6);
      this.cx.mac.insert(d.id, (m[0]! << 8) | m[1]!, ((m[2]! << 24) | (m[3]! << 16) | (m[4]! << 8) | m[5]!) >>> 0, irb, nowSec(), MAC_STATIC);
    }
    Atomics.store(bt.vlanDomain, vlan, d.id);
    this.rebuild();
  }

  private unsetIrb(d: DomainState): void {
    if (d.irb < 0) return;
    const bt = this.cx.bridge;
    Atomics.store(bt.bdIrb, d.id, -1);
    Atomics.store(bt.mode, d.irb, PORT_NONE);
    this.flush((i) => this.cx.mac.vif[i] === d.irb, true);
    d.irb = -1;
  }

  delDomain(name: string): void {
    const d = this.domains.get(name);
    if (!d) throw new DataplaneError(`no bridge domain '${name}'`);
    const bt = this.cx.bridge;
    Atomics.store(bt.vlanDomain, d.cfg.vlan, 0);
    this.unsetIrb(d);
    bt.setPorts(d.id, []);
    this.flush((i) => this.cx.mac.domain(i) === d.id, true);
    bt.bdLimit[d.id] = 0;
    bt.bdFlags[d.id] = 0;
    Atomics.store(bt.bdCount, d.id, 0);
    this.domains.delete(name);
    this.byId[d.id] = undefined;
    this.rebuild();
  }

  setPort(vif: number, cfg: BridgePortConfig | null): void {
    const bt = this.cx.bridge;
    const vt = this.cx.vif;
    if ((vt.flags[vif]! & VIF_IRB) !== 0) throw new DataplaneError(`${this.cx.vifName(vif)} is an IRB interface, not a bridge port`);
    if (cfg === null) {
      this.clearPort(vif);
      this.rebuild();
      return;
    }
    if (!cfg || (cfg.mode !== 'access' && cfg.mode !== 'trunk')) throw new DataplaneError(`${this.cx.vifName(vif)}: bridge port mode must be access or trunk`);
    let vlans: number[] = [];
    let native = 0;
    let access = 0;
    if (cfg.mode === 'access') {
      access = checkVlan(cfg.vlan, 'access VLAN');
      if (cfg.vlans !== undefined || cfg.nativeVlan !== undefined) throw new DataplaneError(`${this.cx.vifName(vif)}: an access port has one VLAN (vlan), no VLAN list or native VLAN`);
    } else {
      if (cfg.vlan !== undefined) throw new DataplaneError(`${this.cx.vifName(vif)}: a trunk carries a VLAN list (vlans), not one access VLAN`);
      vlans = (cfg.vlans ?? []).map((v) => checkVlan(v, 'trunk VLAN'));
      if (cfg.nativeVlan !== undefined) {
        native = checkVlan(cfg.nativeVlan, 'native VLAN');
        vlans.push(native);
      }
      if (vlans.length === 0) throw new DataplaneError(`${this.cx.vifName(vif)}: a trunk needs VLANs`);
    }
    const tpid = cfg.tpid ?? TPID_8021Q;
    if (!QINQ_TPIDS.includes(tpid)) throw new DataplaneError(`${this.cx.vifName(vif)}: TPID ${String(cfg.tpid)} is not one of 0x8100, 0x88a8, 0x9100`);
    if (tpid !== TPID_8021Q && cfg.mode !== 'trunk') throw new DataplaneError(`${this.cx.vifName(vif)}: only a trunk tags, so only a trunk has a TPID`);
    if (cfg.dot1qTunneling && cfg.mode !== 'access') throw new DataplaneError(`${this.cx.vifName(vif)}: dot1q-tunneling is for an access port (its VLAN is the S-VLAN)`);
    let rate = 0;
    let burst = 0;
    if (cfg.stormControl !== undefined) {
      const bps = cfg.stormControl.bitsPerSecond;
      if (typeof bps !== 'number' || !(bps > 0) || bps > 1e12) throw new DataplaneError(`invalid storm-control rate ${String(bps)} bits/s`);
      rate = bps / 8 / 1000; // bytes per ms
      burst = cfg.stormControl.burstBytes ?? Math.max(rate * 100, 16 * 1518);
      if (!(burst >= 64)) throw new DataplaneError(`invalid storm-control burst ${burst} bytes (64 or more)`);
    }
    // what it learned was learned under the old settings
    this.flush((i) => this.cx.mac.vif[i] === vif, false);
    Atomics.store(bt.mode, vif, PORT_NONE);
    bt.access[vif] = access;
    bt.native[vif] = native;
    bt.setVlans(vif, vlans);
    bt.pflags[vif] = (cfg.noLocalSwitching ? PORT_NO_LOCAL_SWITCHING : 0) | (cfg.dot1qTunneling ? PORT_DOT1Q_TUNNEL : 0);
    bt.tpid[vif] = tpid;
    bt.stormBurst[vif] = burst;
    bt.stormRate[vif] = rate;
    Atomics.store(bt.mode, vif, cfg.mode === 'access' ? PORT_ACCESS : PORT_TRUNK);
    Atomics.or(vt.flags, vif, VIF_L2);
    this.ports.set(vif, structuredClone(cfg));
    this.rebuild();
  }

  /** A vif stops being a port (setPort null, or the vif goes: call before its id is released). */
  clearPort(vif: number): void {
    const bt = this.cx.bridge;
    if (!this.ports.has(vif)) return;
    Atomics.and(this.cx.vif.flags, vif, ~VIF_L2);
    Atomics.store(bt.mode, vif, PORT_NONE);
    bt.stormRate[vif] = 0;
    bt.pflags[vif] = 0;
    bt.tpid[vif] = TPID_8021Q;
    bt.setVlans(vif, []);
    this.flush((i) => this.cx.mac.vif[i] === vif, false);
    this.ports.delete(vif);
  }

  /** A vif goes: its port, and the domain whose IRB it is loses its IRB. */
  forgetVif(vif: number): void {
    this.clearPort(vif);
    for (const d of this.domains.values()) if (d.irb === vif) { this.unsetIrb(d); d.cfg = { ...d.cfg }; delete d.cfg.irb; }
    this.rebuild();
  }

  /** Flood lists and per-port MAC limits from the domains and ports. */
  private rebuild(): void {
    const bt = this.cx.bridge;
    const limit = new Map<number, number>();
    for (const d of this.domains.values()) {
      const members: number[] = [];
      for (const vif of [...this.ports.keys()].sort((a, b) => a - b)) {
        if (!bt.carries(vif, d.cfg.vlan)) continue;
        members.push(vif);
        const l = d.cfg.interfaceMacLimit ?? 0;
        if (l > 0) limit.set(vif, Math.min(limit.get(vif) ?? l, l));
      }
      if (members.length > MAX_BD_PORTS) logLine(`vrouter: bridge domain ${d.cfg.name} has ${members.length} ports; flooding reaches the first ${MAX_BD_PORTS}`);
      bt.setPorts(d.id, members);
    }
    for (const vif of this.ports.keys()) bt.portLimit[vif] = limit.get(vif) ?? 0;
  }

  setAging(seconds: number): void {
    if (!Number.isInteger(seconds) || seconds < 1 || seconds > 1_000_000) throw new DataplaneError(`invalid MAC aging time ${seconds} (1..1000000 seconds)`);
    this.agingSec = seconds;
  }

  /** The workers' learn events (family L2_EVENT; others are the neighbor resolver's). */
  applyEvents(ev: Uint32Array, now = nowSec()): void {
    for (let b = 0; b + EVENT_WORDS <= ev.length; b += EVENT_WORDS) {
      if (ev[b + 1] !== L2_EVENT) continue;
      this.learn(ev[b]!, ev[b + 2]!, ev[b + 6]!, ev[b + 7]!, now);
    }
  }

  private learn(vif: number, bd: number, hi: number, lo: number, now: number): void {
    const d = this.byId[bd];
    const bt = this.cx.bridge;
    const mt = this.cx.mac;
    // the port may have left the domain since the worker saw the frame
    if (!d || !this.ports.has(vif) || !bt.carries(vif, d.cfg.vlan)) return;
    const e = mt.find(bd, hi, lo);
    if (e >= 0) {
      if ((mt.eflags[e]! & MAC_STATIC) !== 0) return;
      const old = mt.vif[e]!;
      if (old === vif) { mt.seen[e] = now; return; }
      // a move: the source now talks from another port (a loop shows up as many)
      const pl = bt.portLimit[vif]!;
      if (pl !== 0 && bt.portCount[vif]! >= pl) { this.refused++; return; }
      d.moves++;
      this.logMove(d, mt.mac(e), old, vif);
      mt.vif[e] = vif;
      mt.seen[e] = now;
      Atomics.sub(bt.portCount, old, 1);
      Atomics.add(bt.portCount, vif, 1);
      Atomics.add(bt.global, 0, 1);
      return;
    }
    const pl = bt.portLimit[vif]!;
    const bl = bt.bdLimit[bd]!;
    if ((pl !== 0 && bt.portCount[vif]! >= pl) || (bl !== 0 && bt.bdCount[bd]! >= bl)) { this.refused++; return; }
    if (mt.insert(bd, hi, lo, vif, now) < 0) { this.refused++; return; }
    Atomics.add(bt.portCount, vif, 1);
    Atomics.add(bt.bdCount, bd, 1);
    Atomics.add(bt.global, 0, 1);
  }

  private logMove(d: DomainState, mac: Uint8Array, from: number, to: number): void {
    const t = Date.now();
    if (t - this.lastMoveLog < MOVE_LOG_INTERVAL_MS) { this.movesUnlogged++; return; }
    const more = this.movesUnlogged > 0 ? ` (and ${this.movesUnlogged} more moves since the last message)` : '';
    this.movesUnlogged = 0;
    this.lastMoveLog = t;
    logLine(`vrouter: MAC move in bridge domain ${d.cfg.name}: ${formatMac(mac)} from ${this.cx.vifName(from)} to ${this.cx.vifName(to)}${more}`);
  }

  /**
   * Forget learned entries older than the aging time. The sweep walks the whole table, so it
   * runs every quarter of the aging time (at least a second apart; entries live up to 25% past
   * it), never while the table is empty: an L3-only router pays nothing. With workers: 0 it
   * runs on the forwarding thread: every second it cost a 2^18-slot walk (callgrind showed it).
   */
  age(at?: number, force = false): number {
    const mt = this.cx.mac;
    if (!force && mt.size === 0) return 0;
    const now = at ?? nowSec();
    if (!force && now - this.lastAge < Math.max(1, Math.floor(this.agingSec / 4))) return 0;
    this.lastAge = now;
    const limit = this.agingSec;
    const aged = this.flush((i) => (mt.eflags[i]! & MAC_STATIC) === 0 && now - mt.seen[i]! >= limit, false);
    // tombstones lengthen misses: clear them out once they are a sixteenth of the table
    if (mt.tombstones > mt.capacity / 16) {
      mt.compact();
      Atomics.add(this.cx.bridge.global, 0, 1);
    }
    return aged;
  }

  /** Remove the entries `pick` chooses (static ones only with `withStatic`); returns how many. */
  private flush(pick: (i: number) => boolean, withStatic: boolean): number {
    const mt = this.cx.mac;
    const bt = this.cx.bridge;
    const gone: number[] = [];
    mt.forEach((i) => {
      if (pick(i) && (withStatic || (mt.eflags[i]! & MAC_STATIC) === 0)) gone.push(i);
    });
    // from the end of each run back, so that tombstones are freed where they can be
    for (const i of gone.reverse()) {
      if ((mt.eflags[i]! & MAC_STATIC) === 0) {
        Atomics.sub(bt.portCount, mt.vif[i]!, 1);
        Atomics.sub(bt.bdCount, mt.domain(i), 1);
      }
      mt.remove(i);
    }
    if (gone.length) Atomics.add(bt.global, 0, 1);
    return gone.length;
  }

  clear(bridgeDomain?: string): number {
    if (bridgeDomain === undefined) return this.flush(() => true, false);
    const d = this.domains.get(bridgeDomain);
    if (!d) throw new DataplaneError(`no bridge domain '${bridgeDomain}'`);
    return this.flush((i) => this.cx.mac.domain(i) === d.id, false);
  }

  listMacs(bridgeDomain?: string): MacEntryInfo[] {
    const mt = this.cx.mac;
    const want = bridgeDomain === undefined ? undefined : this.domains.get(bridgeDomain);
    if (bridgeDomain !== undefined && !want) throw new DataplaneError(`no bridge domain '${bridgeDomain}'`);
    const now = nowSec();
    const out: MacEntryInfo[] = [];
    mt.forEach((i) => {
      const d = this.byId[mt.domain(i)];
      if (!d || (want && want !== d)) return;
      const st = (mt.eflags[i]! & MAC_STATIC) !== 0;
      out.push({ bridgeDomain: d.cfg.name, vlan: d.cfg.vlan, mac: formatMac(mt.mac(i)), interface: this.cx.vifName(mt.vif[i]!), static: st, age: st ? 0 : Math.max(0, now - mt.seen[i]!) });
    });
    return out.sort((a, b) => a.vlan - b.vlan || (a.mac < b.mac ? -1 : a.mac > b.mac ? 1 : 0));
  }

  listDomains(): BridgeDomainInfo[] {
    const bt = this.cx.bridge;
    return [...this.domains.values()].sort((a, b) => a.cfg.vlan - b.cfg.vlan).map((d) => {
      const n = bt.bdNports[d.id]!;
      const interfaces = Array.from({ length: n }, (_, k) => {
        const v = bt.bdPorts[d.id * MAX_BD_PORTS + k]!;
        const trunk = bt.mode[v] === PORT_TRUNK;
        return { name: this.cx.vifName(v), mode: trunk ? ('trunk' as const) : ('access' as const), tagged: trunk && bt.native[v] !== d.cfg.vlan };
      });
      const info: BridgeDomainInfo = { name: d.cfg.name, vlan: d.cfg.vlan, interfaces, macs: bt.bdCount[d.id]!, macTableSize: d.cfg.macTableSize ?? 0, interfaceMacLimit: d.cfg.interfaceMacLimit ?? 0, interfaceMacLimitAction: d.cfg.interfaceMacLimitAction ?? 'drop', macTableSizeAction: d.cfg.macTableSizeAction ?? 'drop', moves: d.moves };
      if (d.irb >= 0) info.irb = this.cx.vifName(d.irb);
      return info;
    });
  }

  /** The port settings of a vif, or undefined when it is not in L2 mode. */
  port(vif: number): BridgePortConfig | undefined {
    return this.ports.get(vif);
  }
}

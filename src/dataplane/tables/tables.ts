/**
 * All forwarding tables of one data plane, created by the main thread and attached by
 * every worker from the same SharedArrayBuffers.
 */
import { AclTable, type AclShared } from './acl-table.js';
import { LabelTable, type LabelShared } from './label-table.js';
import { LpmTable, LPM4_STRIDES, LPM6_STRIDES, type LpmShared } from './lpm.js';
import { NeighborTable, type NeighborShared } from './neighbor-table.js';
import { NexthopTable, type NexthopShared } from './nexthop-table.js';
import { VifTable, type VifShared } from './vif-table.js';
import { BridgeTable, type BridgeShared } from './bridge-table.js';
import { MacTable, type MacShared } from './mac-table.js';

export interface TableSizes {
  maxVifs: number;
  maxVrfs: number;
  maxNexthops: number;
  maxLabels: number;
  maxNeighbors: number;
  /** 32-bit slots of the IPv4 LPM (1M typical routes need about 20M) */
  lpm4Slots: number;
  lpm6Slots: number;
  /** L2: bridge domains (ids 1..maxBridgeDomains-1) and MAC table slots (a power of two) */
  maxBridgeDomains: number;
  macSlots: number;
}

export const DEFAULT_SIZES: TableSizes = {
  maxVifs: 256,
  maxVrfs: 1024,
  maxNexthops: 1 << 16,
  maxLabels: 1 << 16,
  maxNeighbors: 1 << 14,
  lpm4Slots: 1 << 26,
  lpm6Slots: 1 << 25,
  maxBridgeDomains: 1024,
  macSlots: 1 << 18,
};

export interface TablesShared {
  sizes: TableSizes;
  lpm4: LpmShared;
  lpm6: LpmShared;
  nh: NexthopShared;
  label: LabelShared;
  vif: VifShared;
  nbr: NeighborShared;
  acl: AclShared;
  bridge: BridgeShared;
  mac: MacShared;
  /** output filters (the acl-out node), laid out as the input ones */
  aclOut: AclShared;
}

export class Tables {
  private constructor(
    readonly sizes: TableSizes,
    readonly lpm4: LpmTable,
    readonly lpm6: LpmTable,
    readonly nh: NexthopTable,
    readonly label: LabelTable,
    readonly vif: VifTable,
    readonly nbr: NeighborTable,
    readonly acl: AclTable,
    readonly bridge: BridgeTable,
    readonly mac: MacTable,
    readonly aclOut: AclTable,
  ) {}

  static create(sizes: TableSizes): Tables {
    return new Tables(
      sizes,
      LpmTable.create(LPM4_STRIDES, sizes.lpm4Slots, sizes.maxVrfs),
      LpmTable.create(LPM6_STRIDES, sizes.lpm6Slots, sizes.maxVrfs),
      NexthopTable.create(sizes.maxNexthops),
      LabelTable.create(sizes.maxLabels),
      VifTable.create(sizes.maxVifs),
      NeighborTable.create(sizes.maxNeighbors),
      AclTable.create(sizes.maxVifs),
      BridgeTable.create(sizes.maxVifs, sizes.maxBridgeDomains),
      MacTable.create(sizes.macSlots),
      AclTable.create(sizes.maxVifs),
    );
  }

  static attach(s: TablesShared): Tables {
    return new Tables(s.sizes, LpmTable.attach(s.lpm4), LpmTable.attach(s.lpm6), NexthopTable.attach(s.nh), LabelTable.attach(s.label), VifTable.attach(s.vif), NeighborTable.attach(s.nbr), AclTable.attach(s.acl), BridgeTable.attach(s.bridge), MacTable.attach(s.mac), AclTable.attach(s.aclOut));
  }

  get shared(): TablesShared {
    return { sizes: this.sizes, lpm4: this.lpm4.shared, lpm6: this.lpm6.shared, nh: this.nh.shared, label: this.label.shared, vif: this.vif.shared, nbr: this.nbr.shared, acl: this.acl.shared, bridge: this.bridge.shared, mac: this.mac.shared, aclOut: this.aclOut.shared };
  }
}

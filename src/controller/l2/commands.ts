/**
 * The operational commands of L2 switching (docs/l2.md), read back from the agent through
 * the FIB export's unary calls: `show bridge mac-table [bridge-domain BD]`, `show bridge
 * domain`, `clear bridge mac-table [bridge-domain BD]`, and `show interfaces IF [extensive]`
 * (show-interfaces.ts). The text follows Junos's layout.
 */
import type { CommandResult, OperationalCommand } from '../types.js';
import type { FibExport } from '../rib/fib-export.js';
import { showInterface } from './show-interfaces.js';

/** `[bridge-domain BD]`, the only argument these commands take. */
function domainArg(cmd: string, args: string[]): string | undefined {
  if (args.length === 0) return undefined;
  if (args[0] === 'bridge-domain' && args.length === 2) return args[1];
  throw new Error(`${cmd}: unexpected '${args.join(' ')}' (bridge-domain NAME)`);
}

export function l2Commands(fib: FibExport | undefined): OperationalCommand[] {
  const need = (): FibExport => {
    if (!fib) throw new Error('no vRouter agent: L2 state lives in the data plane');
    return fib;
  };
  return [
    {
      // (`show interfaces terse`, the longer path, stays rib/service.ts's)
      path: ['show', 'interfaces'],
      help: 'One interface as the vRouter reports it: IF [extensive] (extensive: a bridge port\'s L2 counters)',
      run: async (args): Promise<CommandResult> => showInterface(await need().listInterfaces(10_000), args),
    },
    {
      path: ['show', 'bridge', 'mac-table'],
      help: 'MACs learned by the bridge domains: [bridge-domain BD]',
      run: async (args): Promise<CommandResult> => {
        const bd = domainArg('show bridge mac-table', args);
        const entries = await need().listMacs(bd, 10_000);
        const lines = ['', 'MAC flags (S -static MAC, D -dynamic MAC)', ''];
        let last = '';
        for (const e of entries) {
          if (e.bridgeDomain !== last) {
            last = e.bridgeDomain;
            lines.push(`Routing instance : default-switch`, ` Bridging domain : ${e.bridgeDomain}, VLAN : ${e.vlanId}`, '   MAC                 MAC      Logical          Age', '   address             flags    interface        (s)');
          }
          lines.push(`   ${e.mac.padEnd(20)}${(e.isStatic ? 'S' : 'D').padEnd(9)}${e.interface.padEnd(17)}${e.isStatic ? '-' : e.age}`);
        }
        if (entries.length === 0) lines.push('(no MAC learned)');
        return { text: lines.join('\n') + '\n', data: { macs: entries.map((e) => ({ bridgeDomain: e.bridgeDomain, vlan: e.vlanId, mac: e.mac, interface: e.interface, static: e.isStatic, age: e.age })) } };
      },
    },
    {
      path: ['show', 'bridge', 'domain'],
      help: 'Bridge domains: VLAN, routing interface, ports, MACs learned, moves',
      run: async (args): Promise<CommandResult> => {
        const want = domainArg('show bridge domain', args);
        const all = await need().listBridgeDomains(10_000);
        const doms = want === undefined ? all : all.filter((d) => d.name === want);
        if (want !== undefined && doms.length === 0) throw new Error(`show bridge domain: no bridge domain '${want}'`);
        const lines = ['', 'Routing instance        Bridge domain            VLAN ID     Interfaces'];
        for (const d of doms) {
          lines.push(`default-switch          ${d.name.padEnd(25)}${String(d.vlanId).padEnd(12)}${d.interfaces[0] ?? ''}`);
          for (const i of d.interfaces.slice(1)) lines.push(`${''.padEnd(61)}${i}`);
          const limits = [d.macTableSize ? `mac-table-size ${d.macTableSize}${d.macTableSizeAction === 'none' ? ' packet-action none' : ''}` : '', d.interfaceMacLimit ? `interface-mac-limit ${d.interfaceMacLimit}${d.interfaceMacLimitAction === 'none' ? ' packet-action none' : ''}` : ''].filter(Boolean).join(', ');
          lines.push(`${''.padEnd(24)}routing-interface ${d.irb || '-'}; ${d.macs} MACs learned; ${d.moves} MAC moves${limits ? `; ${limits}` : ''}`);
        }
        return { text: lines.join('\n') + '\n', data: { domains: doms.map((d) => ({ name: d.name, vlan: d.vlanId, routingInterface: d.irb || undefined, interfaces: d.interfaces, macs: d.macs, macTableSize: d.macTableSize, interfaceMacLimit: d.interfaceMacLimit, interfaceMacLimitAction: d.interfaceMacLimitAction || 'drop', macTableSizeAction: d.macTableSizeAction || 'drop', moves: d.moves })) } };
      },
    },
    {
      path: ['clear', 'bridge', 'mac-table'],
      help: 'Forget learned MACs: [bridge-domain BD]',
      run: async (args): Promise<CommandResult> => {
        const bd = domainArg('clear bridge mac-table', args);
        const n = await need().clearMacs(bd, 10_000);
        return { text: `${n} MAC entries cleared\n`, data: { cleared: n } };
      },
    },
  ];
}

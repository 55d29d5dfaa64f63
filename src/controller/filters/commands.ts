/**
 * `show firewall [filter NAME]` (docs/filters.md): each IP filter and bridge filter (firewall
 * family bridge, docs/l2.md) where it is applied, its counters (`then count NAME`, summed over
 * the terms that name them) and the packets every term decided, read from the agent
 * (ListFilters: the data plane's rule hits summed per term). Laid out as Junos does (Name,
 * Bytes, Packets), per interface and direction; bytes are the packets' IP lengths, and a
 * bridge filter counts frames only (its Bytes column says `-`).
 */
import type { CommandResult, OperationalCommand } from '../types.js';
import type { FibExport } from '../rib/fib-export.js';

interface Count {
  packets: number;
  bytes: number;
}

export function filterCommands(fib: FibExport | undefined): OperationalCommand[] {
  return [
    {
      path: ['show', 'firewall'],
      help: 'IP and bridge filters with their counters and packets per term: [filter NAME]',
      run: async (args): Promise<CommandResult> => {
        let want: string | undefined;
        if (args.length === 2 && args[0] === 'filter') want = args[1];
        else if (args.length) throw new Error(`show firewall: unexpected '${args.join(' ')}' (filter NAME)`);
        if (!fib) throw new Error('no vRouter agent: filters live in the data plane');
        const all = await fib.listFilters(10_000);
        const shown = want === undefined ? all : all.filter((f) => f.filter === want);
        if (want !== undefined && shown.length === 0) throw new Error(`show firewall: filter '${want}' is applied to no interface`);
        const lines: string[] = [];
        const header = `${'Name'.padEnd(40)}${'Bytes'.padStart(20)}${'Packets'.padStart(20)}`;
        const data = shown.map((f) => {
          const row = (name: string, c: Count) => `${name.padEnd(40)}${(f.bridge ? '-' : String(c.bytes)).padStart(20)}${String(c.packets).padStart(20)}`;
          const family = f.bridge ? 'bridge' : f.family === 6 ? 'inet6' : 'inet';
          // a bridge filter counts frames, not bytes
          const count = (c: Count) => (f.bridge ? { packets: c.packets } : c);
          // terms that name one counter add up
          const counters = new Map<string, Count>();
          for (const t of f.terms) {
            if (!t.count) continue;
            const c = counters.get(t.count) ?? { packets: 0, bytes: 0 };
            counters.set(t.count, { packets: c.packets + t.packets, bytes: c.bytes + t.bytes });
          }
          lines.push('', `Filter: ${f.filter} (${family} ${f.output ? 'output' : 'input'} of ${f.interface})`);
          if (counters.size) {
            lines.push('Counters:', header);
            for (const [c, n] of counters) lines.push(row(c, n));
          }
          lines.push('Terms:', header);
          for (const t of f.terms) lines.push(row(t.name, t));
          lines.push(row('(implicit discard)', { packets: f.unmatched, bytes: f.unmatchedBytes }));
          return {
            filter: f.filter,
            family,
            direction: f.output ? 'output' : 'input',
            interface: f.interface,
            counters: Object.fromEntries([...counters].map(([c, n]) => [c, count(n)])),
            terms: f.terms.map((t) => ({ name: t.name, ...count({ packets: t.packets, bytes: t.bytes }), ...(t.count ? { counter: t.count } : {}) })),
            implicitDiscard: count({ packets: f.unmatched, bytes: f.unmatchedBytes }),
          };
        });
        if (shown.length === 0) lines.push('', '(no filter applied)');
        return { text: lines.join('\n') + '\n', data: { filters: data } };
      },
    },
  ];
}

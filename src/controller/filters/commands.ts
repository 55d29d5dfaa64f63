/**
 * `show firewall [filter NAME]` (docs/filters.md): each IP filter where it is applied, its
 * counters (`then count NAME`, summed over the terms that name them) and the packets every
 * term decided, read from the agent (ListFilters: the data plane's rule hits summed per term).
 * Laid out as Junos does, per interface and direction, packets only (the data plane counts
 * no bytes per rule).
 */
import type { CommandResult, OperationalCommand } from '../types.js';
import type { FibExport } from '../rib/fib-export.js';

export function filterCommands(fib: FibExport | undefined): OperationalCommand[] {
  return [
    {
      path: ['show', 'firewall'],
      help: 'IP filters with their counters and packets per term: [filter NAME]',
      run: async (args): Promise<CommandResult> => {
        let want: string | undefined;
        if (args.length === 2 && args[0] === 'filter') want = args[1];
        else if (args.length) throw new Error(`show firewall: unexpected '${args.join(' ')}' (filter NAME)`);
        if (!fib) throw new Error('no vRouter agent: filters live in the data plane');
        const all = await fib.listFilters(10_000);
        const shown = want === undefined ? all : all.filter((f) => f.filter === want);
        if (want !== undefined && shown.length === 0) throw new Error(`show firewall: filter '${want}' is applied to no interface`);
        const lines: string[] = [];
        const row = (name: string, packets: number) => `${name.padEnd(52)}${String(packets).padStart(20)}`;
        for (const f of shown) {
          const counters = new Map<string, number>();
          for (const t of f.terms) if (t.count) counters.set(t.count, (counters.get(t.count) ?? 0) + t.packets);
          lines.push('', `Filter: ${f.filter} (${f.family === 6 ? 'inet6' : 'inet'} ${f.output ? 'output' : 'input'} of ${f.interface})`);
          if (counters.size) {
            lines.push('Counters:', `${'Name'.padEnd(52)}${'Packets'.padStart(20)}`);
            for (const [c, n] of counters) lines.push(row(c, n));
          }
          lines.push('Terms:', `${'Name'.padEnd(52)}${'Packets'.padStart(20)}`);
          for (const t of f.terms) lines.push(row(t.name, t.packets));
          lines.push(row('(implicit discard)', f.unmatched));
        }
        if (shown.length === 0) lines.push('', '(no filter applied)');
        const data = shown.map((f) => ({
          filter: f.filter,
          family: f.family === 6 ? 'inet6' : 'inet',
          direction: f.output ? 'output' : 'input',
          interface: f.interface,
          counters: Object.fromEntries(f.terms.filter((t) => t.count).reduce((m, t) => m.set(t.count, (m.get(t.count) ?? 0) + t.packets), new Map<string, number>())),
          terms: f.terms.map((t) => ({ name: t.name, packets: t.packets, ...(t.count ? { counter: t.count } : {}) })),
          implicitDiscard: f.unmatched,
        }));
        return { text: lines.join('\n') + '\n', data: { filters: data } };
      },
    },
  ];
}

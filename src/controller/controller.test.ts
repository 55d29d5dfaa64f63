import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Controller } from './controller.js';
import type { ConfigConsumer, ConfigTree, OperationalCommand } from './types.js';

function tmp(): string {
  return mkdtempSync(join(tmpdir(), `cnr-ctl-${process.pid}-`));
}

const routes: OperationalCommand = {
  path: ['show', 'route'],
  help: 'Show routes',
  run: async (args) => ({
    text: `inet.0: 2 destinations\n10.0.0.0/8 *[Static/5]\n192.0.2.0/24 *[Direct/0]\n${args.length ? `args: ${args.join(',')}\n` : ''}`,
    data: { tables: [{ name: 'inet.0', routes: 2 }] },
  }),
};

test('exec: operational commands, output filters, configuration mode, compare and commit', async () => {
  const dir = tmp();
  const seen: ConfigTree[] = [];
  const consumer: ConfigConsumer = { name: 'rib', validate: () => [], apply: async (n) => void seen.push(n) };
  const c = new Controller({ stateDir: dir, consumers: [consumer], commands: [routes], serve: false, log: () => {} });
  try {
    await c.start();
    let r = await c.exec(['show route', 'show route table inet.0 | match 10\\.', 'show route | count', 'show route | display json']);
    assert.match(r[0]!.text, /inet.0: 2 destinations/);
    assert.equal(r[1]!.text, '10.0.0.0/8 *[Static/5]\n');
    assert.equal(r[2]!.text, 'Count: 3 lines\n');
    assert.deepEqual(r[3]!.data, { tables: [{ name: 'inet.0', routes: 2 }] });

    r = await c.exec([
      'configure',
      'set interfaces eth1 unit 0 family inet address 10.0.0.1/24',
      'edit routing-options static',
      'set route 10.9.0.0/16 next-hop 10.0.0.2',
      'show',
      'top',
      'show | compare',
      'show | display set | match static',
      'commit check',
      'commit comment "two things"',
      'exit',
      'show configuration routing-options | display json',
    ], 'dave');
    assert.deepEqual(r.map((x) => x.error).filter(Boolean), []);
    assert.equal(r[4]!.text, 'route 10.9.0.0/16 next-hop 10.0.0.2;\n');
    assert.equal(
      r[6]!.text,
      [
        '[edit]',
        '+   interfaces {',
        '+       eth1 {',
        '+           unit 0 {',
        '+               family inet {',
        '+                   address 10.0.0.1/24;',
        '+               }',
        '+           }',
        '+       }',
        '+   }',
        '+   routing-options {',
        '+       static {',
        '+           route 10.9.0.0/16 next-hop 10.0.0.2;',
        '+       }',
        '+   }',
        '',
      ].join('\n'),
    );
    assert.equal(r[7]!.text, 'set routing-options static route 10.9.0.0/16 next-hop 10.0.0.2\n');
    assert.equal(r[8]!.text, 'configuration check succeeds\n');
    assert.equal(r[9]!.text, 'commit complete\n');
    assert.deepEqual(r[11]!.data, { static: { route: { '10.9.0.0/16': { 'next-hop': ['10.0.0.2'] } } } });
    assert.equal(seen.length, 1);

    r = await c.exec(['configure', 'set routing-options static route 10.8.0.0/16 next-hop 10.0.0.3', 'commit', 'rollback 1', 'show | compare', 'commit', 'run show system commit'], 'dave');
    assert.equal(r[4]!.text, '[edit routing-options static]\n-   route 10.8.0.0/16 next-hop 10.0.0.3;\n');
    assert.match(r[6]!.text, /^0 {3}\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC by dave via api\n1 /);

    // errors stop the script
    r = await c.exec(['configure', 'set bogus', 'set system host-name never']);
    assert.equal(r.length, 2);
    assert.match(r[1]!.error!, /syntax error at 'bogus'/);
    r = await c.exec(['show nonsense']);
    assert.match(r[0]!.error!, /unknown command/);
    r = await c.exec(['configure', 'commit confirmed 1 comment "try"', 'commit']);
    assert.match(r[1]!.text, /rolled back in 1 minutes unless confirmed/);
    r = await c.exec(['configure', 'delete interfaces eth7']);
    assert.equal(r[1]!.text, 'warning: statement not found\n');
  } finally {
    await c.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('start: the initial file (any notation) is committed once; later starts load the last commit', async () => {
  const dir = tmp();
  const file = join(dir, 'initial.yaml');
  writeFileSync(file, 'system:\n  host-name: from-file\ninterfaces:\n  eth1:\n    unit:\n      "0":\n        family:\n          inet:\n            address:\n              10.0.0.1/24:\n');
  try {
    let c = new Controller({ stateDir: dir, initialConfig: file, serve: false, log: () => {} });
    await c.start();
    assert.deepEqual(c.store.running, { system: { 'host-name': 'from-file' }, interfaces: { eth1: { unit: { '0': { family: { inet: { address: { '10.0.0.1/24': {} } } } } } } } });
    await c.exec(['configure', 'set system host-name changed', 'commit']);
    await c.stop();
    c = new Controller({ stateDir: dir, initialConfig: file, serve: false, log: () => {} });
    await c.start();
    assert.equal((c.store.running as any).system['host-name'], 'changed');
    await c.stop();

    writeFileSync(join(dir, 'bad.conf'), 'system {\n    host-name ok;\n    bogus;\n}\n');
    const d2 = tmp();
    c = new Controller({ stateDir: d2, initialConfig: join(dir, 'bad.conf'), serve: false, log: () => {} });
    await assert.rejects(c.start(), /bad\.conf: line 3: syntax error at 'bogus'/);
    await c.stop();
    rmSync(d2, { recursive: true, force: true });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a consumer failing to apply fails the commit and leaves the running configuration', async () => {
  const dir = tmp();
  let fail = false;
  const consumer: ConfigConsumer = {
    name: 'fib',
    validate: (n) => ((n as any).system?.['host-name'] === 'forbidden' ? ['system host-name: forbidden here'] : []),
    apply: async () => {
      if (fail) throw new Error('agent did not ACK');
    },
  };
  const c = new Controller({ stateDir: dir, consumers: [consumer], serve: false, log: () => {} });
  try {
    await c.start();
    await c.exec(['configure', 'set system host-name r1', 'commit']);
    fail = true;
    let r = await c.exec(['configure private', 'set system host-name r2', 'commit']);
    assert.match(r[2]!.error!, /fib: agent did not ACK[\s\S]*previous configuration restored/);
    fail = false;
    r = await c.exec(['configure private', 'set system host-name forbidden', 'commit']);
    assert.match(r[2]!.error!, /error: fib: system host-name: forbidden here/);
    assert.equal((c.store.running as any).system['host-name'], 'r1');
  } finally {
    await c.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('groups as the CNI plugin writes them: shown as written, | display inheritance shows the result; load merge/override', async () => {
  const dir = tmp();
  const c = new Controller({ stateDir: dir, serve: false, log: () => {} });
  try {
    await c.start();
    const pod = (g: string, veth: string, addr: string) => [
      'configure private',
      `delete groups ${g}`,
      `set groups ${g} interfaces ${veth} description "cnr-cni abc eth0"`,
      `set groups ${g} interfaces ${veth} unit 0 family inet address 10.1.0.1/32`,
      `set groups ${g} routing-instances blue instance-type vrf`,
      `set groups ${g} routing-instances blue interface ${veth}`,
      `set groups ${g} routing-instances blue routing-options static route ${addr}/32 qualified-next-hop ${addr} interface ${veth}`,
      `set apply-groups ${g}`,
      `commit comment "cnr-cni ADD ${g}"`,
    ];
    const results = await Promise.all([c.exec(pod('cni-a', 'vetha', '10.1.0.10')), c.exec(pod('cni-b', 'vethb', '10.1.0.11'))]);
    for (const r of results) assert.equal(r.at(-1)!.error, undefined, r.at(-1)!.error);
    let r = await c.exec(['show configuration routing-instances', 'show configuration routing-instances | display inheritance', 'show configuration apply-groups']);
    assert.equal(r[0]!.text, '', 'nothing written outside the groups');
    assert.match(r[1]!.text, /^blue \{\n {4}instance-type vrf;\n {4}interface \[ veth[ab] veth[ab] \];/);
    assert.match(r[2]!.text, /apply-groups \[ cni-[ab] cni-[ab] \];/);
    r = await c.exec(['configure private', 'delete apply-groups cni-a', 'delete groups cni-a', 'commit', 'exit', 'show configuration | display inheritance | display set | match interface']);
    assert.equal(r.at(-1)!.error, undefined);
    assert.doesNotMatch(r.at(-1)!.text, /vetha/);
    assert.match(r.at(-1)!.text, /set routing-instances blue interface vethb/);
    // DEL twice is harmless
    r = await c.exec(['configure private', 'delete apply-groups cni-a', 'delete groups cni-a', 'commit']);
    assert.equal(r.at(-1)!.error, undefined);
    assert.equal(r[1]!.text, 'warning: statement not found\n');

    r = await c.exec(['configure private', 'load merge json "{\\"system\\": {\\"host-name\\": \\"merged\\"}}"', 'commit']);
    assert.equal(r.at(-1)!.error, undefined, r.at(-1)!.error);
    assert.equal((c.store.running as any).system['host-name'], 'merged');
    assert.ok((c.store.running as any).groups['cni-b'], 'merge keeps the rest');
    r = await c.exec(['configure private', 'load override text "system { host-name only; }"', 'commit']);
    assert.deepEqual(c.store.running, { system: { 'host-name': 'only' } });
    r = await c.exec(['configure private', 'load override yaml "system:\n  host-name: [x]\n"']);
    assert.match(r[1]!.error!, /line 2: system host-name: takes one value/);
  } finally {
    await c.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('show configuration PATH prints the part at PATH as Junos does', async () => {
  const dir = tmp();
  const c = new Controller({ stateDir: dir, serve: false, log: () => {} });
  try {
    await c.start();
    await c.exec(['configure', 'set system host-name r1', 'set interfaces eth2 vlan-id 100', 'set interfaces eth2 unit 0 family inet address 10.1.0.1/24', 'set interfaces eth3 mtu 1500', 'set routing-options static route 10.0.0.0/8 discard', 'commit']);
    const r = await c.exec([
      'show configuration system host-name',
      'show configuration interfaces',
      'show configuration interfaces eth2',
      'show configuration routing-options static route',
      'show configuration interfaces eth2 | display set',
      'show configuration interfaces eth9',
    ]);
    assert.equal(r[0]!.text, 'host-name r1;\n');
    assert.match(r[1]!.text, /^eth2 \{\n {4}vlan-id 100;\n[\s\S]*\}\neth3 \{\n {4}mtu 1500;\n\}\n$/);
    assert.equal(r[2]!.text, 'vlan-id 100;\nunit 0 {\n    family inet {\n        address 10.1.0.1/24;\n    }\n}\n');
    assert.equal(r[3]!.text, 'route 10.0.0.0/8 discard;\n');
    assert.equal(r[4]!.text, 'set interfaces eth2 vlan-id 100\nset interfaces eth2 unit 0 family inet address 10.1.0.1/24\n');
    assert.equal(r[5]!.text, '');
  } finally {
    await c.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

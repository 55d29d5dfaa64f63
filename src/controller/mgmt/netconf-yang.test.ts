// The YANG module of the configuration (config/yang.ts) as NETCONF serves it: listed in
// ietf-netconf-monitoring's schemas, fetched with get-schema (RFC 6022) by ncclient (a real
// client), and judged by yanglint (Debian libyang2-tools): the module is valid, and the
// running configuration as NETCONF prints it is valid data of that module.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Controller } from '../controller.js';
import { crypt } from './login.js';
import { parseConfig } from '../config/notation.js';

const dir = mkdtempSync(join(tmpdir(), `cnr-netconf-yang-${process.pid}-`));
const PASSWORD = 'yang secret';
const full = parseConfig(readFileSync(new URL('../../../../src/controller/config/testdata/full.conf', import.meta.url), 'utf8'), 'text');
let ctl: Controller;
let port = 0;

before(async () => {
  // the full test configuration (every area, groups, flags, lists of values) plus a NETCONF user
  const system = (full.system ?? {}) as Record<string, unknown>;
  ctl = new Controller({
    stateDir: join(dir, 'state'),
    serve: false,
    log: () => {},
    initialConfig: {
      ...full,
      system: {
        ...system,
        services: { netconf: { ssh: { port: 0 } } },
        login: { user: { alice: { authentication: { 'encrypted-password': crypt(PASSWORD, '$6$cnryangtest$')! } } } },
      },
    },
  });
  await ctl.start();
  port = ctl.netconfAddress()!.port;
});

after(async () => {
  await ctl.stop();
  rmSync(dir, { recursive: true, force: true });
});

const haveNcclient = spawnSync('/usr/bin/python3', ['-c', 'import ncclient'], { encoding: 'utf8' }).status === 0;
const haveYanglint = spawnSync('yanglint', ['--version'], { encoding: 'utf8' }).status === 0;
const isRoot = process.getuid?.() === 0;
// CI installs both (.ci/debian-packages) and runs as root: missing there is a failure
const reason = isRoot ? undefined : !haveNcclient ? 'python3-ncclient is not installed' : !haveYanglint ? 'yanglint (libyang2-tools) is not installed' : undefined;

test('get-schema serves a YANG module yanglint accepts, listed in netconf-state; the running configuration validates against it', { skip: reason, timeout: 60_000 }, async () => {
  assert.ok(haveNcclient, 'python3-ncclient is not installed');
  assert.ok(haveYanglint, 'yanglint (libyang2-tools) is not installed');
  const script = `
import sys
from ncclient import manager
from ncclient.operations.rpc import RPCError
m = manager.connect(host='127.0.0.1', port=int(sys.argv[1]), username='alice', password=sys.argv[2],
                    hostkey_verify=False, allow_agent=False, look_for_keys=False, timeout=10)
print('cap', any('module=cnr-configuration' in c for c in m.server_capabilities))
state = m.get(filter=('subtree', '<netconf-state xmlns="urn:ietf:params:xml:ns:yang:ietf-netconf-monitoring"><schemas/></netconf-state>')).data_xml
print('listed', '<identifier>cnr-configuration</identifier>' in state and '<format>yang</format>' in state)
open(sys.argv[3] + '/cnr-configuration.yang', 'w').write(m.get_schema('cnr-configuration').data)
try:
    m.get_schema('no-such-module')
except RPCError as e:
    print('unknown', e.tag)
cfg = m.get_config('running').data_ele
conf = cfg[0]
from lxml import etree
open(sys.argv[3] + '/running.xml', 'wb').write(etree.tostring(conf))
m.close_session()
`;
  const r = await promisify(execFile)('/usr/bin/python3', ['-c', script, String(port), PASSWORD, dir], { encoding: 'utf8', timeout: 30_000 });
  const lines = r.stdout.trim().split('\n');
  assert.deepEqual(lines, ['cap True', 'listed True', 'unknown invalid-value']);
  const yang = readFileSync(join(dir, 'cnr-configuration.yang'), 'utf8');
  assert.match(yang, /^module cnr-configuration \{\n {2}yang-version 1\.1;\n {2}namespace "urn:cnr:config";/);
  const module = spawnSync('yanglint', [join(dir, 'cnr-configuration.yang')], { encoding: 'utf8' });
  assert.equal(module.status, 0, `yanglint refuses the module: ${module.stderr}`);
  const data = spawnSync('yanglint', ['-t', 'config', join(dir, 'cnr-configuration.yang'), join(dir, 'running.xml')], { encoding: 'utf8' });
  assert.equal(data.status, 0, `yanglint refuses the running configuration: ${data.stderr}`);
  // and it is no empty check: data the module does not describe is refused
  writeFileSync(join(dir, 'bad.xml'), '<configuration xmlns="urn:cnr:config"><system><no-such-statement/></system></configuration>');
  const bad = spawnSync('yanglint', ['-t', 'config', join(dir, 'cnr-configuration.yang'), join(dir, 'bad.xml')], { encoding: 'utf8' });
  assert.notEqual(bad.status, 0);
  assert.match(bad.stderr, /no-such-statement/);
});

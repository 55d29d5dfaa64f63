// What a configuration file owns and the running configuration after loading it again.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mergeFileConfig, ownedUnits } from './file-owner.js';
import type { ConfigTree } from '../types.js';

const file1: ConfigTree = {
  system: { 'host-name': 'r1' },
  interfaces: { eth1: { mtu: 1500 } },
  'apply-groups': ['base'],
  groups: { base: { system: { 'time-zone': 'UTC' } } },
};

test('a file owns its top-level containers whole, the entries of top-level lists it names, the values of apply-groups it lists', () => {
  assert.deepEqual(ownedUnits(file1), [['system'], ['interfaces', 'eth1'], ['apply-groups', 'base'], ['groups', 'base']]);
});

test('loading replaces what the file owns, drops what it no longer writes, keeps what others added', () => {
  // the CNI and an operator added a pod group, its apply-groups value, an interface and a domain name
  const running: ConfigTree = {
    system: { 'host-name': 'r1', 'domain-name': 'cli.example' },
    interfaces: { eth1: { mtu: 1500 }, eth9: { mtu: 9000 } },
    'apply-groups': ['base', 'cni-pod1'],
    groups: { base: { system: { 'time-zone': 'UTC' } }, 'cni-pod1': { interfaces: { veth1: {} } } },
    'routing-options': { 'router-id': '192.0.2.1' },
  };
  const file2: ConfigTree = { system: { 'host-name': 'r2' }, interfaces: { eth2: { mtu: 1400 } }, 'apply-groups': ['base2'], groups: { base2: {} } };
  const next = mergeFileConfig(running, file2, ownedUnits(file1));
  assert.deepEqual(next, {
    // system is the file's, whole: the CLI's domain-name goes with the old system block
    system: { 'host-name': 'r2' },
    // eth1 was the file's and is gone from it; eth9 is the operator's
    interfaces: { eth2: { mtu: 1400 }, eth9: { mtu: 9000 } },
    'apply-groups': ['base2', 'cni-pod1'],
    groups: { base2: {}, 'cni-pod1': { interfaces: { veth1: {} } } },
    // not in either file: not the file's business
    'routing-options': { 'router-id': '192.0.2.1' },
  });
  assert.deepEqual(running.interfaces, { eth1: { mtu: 1500 }, eth9: { mtu: 9000 } }, 'the running tree is not changed in place');
  // the same file again changes nothing
  assert.deepEqual(mergeFileConfig(next, file2, ownedUnits(file2)), next);
  // without a record of what it owned (a history from before), nothing is dropped
  assert.deepEqual(mergeFileConfig(running, file2, []).interfaces, { eth2: { mtu: 1400 }, eth1: { mtu: 1500 }, eth9: { mtu: 9000 } });
});

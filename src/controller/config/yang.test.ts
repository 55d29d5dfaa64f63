// The YANG module generated from the schema: how each kind of node maps (yanglint judges the
// whole module in mgmt/netconf-yang.test.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { YANG_REVISION, yangModule } from './yang.js';

const yang = yangModule(undefined, '9.9.9');

test('containers, keyed lists, typed leaves, flags and lists of values map to YANG', () => {
  assert.match(yang, /^module cnr-configuration \{\n {2}yang-version 1\.1;\n {2}namespace "urn:cnr:config";\n {2}prefix cnr;/);
  assert.match(yang, new RegExp(`revision ${YANG_REVISION} \\{`));
  assert.match(yang, /The configuration of cnr 9\.9\.9/);
  // a port: integer 0..65535 with its default
  assert.match(yang, /leaf port \{\n\s+type uint16 \{\n\s+range "0\.\.65535";\n\s+\}\n\s+default "22";/);
  // the login class: an enumeration
  assert.match(yang, /leaf class \{\n\s+type enumeration \{\n\s+enum "super-user";\n\s+enum "operator";\n\s+enum "read-only";/);
  // a list keyed by name, the key's type named in its description
  assert.match(yang, /list user \{\n\s+key "name";\n\s+ordered-by user;\n\s+description "A user allowed to log in";\n\s+leaf name \{\n\s+type string;\n\s+description "user-name \(name\)";/);
  assert.match(yang, /leaf no-public-keys \{\n\s+type empty;/);
  assert.match(yang, /leaf-list ssh-ed25519 \{/);
  // the top level is a grouping, used by the configuration and by each group
  assert.match(yang, /container configuration \{\n\s+description "Configuration";\n\s+uses configuration-statements;/);
  assert.match(yang, /list groups \{\n\s+key "name";[\s\S]*?uses configuration-statements;/);
  assert.equal(yang.match(/container system \{/g)?.length, 1, 'the top-level statements are written once');
  assert.equal(yang.match(/uses configuration-statements;/g)?.length, 2, 'used by the configuration and by groups only (a list with no children but its key is no grouping)');
  // strings are escaped as YANG double-quoted strings
  assert.doesNotMatch(yang, /description "[^"\n]*[^\\]"[^;\n]/);
});

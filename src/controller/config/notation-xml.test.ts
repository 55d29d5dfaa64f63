import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parseConfig } from './notation.js';
import { loadXml, printXml, xmlEdits, XmlConfigError } from './notation-xml.js';
import { parseXml } from '../../lib/xml.js';

const dir = new URL('../../../../src/controller/config/testdata/', import.meta.url);
const full = () => parseConfig(readFileSync(new URL('full.set', dir), 'utf8'), 'set');

test('the golden configuration round-trips through XML', () => {
  const tree = full();
  const xml = printXml(tree);
  assert.match(xml, /^<configuration xmlns="urn:cnr:config">/);
  assert.deepEqual(loadXml(xml), tree);
});

test('values are escaped and read back exactly; list entries carry <name>', () => {
  const tree = parseConfig('set interfaces eth1 description "a <b> & \\"c\\""\nset policy-options prefix-list pl 10.0.0.0/8', 'set');
  const xml = printXml(tree);
  assert.match(xml, /<interfaces>\s*<name>eth1<\/name>\s*<description>a &lt;b&gt; &amp; &quot;c&quot;<\/description>/);
  assert.match(xml, /<prefix-list>\s*<name>pl<\/name>\s*<prefixes>10.0.0.0\/8<\/prefixes>/);
  assert.deepEqual(loadXml(xml), tree);
});

test('edit operations: delete, remove, create, replace, and none as the default', () => {
  const doc = (body: string) => parseXml(`<configuration xmlns="urn:cnr:config">${body}</configuration>`);
  const del = xmlEdits(doc('<interfaces operation="delete"><name>eth1</name></interfaces>'));
  assert.deepEqual(del, [{ kind: 'delete', words: ['interfaces', 'eth1'], missingOk: false, path: "/configuration/interfaces[name='eth1']" }]);
  const rep = xmlEdits(doc('<system operation="replace"><host-name>r9</host-name></system>'));
  assert.deepEqual(rep.map((e) => [e.kind, e.words.join(' ')]), [['delete', 'system'], ['set', 'system host-name r9']]);
  const none = xmlEdits(doc('<system><host-name>ignored</host-name><domain-name operation="remove"/></system>'), 'none');
  assert.deepEqual(none.map((e) => [e.kind, e.words.join(' '), e.missingOk]), [['delete', 'system domain-name', true]]);
  const create = xmlEdits(doc('<system><host-name operation="create">r1</host-name></system>'));
  assert.deepEqual(create.map((e) => e.kind), ['absent', 'set']);
});

test('unknown elements, missing keys and bad operations are refused with the element path', () => {
  const bad = (body: string, tag: string, path: RegExp) => {
    assert.throws(
      () => xmlEdits(parseXml(`<configuration>${body}</configuration>`)),
      (e: unknown) => e instanceof XmlConfigError && e.tag === tag && path.test(e.path),
      body,
    );
  };
  bad('<system><hostname>x</hostname></system>', 'unknown-element', /^\/configuration\/system\/hostname$/);
  bad('<interfaces><mtu>1500</mtu></interfaces>', 'missing-element', /interfaces$/);
  bad('<system operation="bogus"/>', 'bad-attribute', /system$/);
  bad('<system><host-name/></system>', 'bad-element', /host-name$/);
});

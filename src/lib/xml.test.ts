import { test } from 'node:test';
import assert from 'node:assert/strict';
import { escapeXml, parseXml, XmlError } from './xml.js';

test('elements, attributes, namespaces, entities, CDATA and comments', () => {
  const el = parseXml(`<?xml version="1.0"?>
<!-- a comment -->
<nc:rpc xmlns:nc="urn:ietf:params:xml:ns:netconf:base:1.0" message-id="7" xmlns:x="urn:x" x:a='q&amp;"'>
  <get-config xmlns="urn:d"><source><running/></source></get-config>
  <nc:t>a &lt;b&gt; &#65;&#x42; <![CDATA[<raw & text>]]></nc:t>
</nc:rpc>`);
  assert.equal(el.name, 'rpc');
  assert.equal(el.ns, 'urn:ietf:params:xml:ns:netconf:base:1.0');
  assert.deepEqual(el.attrs, { 'message-id': '7', a: 'q&"' });
  assert.equal(el.children[0]!.name, 'get-config');
  assert.equal(el.children[0]!.ns, 'urn:d');
  assert.equal(el.children[0]!.children[0]!.children[0]!.name, 'running');
  assert.equal(el.children[1]!.text, 'a <b> AB <raw & text>');
  assert.equal(el.children[1]!.ns, 'urn:ietf:params:xml:ns:netconf:base:1.0');
});

test('escapeXml and parseXml round-trip any text', () => {
  const s = `<a href="x">'&'</a> ü 😀`;
  assert.equal(parseXml(`<t a="${escapeXml(s)}">${escapeXml(s)}</t>`).text, s);
  assert.equal(parseXml(`<t a="${escapeXml(s)}"/>`).attrs.a, s);
});

test('malformed documents are refused with the offset', () => {
  for (const bad of [
    '<a><b></a></b>',
    '<a>',
    '<a></a><b/>',
    'text',
    '<a x="1" x="2"/>',
    '<p:a/>',
    '<a>&bogus;</a>',
    '<!DOCTYPE a [<!ENTITY x "y">]><a>&x;</a>',
    '<a><!ELEMENT b ANY></a>',
    '<a b=1/>',
    '',
  ]) {
    assert.throws(() => parseXml(bad), XmlError, bad);
  }
});

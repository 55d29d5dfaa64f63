/**
 * The YANG module of cnr's configuration (RFC 7950), generated from the one schema every
 * notation comes from, so it always describes what the XML notation (notation-xml.ts) reads
 * and prints: `container configuration` in namespace urn:cnr:config; a container is a
 * container, a list keys its entries by a `name` leaf (KEY_ELEMENT), a flag is a leaf of type
 * `empty`, `integer A..B` becomes uint8/16/32 with its range, a fixed set of words an
 * enumeration, anything else a string whose description names what cnr's parser takes
 * (addresses, prefixes, communities...: the parser stays the judge of those). The
 * top-level statements are a grouping, used by the configuration and by `groups NAME`.
 * NETCONF serves the module with get-schema (RFC 6022); `yanglint` accepts it (a test).
 */
import { CONFIG_NS, KEY_ELEMENT } from './notation-xml.js';
import { schema, type Children, type ContainerNode, type LeafType, type SchemaNode } from './schema/index.js';

export const YANG_MODULE = 'cnr-configuration';
/** bumped when the schema changes incompatibly; the module's revision statement */
export const YANG_REVISION = '2026-12-06';
const GROUPING = 'configuration-statements';

/** A YANG double-quoted string (RFC 7950 6.1.3: backslash escapes). */
function str(s: string): string {
  return `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n').replace(/\t/g, '\\t')}"`;
}

function typeLines(t: LeafType): { lines: string[]; note?: string } {
  if (t.values) return { lines: ['type enumeration {', ...t.values.map((v) => `  enum ${str(v)};`), '}'] };
  const m = /^integer (\d+)\.\.(\d+)$/.exec(t.name);
  if (m) {
    const max = Number(m[2]);
    const base = max <= 255 ? 'uint8' : max <= 65535 ? 'uint16' : 'uint32';
    return { lines: [`type ${base} {`, `  range "${m[1]}..${m[2]}";`, '}'] };
  }
  return { lines: ['type string;'], note: t.name };
}

function indent(lines: string[], by = '  '): string[] {
  return lines.map((l) => (l ? by + l : l));
}

function leafBody(help: string, t: LeafType, extra: string[] = []): string[] {
  const { lines, note } = typeLines(t);
  return [...lines, ...extra, `description ${str(note ? `${help} (${note})` : help)};`];
}

/** The root's top-level statements (the grouping) are the same node objects `groups` holds. */
function isGroupingOf(children: Children, grouping: Children): boolean {
  const keys = Object.keys(grouping);
  // an empty grouping (while the grouping itself is written) matches nothing: a list with no
  // children but its key (family iso address) is not the grouping
  return keys.length > 0 && keys.length === Object.keys(children).length && keys.every((k) => children[k] === grouping[k]);
}

function nodeLines(name: string, node: SchemaNode, grouping: Children): string[] {
  switch (node.kind) {
    case 'leaf': {
      const extra = node.default !== undefined ? [`default ${str(String(node.default))};`] : [];
      return [`leaf ${name} {`, ...indent(leafBody(node.help, node.type, extra)), '}'];
    }
    case 'leaf-list':
      return [`leaf-list ${name} {`, ...indent(['ordered-by user;', ...leafBody(node.help, node.type)]), '}'];
    case 'flag':
      return [`leaf ${name} {`, '  type empty;', `  description ${str(node.help)};`, '}'];
    case 'container':
      return [`container ${name} {`, `  description ${str(node.help)};`, ...indent(childrenLines(node.children, grouping)), '}'];
    case 'list': {
      if (Object.hasOwn(node.children, KEY_ELEMENT)) throw new Error(`YANG: list ${name} has a child named ${KEY_ELEMENT}, the key's element`);
      const key = [`leaf ${KEY_ELEMENT} {`, ...indent(leafBody(`${node.keyName}`, node.key)), '}'];
      const body = isGroupingOf(node.children, grouping) ? [`uses ${GROUPING};`] : childrenLines(node.children, grouping);
      return [`list ${name} {`, `  key "${KEY_ELEMENT}";`, '  ordered-by user;', `  description ${str(node.help)};`, ...indent([...key, ...body]), '}'];
    }
  }
}

function childrenLines(children: Children, grouping: Children): string[] {
  return Object.entries(children).flatMap(([n, c]) => nodeLines(n, c, grouping));
}

/** The module's text. */
export function yangModule(root: ContainerNode = schema, version = '0.0.0'): string {
  const grouping: Children = Object.fromEntries(Object.entries(root.children).filter(([k]) => k !== 'groups' && k !== 'apply-groups'));
  const rest: Children = Object.fromEntries(Object.entries(root.children).filter(([k]) => !(k in grouping)));
  const lines = [
    `module ${YANG_MODULE} {`,
    '  yang-version 1.1;',
    `  namespace ${str(CONFIG_NS)};`,
    '  prefix cnr;',
    '  organization "cnr, a cloud-native router";',
    '  contact "https://github.com/ (the cnr project)";',
    `  description ${str(`The configuration of cnr ${version}, generated from its configuration schema. Values the parser checks beyond their YANG type (addresses, prefixes, names) say so in their description; a commit checks the whole tree.`)};`,
    `  revision ${YANG_REVISION} {`,
    '    description "Generated from the configuration schema.";',
    '  }',
    `  grouping ${GROUPING} {`,
    '    description "The top-level statements, also allowed inside groups NAME.";',
    ...indent(childrenLines(grouping, {}), '    '),
    '  }',
    '  container configuration {',
    `    description ${str(root.help)};`,
    `    uses ${GROUPING};`,
    ...indent(childrenLines(rest, grouping), '    '),
    '  }',
    '}',
  ];
  return `${lines.join('\n')}\n`;
}

/**
 * The schema DSL. The configuration tree (src/controller/types.ts) is described by a tree of
 * nodes: containers, named lists, leaves, leaf-lists and flags. Every notation (set commands,
 * curly text, YAML, JSON) is parsed and printed by walking this description, the CLI's
 * completion and `?` help read it, and docs/configuration.md is generated from it, so a
 * statement added here is accepted, shown, completed and documented everywhere at once.
 *
 * A container or list entry may name one `positional` child: its value may follow the
 * node's name directly (`as-path NAME ".*"`, `prefix-list NAME 10.0.0.0/8`,
 * `vrf-target target:65000:1`), as in Junos.
 */

/** A leaf's type: turns one word into the stored, canonical value or throws with a reason. */
export interface LeafType {
  /** shown in help and docs, e.g. `ipv4-address`, `uint32 1..4294967295` */
  readonly name: string;
  parse(word: string): string | number;
  /** fixed choices, offered by completion */
  readonly values?: readonly string[];
}

export type Children = Record<string, SchemaNode>;

interface NodeBase {
  readonly help: string;
}

export interface ContainerNode extends NodeBase {
  readonly kind: 'container';
  readonly children: Children;
  readonly positional?: string;
  /** curly text prints the single child on the same line: `family inet {` */
  readonly inline?: boolean;
}

export interface ListNode extends NodeBase {
  readonly kind: 'list';
  /** what the entry's name looks like; its parse() canonicalises the key */
  readonly key: LeafType;
  readonly keyName: string;
  readonly children: Children;
  readonly positional?: string;
  /** curly text prints `interfaces { eth1 { ... } }` rather than `unit 0 { ... }` */
  readonly flat?: boolean;
}

export interface LeafNode extends NodeBase {
  readonly kind: 'leaf';
  readonly type: LeafType;
  /** documented default, applied by the consumer (the tree holds only what was set) */
  readonly default?: string | number;
  /** a password or key: never logged */
  readonly secret?: boolean;
}

export interface LeafListNode extends NodeBase {
  readonly kind: 'leaf-list';
  readonly type: LeafType;
}

export interface FlagNode extends NodeBase {
  readonly kind: 'flag';
}

export type SchemaNode = ContainerNode | ListNode | LeafNode | LeafListNode | FlagNode;

export function container(help: string, children: Children, opts: { positional?: string; inline?: boolean } = {}): ContainerNode {
  return { kind: 'container', help, children, ...opts };
}

export function list(
  help: string,
  keyName: string,
  key: LeafType,
  children: Children,
  opts: { positional?: string; flat?: boolean } = {},
): ListNode {
  return { kind: 'list', help, keyName, key, children, ...opts };
}

export function leaf(help: string, type: LeafType, opts: { default?: string | number; secret?: boolean } = {}): LeafNode {
  return { kind: 'leaf', help, type, ...opts };
}

export function leafList(help: string, type: LeafType): LeafListNode {
  return { kind: 'leaf-list', help, type };
}

export function flag(help: string): FlagNode {
  return { kind: 'flag', help };
}

/** The children a node can hold (containers and list entries), or undefined for terminals. */
export function childrenOf(node: SchemaNode): Children | undefined {
  return node.kind === 'container' || node.kind === 'list' ? node.children : undefined;
}

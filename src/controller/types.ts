/**
 * The seams between the controller's parts. The configuration store (config/) owns the
 * tree and the commit; subsystems (the RIB with direct and static routes, BGP, the FIB
 * export, ...) are ConfigConsumers that validate a candidate tree and apply a committed
 * one; operational commands (`show ...`, `clear ...`) are registered by the subsystem that
 * owns the state. The management adapters (CLI, REST, gRPC, NETCONF) only call these.
 *
 * The tree is plain JSON (see docs/configuration.md for the shape):
 *  - containers are objects;
 *  - named list entries are objects keyed by the entry's name
 *    (interfaces.eth1.unit["0"], protocols.bgp.group.fabric.neighbor["10.0.0.2"]);
 *  - leaves are strings, numbers, or `true` for a flag (`discard`, `passive`);
 *  - leaf-lists are arrays of strings (`next-hop`, routing-instances.X.interface, `import`).
 */

export type ConfigValue = string | number | boolean | string[] | ConfigTree;
export interface ConfigTree {
  [key: string]: ConfigValue;
}

export interface ConfigConsumer {
  readonly name: string;
  /** Check the whole candidate; return human-readable errors, each naming its config path. */
  validate(next: ConfigTree): string[];
  /** Make the committed configuration true. Called after every consumer validated it. */
  apply(next: ConfigTree, prev: ConfigTree): Promise<void>;
}

export interface CommandResult {
  /** what `cnr cli` prints */
  text: string;
  /** what `| display json` and the APIs return */
  data?: unknown;
}

export interface OperationalCommand {
  /** the words that name the command, e.g. ['show', 'route'] */
  path: string[];
  help: string;
  /** arguments after `path`, already split into words */
  run(args: string[]): Promise<CommandResult>;
}

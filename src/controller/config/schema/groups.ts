/**
 * `groups NAME <any statement>` and `apply-groups`: configuration written once and
 * inherited where applied (Junos inheritance, resolved at commit by ../inheritance.ts).
 * The CNI plugin keeps each pod in a group of its own.
 */
import { leafList, list, type Children } from './dsl.js';
import { name } from './types.js';

export function groupsNode(rootChildren: Children) {
  return list('Configuration groups (inherited where applied)', 'group-name', name, rootChildren, { flat: true });
}

export const applyGroups = leafList('Groups inherited by this configuration, in order', name);

/** `cnr controller`: the controller alone; it reaches `cnr vrouter` at --agent-address. */
import { runNode } from './node.js';

export function run(args: string[]): Promise<number> {
  return runNode(args, 'controller');
}

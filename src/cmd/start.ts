/** `cnr start`: controller and vRouter in one process (the single-node default). */
import { runNode } from './node.js';

export function run(args: string[]): Promise<number> {
  return runNode(args, 'start');
}

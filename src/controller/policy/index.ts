/**
 * Routing policy shared by protocols: `policy-options` compiled into a PolicyEngine
 * (evaluate.ts), whose match conditions live in match.ts. A protocol builds a PolicySubject
 * for each route it imports or exports, runs its configured chain with its default policy,
 * and applies the PolicyResult to its own route representation.
 */
export * from './evaluate.js';
export * from './match.js';

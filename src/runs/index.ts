/** The run registry (SQLite) and the wrappers that record train, eval and benchmark runs into it. */
export * from './registry.js';
export * from './record.js';

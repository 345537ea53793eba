/**
 * The server behind `anogen serve`, for programs that embed it: `startServer({ port: 0, home })`
 * answers the JSON API, scoring and the dashboard (src/server/README.md).
 */
export { startServer, checkServeOptions, isLoopback, ListenError, type AnogenServer, type ServeOptions } from './server.js';
export type { ScoreAnswer, ScoreResult } from './score-worker.js';

/** Every detector (importing this module registers them all). */
export * from './api.js';
export * from './schema.js';
export * from './neural.js';
export * from './registry.js';
export * from './bundle.js';
export { Ganomaly, GANOMALY_DEFAULTS, GANOMALY_SCHEMA, GANOMALY_TRAIN_DEFAULTS, ganomalyHParams, type GanomalyHParams } from './ganomaly/detector.js';
export { GanomalyNetworks, type GanomalyArch } from './ganomaly/network.js';
export { ganomalyProcess, GANOMALY_LOSSES } from './ganomaly/step.js';

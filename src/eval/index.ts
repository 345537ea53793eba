/**
 * anogen evaluation: metrics (AUROC, AUPRC, F1, FPR@95TPR, pixel AUROC), score
 * normalisation and thresholds fitted on validation data, classical floors (PCA, kNN),
 * t-SNE, and the HTML report / results.json writers.
 */
export * from './metrics.js';
export * from './normalize.js';
export * from './threshold.js';
export * from './floors.js';
export * from './tsne.js';
export * from './png.js';
export * from './svg.js';
export * from './report.js';

/** The workflows the CLI and the server share: train, evaluate, score, calibrate. */
export { train, findCheckpoint, checkpointRequest, InterruptedError, CHECKPOINT_DIR, type TrainRequest, type TrainHooks, type TrainResult } from './train.js';
export { evaluate, evalDataOptions } from './evaluate.js';
export { writeEvalData, evalDataFilesDir, type EvalData, type EvalDataImage } from './eval-data.js';
export { scoreFiles, openScoringModel, scoreBatch, mapPngs, type ScoredFile, type ScoreFilesOptions, type ScoreRun, type ScoringModel, type OpenScoringOptions } from './score.js';
export * from './calibrate.js';
export { buildSplits, imageTransforms, storableData, type DataOptions } from './data.js';
export { describeCalibration } from './describe.js';
export {
  trainGenerator,
  generatorCheckpointRequest,
  findGeneratorCheckpoint,
  readGeneratorBundleFile,
  generatorTrainSplit,
  saveGeneratorBundle,
  loadGeneratorBundle,
  readGeneratorConfig,
  isGeneratorBundle,
  imageGrid,
  sampleGridPng,
  sampleToFile,
  type GeneratorTrainRequest,
  type GeneratorTrainResult,
  type GeneratorDataOptions,
  type GeneratorBundleConfig,
  type GeneratorBundleMeta,
  type LoadedGenerator,
  type SampleRequest,
  type SampleGridOptions,
} from './generate.js';
export {
  generativeBenchmark,
  generativeBenchmarkMarkdown,
  readGenerativeBenchmark,
  DEFAULT_BENCHMARK_SAMPLES,
  type GenerativeBenchmarkRequest,
  type GenerativeBenchmarkHooks,
  type GenerativeBenchmarkTable,
  type GenerativeCell,
  type GenerativeReference,
} from './generative-benchmark.js';
export type { EvalRequest, EvalResults } from './types.js';

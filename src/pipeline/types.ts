/** Types shared by the evaluation workflow and its report (no code, so no import cycle). */
import type { DeviceSpec, Tensor } from '../core/index.js';
import type { ScoreMetrics } from '../eval/metrics.js';
import type { DataOptions } from './data.js';
import type { TsneResult } from '../eval/tsne.js';

/** What an evaluation is asked to do. */
export interface EvalRequest {
  /** The bundle folder. */
  bundle: string;
  /** Data options that override the bundle's (default: the bundle's data and protocol). */
  data?: Partial<DataOptions>;
  /** Score at most N test images (seeded subset; default all). */
  testLimit?: number;
  /** Test images per batch (default 256). */
  batchSize?: number;
  /**
   * Φ for this run only: 'fixed:<value>' on the normalised scale (default: the bundle's Φ).
   * Strategies that fit Φ (percentile, f1-max) are refused: eval never fits on the test split
   * (refit Φ on validation data with `anogen calibrate`).
   */
  threshold?: string;
  /** results.json path. */
  json: string;
  /** Per-image scores CSV path (default none). */
  csv?: string | null;
  /** HTML report path, or null for none. */
  report: string | null;
  /** Compute the PCA and kNN floors. */
  floors: boolean;
  /** Device to score on: 'auto' (default: CUDA when available), 'cpu', 'cuda' or 'cuda:N' (see resolveDevice). */
  device?: DeviceSpec;
  /**
   * The dashboard's data (src/pipeline/eval-data.ts): this JSON file plus PNGs in the sibling
   * folder `<name>.files/`; null or absent (the default) for none.
   */
  dataJson?: string | null;
}

/** results.json */
export interface EvalResults {
  anogenVersion: string;
  bundle: string;
  detector: string;
  protocol: unknown;
  testImages: number;
  testAnomalous: number;
  /** Test images left out because they failed to decode (--skip-bad). */
  skippedImages?: number;
  /** Φ on the normalised scale. */
  threshold: number;
  metrics: ScoreMetrics;
  floors?: { pca: { auroc: number; auprc: number }; knn: { auroc: number; auprc: number } };
  /**
   * Pixel-level AUROC of the anomaly maps against the ground-truth masks (datasets with masks
   * only; images without a mask count as all-normal), on every `stride`-th pixel of the test
   * maps (at most PIXEL_SAMPLE pixels in all).
   */
  pixel?: { auroc: number; pixels: number; stride: number };
  seconds: number;
}

/** Most pixels kept for the pixel-level AUROC (a deterministic stride over all test pixels). */
export const PIXEL_SAMPLE = 2_000_000;

/** Images shown in each of the report's grids, and points in its t-SNE plot. */
export const REPORT_TOP = 16;
export const REPORT_TSNE_POINTS = 500;

/** Test images kept while streaming (for the report), in display order. */
export interface TopImages {
  /** [K, C, H, W]. */
  images: Tensor;
  /** [K, 1, H, W] anomaly maps, same order (null when the detector gives no maps). */
  maps: Tensor | null;
  /** [K, C, H, W] reconstructions x^, same order, computed once for the report and the eval data (absent: not computed; null: the detector does not reconstruct). */
  reconstructions?: Tensor | null;
  /** Normalised scores, labels and names, same order. */
  scores: number[];
  labels: number[];
  names: string[];
}

/** What the streaming pass keeps for the report. */
export interface ReportData {
  /** The most anomalous test images. */
  top: TopImages | null;
  /** The anomalous test images with the lowest scores (missed first). */
  missed: TopImages | null;
  /** The test images with the lowest scores. */
  mostNormal: TopImages | null;
  /** Features of the t-SNE sample and their labels (null when the detector has no features); `tsne`: their embedding when already computed (default: the report computes it). */
  embedding: { features: Tensor; labels: Uint8Array; title: string; tsne?: TsneResult } | null;
  /** Names of every scored image, in score order. */
  names: string[];
}

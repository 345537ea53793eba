/** Gathers what the HTML report shows and hands it to src/eval's report writer. */
import type { Tensor } from '../../core/index.js';
import type { Detector } from '../../detectors/api.js';
import type { EvalRequest, EvalResults } from './eval.js';

export interface ReportArgs {
  req: EvalRequest;
  detector: Detector;
  config: unknown;
  test: { images: Tensor; labels?: ArrayLike<number>; names: string[] };
  raw: Float32Array;
  normed: Float64Array;
  maps: Tensor;
  results: EvalResults;
  floors: { pca: Float64Array; knn: Float64Array } | undefined;
}

/** Writes the report; returns its path (null when this build has no report writer). */
export async function buildReportInputs(a: ReportArgs): Promise<string | null> {
  void a;
  process.stderr.write('anogen eval: the HTML report writer (src/eval/report) is not in this build yet; skipped\n');
  return null;
}

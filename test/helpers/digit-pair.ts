// The tiny easy pair of the feature-detector tests: MNIST digit 0 is normal, 1 anomalous.
import { disposeBatch, type Batch } from '../../src/data/index.js';
import { buildSplits, imageTransforms, loadSubset } from '../../src/pipeline/data.js';

/** A loaded 0-vs-1 pair: `trainN` training 0s, `perClass` test 0s and 1s, labels (1 = a 1). */
export interface DigitPair {
  train: Batch;
  test: Batch;
  labels: number[];
  dispose(): void;
}

/** Loads MNIST one-vs-rest (normal 0, seed 0) at `size` px: `trainN` training images, the first `perClass` test 0s and 1s. */
export async function digitPair(size: number, trainN: number, perClass: number): Promise<DigitPair> {
  const splits = buildSplits({ data: 'mnist', protocol: 'one-vs-rest', normal: '0', seed: 0, valFraction: 0.1 });
  const tf = imageTransforms({ size, channels: 1 });
  const train = await loadSubset(splits.train, tf, trainN, 0);
  const classes = splits.test.dataset.classes;
  const pick = (name: string) =>
    Array.from(splits.test.classId)
      .map((c, i) => (classes[c] === name ? i : -1))
      .filter((i) => i >= 0)
      .slice(0, perClass);
  const testSplit = splits.test.subset([...pick('0'), ...pick('1')]);
  const test = await loadSubset(testSplit, tf);
  const labels = Array.from(test.batch.positions, (p) => testSplit.label[p]!);
  return {
    train: train.batch,
    test: test.batch,
    labels,
    dispose() {
      disposeBatch(train.batch);
      disposeBatch(test.batch);
    },
  };
}

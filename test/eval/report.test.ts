import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { renderReport, writeReport, writeResultsJson, summarizeEvaluation, type ReportSample } from '../../src/eval/report.js';
import { imageToPng, heatmapToPng, overlayToPng } from '../../src/eval/png.js';
import { niceTicks, fmt, scatterPlot, lineChart } from '../../src/eval/svg.js';
import { auroc } from '../../src/eval/metrics.js';

const scores = [0.1, 0.2, 0.3, 0.35, 0.4, 0.5, 0.8, 0.9, 0.95, 0.3];
const labels = [0, 0, 0, 1, 0, 0, 1, 1, 1, 0];
const floor = [0.2, 0.1, 0.5, 0.4, 0.3, 0.6, 0.7, 0.3, 0.9, 0.2];

function sample(i: number, label: number): ReportSample {
  const img = Float32Array.from({ length: 3 * 8 * 8 }, (_, j) => ((j * (i + 1)) % 17) / 8 - 1); // in [-1, 1]
  const rec = img.map((v) => v * 0.9);
  const map = Float32Array.from({ length: 64 }, (_, j) => (j % 8) / 7);
  return {
    image: { data: img, shape: [3, 8, 8] },
    reconstruction: { data: rec, shape: [3, 8, 8] },
    map: { data: map, shape: [1, 8, 8] },
    score: scores[i]!,
    label,
    caption: `img-${i}`,
  };
}

test('PNG encoding decodes back with sharp, with the right size and pixels', async () => {
  const gray = { data: Float32Array.from([-1, 0, 1, 1, -1, 0]), shape: [2, 3] };
  const png = await imageToPng(gray, '[-1,1]');
  const { data, info } = await sharp(png).raw().toBuffer({ resolveWithObject: true });
  assert.deepEqual([info.width, info.height], [3, 2]);
  const px = Array.from({ length: 6 }, (_, i) => data[i * info.channels]!);
  assert.deepEqual(px, [0, 128, 255, 255, 0, 128]);
  const heat = await heatmapToPng({ data: Float32Array.from([0, 1, 2, 3]), shape: [1, 2, 2] });
  const h = await sharp(heat).raw().toBuffer({ resolveWithObject: true });
  assert.equal(h.info.channels, 3);
  // lowest value is near black, highest is light yellow
  assert.ok(h.data[0]! < 10 && h.data[2]! < 10);
  assert.ok(h.data[9]! > 240 && h.data[10]! > 240);
});

test('report contains every section, the metrics, SVG charts and inline PNGs', async () => {
  const html = await renderReport({
    title: 'Test report <digit 3>',
    info: { detector: 'ganomaly', seed: 7 },
    modelName: 'ganomaly',
    scores,
    labels,
    threshold: 0.6,
    floors: { pca: floor },
    losses: { L_adv: [1, 0.5, 0.25, 0.2], L_con: [10, 8, 6, 5] },
    samples: [0, 3, 6, 7, 8].map((i) => sample(i, labels[i]!)),
    maxSamples: 4,
    embedding: { coords: Array.from({ length: 20 }, (_, i) => i * 0.3), labels },
    extraMetrics: { 'pixel AUROC': 0.875 },
  });
  assert.match(html, /^<!DOCTYPE html>/);
  assert.match(html, /<title>Test report &lt;digit 3&gt;<\/title>/); // escaped
  for (const id of ['metrics', 'scores', 'losses', 'samples', 'embedding']) assert.match(html, new RegExp(`<section id="${id}">`));
  const a = auroc(scores, labels);
  assert.ok(html.includes(fmt(a, 4)), `AUROC ${fmt(a, 4)} in the table`);
  assert.ok(html.includes(`AUROC ${fmt(a, 3)}`), 'AUROC in the ROC legend');
  assert.ok(html.includes(`pca (AUROC ${fmt(auroc(floor, labels), 3)})`));
  assert.ok(html.includes('Φ = 0.6'));
  assert.ok(html.includes('pixel AUROC') && html.includes('0.875'));
  assert.ok(html.includes('L_adv') && html.includes('L_con'));
  assert.equal((html.match(/<svg /g) ?? []).length, 6); // histogram, ROC, PR, losses, colorbar, t-SNE scatter
  const imgs = [...html.matchAll(/<img [^>]*src="data:image\/png;base64,([A-Za-z0-9+/=]+)"/g)];
  assert.equal(imgs.length, 4 * 4); // 4 samples x (x, x^, map, map on x)
  const meta = await sharp(Buffer.from(imgs[0]![1]!, 'base64')).metadata();
  assert.deepEqual([meta.format, meta.width, meta.height, meta.channels], ['png', 8, 8, 3]);
  // the highest score comes first
  assert.ok(html.indexOf('img-8') < html.indexOf('img-7') && !html.includes('img-0'));
  // no external assets
  assert.doesNotMatch(html, /(src|href)="(https?:)?\/\//);
});

test('minimal report (scores and labels only) has no empty sections', async () => {
  const html = await renderReport({ scores, labels });
  assert.match(html, /<section id="metrics">/);
  assert.doesNotMatch(html, /<section id="(losses|samples|embedding)">/);
  assert.doesNotMatch(html, /F1@Φ/);
});

test('a one-pass fit (one history row) is a table of its figures, not a one-point loss chart', async () => {
  const html = await renderReport({ scores, labels, losses: { banks: [225], patches: [1018] }, lossDocs: { banks: 'memory banks' } });
  const sec = html.slice(html.indexOf('<section id="losses">'), html.indexOf('</section>', html.indexOf('<section id="losses">')));
  assert.match(sec, /<h2>Fit<\/h2>/);
  assert.match(sec, /<tr><td>banks<\/td><td>225<\/td><td>memory banks<\/td><\/tr>/);
  assert.match(sec, /<tr><td>patches<\/td><td>1018<\/td><td><\/td><\/tr>/);
  assert.doesNotMatch(sec, /<svg/);
  // two rows or more: still the loss chart
  const two = await renderReport({ scores, labels, losses: { loss: [2, 1] } });
  assert.match(two, /<h2>Training losses<\/h2>/);
});

test('writeReport and writeResultsJson write files; non-finite numbers become null', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'anogen-report-'));
  try {
    const file = path.join(dir, 'sub', 'report.html');
    await writeReport(file, { scores, labels, embedding: { features: Array.from({ length: 10 }, (_, i) => [i % 2, i, 1]), labels, tsne: { iterations: 50 } } });
    assert.match(fs.readFileSync(file, 'utf8'), /t-SNE of 10 points/);
    const summary = summarizeEvaluation({ scores, labels, threshold: 0.6, floors: { pca: floor } });
    const rj = path.join(dir, 'results.json');
    writeResultsJson(rj, { summary, curve: Float32Array.from([1, 2]), inf: Infinity, nan: NaN });
    const back = JSON.parse(fs.readFileSync(rj, 'utf8'));
    assert.equal(back.summary.metrics.auroc, auroc(scores, labels));
    assert.equal(back.summary.floors.pca.auroc, auroc(floor, labels));
    assert.deepEqual(back.curve, [1, 2]);
    assert.equal(back.inf, null);
    assert.equal(back.nan, null);
    assert.equal(fs.readdirSync(dir).filter((f) => f.endsWith('.tmp')).length, 0);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('niceTicks and fmt', () => {
  assert.deepEqual(niceTicks(0, 1, 5), [0, 0.2, 0.4, 0.6, 0.8, 1]);
  assert.deepEqual(niceTicks(-0.03, 3.03, 5, true), [0, 1, 2, 3]);
  assert.deepEqual(niceTicks(0, 1, 5, true), [0, 1]);
  assert.deepEqual(niceTicks(0, 40, 4, true), [0, 10, 20, 30, 40]);
  assert.deepEqual(niceTicks(3, 47, 4), [10, 20, 30, 40]);
  assert.equal(fmt(0.000012345), '1.23e-5');
  assert.equal(fmt(0.95238), '0.952');
  assert.equal(fmt(Infinity), '∞');
});

test('overlay PNG: the image shows where the map is 0, heat colours where it is high', async () => {
  const img = { data: Float32Array.from({ length: 4 }, () => 1), shape: [1, 2, 2] }; // white, [0, 1]
  const map = { data: Float32Array.from([0, 0, 0, 1]), shape: [2, 2] };
  const png = await overlayToPng(img, map, { range: '[0,1]', alpha: 0.7 });
  const { data, info } = await sharp(png).raw().toBuffer({ resolveWithObject: true });
  assert.deepEqual([info.width, info.height, info.channels], [2, 2, 3]);
  assert.deepEqual(Array.from(data.subarray(0, 3)), [255, 255, 255]); // map 0: the image
  assert.ok(data[9]! < 255 && data[11]! < 200, 'map 1: tinted towards the heat colour'); // light yellow (252,255,164) at 70 %
  // a map of another size is resampled to the image
  const big = await overlayToPng({ data: new Float32Array(16), shape: [4, 4] }, map, { range: '[0,1]' });
  assert.equal((await sharp(big).metadata()).width, 4);
});

test('report fixes: floor names, header, badges, PR range, integer loss ticks, loss docs, extra image sections', async () => {
  const n = 100;
  const lab = Array.from({ length: n }, (_, i) => (i % 11 === 0 ? 0 : 1)); // 91 % anomalous
  const sc = lab.map((l, i) => l + ((i * 37) % 17) / 10);
  const px = (v: number): ReportSample['image'] => ({ data: new Float32Array(3 * 64 * 64).fill(v), shape: [3, 64, 64] });
  const mk = (score: number, label: number, caption: string, flagged?: boolean): ReportSample => ({
    image: px(0.5),
    reconstruction: px(0.4),
    map: { data: new Float32Array(64 * 64).fill(score), shape: [64, 64] },
    score,
    label,
    caption,
    flagged,
  });
  const html = await renderReport({
    scores: sc,
    labels: lab,
    threshold: 1.2,
    info: { 'test images': n, seed: 1 },
    floors: { 'PCA (floor)': sc.map((v, i) => v + ((i * 13) % 7) / 5), knn: sc },
    losses: { g: [3, 2, 1.5, 1.2], d: [0.7, 0.69, 0.7, 0.68] },
    lossDocs: { g: 'generator total', d: 'discriminator BCE' },
    samples: [mk(2.5, 1, 'top-a'), mk(0.9, 0, 'top-b')],
    missed: [mk(0.3, 1, 'miss-a'), mk(0.1, 1, 'miss-b'), mk(0.05, 0, 'not-an-anomaly')],
    mostNormal: [mk(0.2, 0, 'norm-a'), mk(0.01, 0, 'norm-b', true)],
  });
  assert.ok(html.includes('<td>PCA (floor)</td>') && html.includes('<td>knn (floor)</td>'));
  assert.doesNotMatch(html, /\(floor\) \(floor\)/);
  assert.equal((html.match(/test images:/g) ?? []).length, 1);
  assert.ok(html.includes('truth: anomalous') && html.includes('truth: normal'));
  assert.ok(html.includes('>model: flagged<') && html.includes('>model: not flagged<'));
  for (const id of ['samples', 'missed', 'normal']) assert.match(html, new RegExp(`<section id="${id}">`));
  // lowest first; a normal image passed as "missed" is left out; an explicit flag wins over the threshold
  assert.ok(html.indexOf('miss-b') < html.indexOf('miss-a') && !html.includes('not-an-anomaly'));
  assert.ok(html.indexOf('norm-b') < html.indexOf('norm-a'));
  const normalSec = html.slice(html.indexOf('<section id="normal">'));
  assert.ok(normalSec.includes('false alarm'));
  // PR axis from the data, said on the axis
  assert.match(html, /precision \(axis from 0\.\d+, not 0\)/);
  // integer step ticks and explained loss names
  const lossSvg = html.slice(html.indexOf('<section id="losses">'), html.indexOf('</section>', html.indexOf('<section id="losses">')));
  const xt = [...lossSvg.matchAll(/class="ticklabel xtick">([^<]+)</g)].map((m) => Number(m[1]));
  assert.ok(xt.length >= 2 && xt.every(Number.isInteger), `integer step ticks: ${xt.join(', ')}`);
  assert.ok(lossSvg.includes('g — generator total') && lossSvg.includes('d — discriminator BCE'));
});

test('scatter points lie whole inside the frame; legends stay clear of the curves', () => {
  const coords = [0, 0, 100, -50, -3, 7, 1e-3, 1e3, 5, 5, NaN, 1];
  const labels = [0, 1, 0, 1, 0, 1];
  for (const hideTicks of [true, false]) {
    for (const title of [undefined, 't-SNE']) {
      const svg = scatterPlot(coords, labels, { hideTicks, title, xRange: hideTicks ? undefined : [-1, 10] });
      const fr = svg.match(/<rect x="([\d.]+)" y="([\d.]+)" width="([\d.]+)" height="([\d.]+)" class="frame"\/>/)!;
      const [fx, fy, fw, fh] = fr.slice(1).map(Number) as [number, number, number, number];
      const pts = [...svg.slice(svg.indexOf('class="points"')).matchAll(/<circle cx="([-\d.]+)" cy="([-\d.]+)" r="([\d.]+)"\/>/g)];
      assert.equal(pts.length, 5, 'the point with a NaN coordinate is left out');
      for (const m of pts) {
        const [cx, cy, r] = m.slice(1).map(Number) as [number, number, number];
        assert.ok(
          cx - r >= fx && cx + r <= fx + fw && cy - r >= fy && cy + r <= fy + fh,
          `point (${cx}, ${cy}) inside [${fx}, ${fy}, ${fw}, ${fh}] (hideTicks ${hideTicks}, title ${title})`,
        );
      }
    }
  }
  // a curve along the top edge: the 'auto' legend goes to a bottom corner, not over the curve
  const svg = lineChart(
    [
      { name: 'a long series name', x: [0, 1], y: [1, 1] },
      { name: 'b', x: [0, 1], y: [0.95, 0.97] },
    ],
    { xRange: [0, 1], yRange: [0, 1.02], legendCorner: 'auto' },
  );
  assert.match(svg, /class="legend legend-b[rl]"/);
  // curves everywhere: below the plot
  const zig = Array.from({ length: 41 }, (_, i) => (i % 2 ? 1 : 0));
  assert.match(lineChart([{ name: 'zigzag', y: zig }], { legendCorner: 'auto' }), /class="legend legend-below"/);
});

#!/usr/bin/env -S node --import tsx
// Screenshots of a synthetic HTML report (64 px images) in headless Chromium at 1000, 1400 and
// 1920 px, full page, for looking at the layout; also prints the layout check's problems.
// Usage: node --import tsx scripts/report-screenshots.ts [out-dir] [--rate 0.91] [--size 64]
//   out-dir defaults to .bench-tmp/report-shots; --rate (anomaly rate) defaults to 0.91 and
//   --size (image side in px) to 64. Writes report.html and report-<width>.png there.
// Needs Chromium at /usr/bin/chromium (or ANOGEN_CHROMIUM) and the dev dependency playwright-core.
import fs from 'node:fs';
import path from 'node:path';
import { renderReport } from '../src/eval/report.js';
import { dispose } from '../src/core/index.js';
import { syntheticReport } from '../test/helpers/synthetic-report.js';
import { checkReportLayout, chromiumSkipReason, launchChromium, REPORT_WIDTHS } from '../test/helpers/report-layout.js';

const args = process.argv.slice(2);
let out = '.bench-tmp/report-shots';
let rate = 0.91;
let size = 64;
for (let i = 0; i < args.length; i++) {
  const a = args[i]!;
  if (a === '--rate') rate = Number(args[++i]);
  else if (a === '--size') size = Number(args[++i]);
  else if (a === '-h' || a === '--help') {
    console.log('usage: node --import tsx scripts/report-screenshots.ts [out-dir (default .bench-tmp/report-shots)] [--rate 0.91] [--size 64]');
    process.exit(0);
  } else out = a;
}
if (!(rate > 0 && rate < 1) || !(Number.isInteger(size) && size >= 4)) {
  console.error(`report-screenshots: --rate must be in (0, 1) and --size a whole number >= 4 (got ${rate}, ${size})`);
  process.exit(2);
}
const skip = chromiumSkipReason();
if (skip) {
  console.error(`report-screenshots: ${skip}`);
  process.exit(1);
}

fs.mkdirSync(out, { recursive: true });
const { input, tensors } = syntheticReport({ n: 400, size, anomalyRate: rate, channels: 3 });
let html: string;
try {
  html = await renderReport(input);
} finally {
  dispose(tensors);
}
const htmlFile = path.join(out, 'report.html');
fs.writeFileSync(htmlFile, html);
const browser = await launchChromium();
let bad = 0;
try {
  const page = await browser.newPage({ viewport: { width: REPORT_WIDTHS[0], height: 1000 } });
  await page.setContent(html, { waitUntil: 'load' });
  for (const width of REPORT_WIDTHS) {
    await page.setViewportSize({ width, height: 1000 });
    const file = path.join(out, `report-${width}.png`);
    await page.screenshot({ path: file, fullPage: true });
    const { problems } = await checkReportLayout(page);
    bad += problems.length;
    console.log(`${file}: ${problems.length === 0 ? 'layout OK' : `${problems.length} layout problem(s)`}`);
    for (const p of problems.slice(0, 20)) console.log(`  ${p}`);
  }
} finally {
  await browser.close();
}
console.log(`report: ${htmlFile}`);
process.exit(bad > 0 ? 1 : 0);

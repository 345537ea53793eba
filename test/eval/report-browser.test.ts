// The HTML report rendered in headless Chromium at 1000, 1400 and 1920 px: nothing overflows
// its card, grid or plot (bounding boxes measured in the page). Skipped without /usr/bin/chromium.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { renderReport } from '../../src/eval/report.js';
import { dispose } from '../../src/core/index.js';
import { syntheticReport } from '../helpers/synthetic-report.js';
import { checkReportLayout, chromiumSkipReason, launchChromium, REPORT_WIDTHS } from '../helpers/report-layout.js';

const skip = chromiumSkipReason();

test('report layout in headless Chromium: 64 px images, 50% and 91% anomalous, three widths', { skip: skip ?? false, timeout: 60_000 }, async () => {
  const cases = [
    { name: '50% anomalous, grey', opts: { anomalyRate: 0.5, channels: 1 as const } },
    { name: '91% anomalous, RGB', opts: { anomalyRate: 0.91, channels: 3 as const } },
  ];
  const pages: { name: string; html: string }[] = [];
  for (const c of cases) {
    const { input, tensors } = syntheticReport({ n: 300, size: 64, maxSamples: 8, ...c.opts });
    try {
      pages.push({ name: c.name, html: await renderReport(input) });
    } finally {
      dispose(tensors);
    }
  }
  // the 91 % case: PR precision axis chosen from the data, and said so
  assert.match(pages[1]!.html, /precision \(axis from 0\.\d+, not 0\)/);
  const browser = await launchChromium();
  try {
    const page = await browser.newPage({ viewport: { width: REPORT_WIDTHS[0], height: 900 } });
    for (const p of pages) {
      await page.setContent(p.html, { waitUntil: 'load' });
      for (const width of REPORT_WIDTHS) {
        await page.setViewportSize({ width, height: 900 });
        const { problems, facts } = await checkReportLayout(page);
        const where = `${p.name} at ${width} px`;
        assert.deepEqual(problems, [], `${where}:\n${problems.slice(0, 20).join('\n')}`);
        assert.equal(facts.cards, 3 * 8, `${where}: cards of the three image sections`);
        assert.equal(facts.points, 300, `${where}: every t-SNE point drawn`);
        assert.ok(facts.legends >= 5, `${where}: legends checked (${facts.legends})`);
        // PR curves use the plot's height, not a sliver at y = 1
        const pr = facts.curveSpan['Precision-recall curve'];
        assert.ok(pr !== undefined && pr > 0.3, `${where}: PR curves span ${pr} of the plot height`);
      }
    }
  } finally {
    await browser.close();
  }
});

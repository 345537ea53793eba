// The dashboard end to end in headless Chromium (Debian's chromium driven by playwright-core):
// a tiny GANomaly trained and evaluated through the CLI in this process is seen in the runs
// table, its page shows the loss curve and the ROC, and an image uploaded on the score page
// comes back with its score and map; the threshold slider re-labels it. No console errors.
// Skipped without /usr/bin/chromium (or ANOGEN_CHROMIUM).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import type { Browser } from 'playwright-core';
import { startServer } from '../../src/server/server.js';
import { runCli, TINY_GANOMALY } from '../helpers/cli.js';
import { chromiumSkipReason, launchChromium } from '../helpers/report-layout.js';

const skip = chromiumSkipReason();
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'anogen-dash-'));
// a registry of its own (scripts/run-tests.mjs gives each test file one too), named by --home
const home = path.join(tmp, 'home');
process.env.ANOGEN_HOME = home;
process.on('exit', () => fs.rmSync(tmp, { recursive: true, force: true }));

/** A 28 × 28 grey PNG of a ring (a digit-like zero). */
async function ringPng(): Promise<Buffer> {
  const px = Buffer.alloc(28 * 28);
  for (let y = 0; y < 28; y++) for (let x = 0; x < 28; x++) px[y * 28 + x] = Math.abs(Math.hypot(x - 13.5, y - 13.5) - 8) < 2.2 ? 235 : 10;
  return sharp(px, { raw: { width: 28, height: 28, channels: 1 } })
    .png()
    .toBuffer();
}

test('dashboard: runs table, run page (loss curve, ROC, top images), score page (score, map, threshold)', { skip: skip ?? false, timeout: 120_000 }, async () => {
  // Chromium starts (another process) while the model trains
  const launching = launchChromium();
  try {
    await scenario(launching);
  } finally {
    await (await launching.catch(() => null))?.close();
  }
});

/** Trains, evaluates, serves and drives the dashboard; the browser is closed by the caller. */
async function scenario(launching: Promise<Browser>): Promise<void> {
  const bundle = path.join(tmp, 'bundle');
  const tr = await runCli(
    'train',
    'ganomaly',
    ...['--data', 'mnist', '--protocol', 'one-vs-rest', '--normal', '0'],
    ...['--train-limit', '64', '--val-limit', '32', '--epochs', '1', '--batch-size', '16', ...TINY_GANOMALY],
    ...['--out', bundle, '--quiet', '--threads', '1', '--home', home],
  );
  assert.equal(tr.code, 0, tr.err);
  const ev = await runCli('eval', bundle, '--test-limit', '64', '--no-report', '--no-floors', '--quiet', '--threads', '1', '--home', home);
  assert.equal(ev.code, 0, ev.err);

  const server = await startServer({ port: 0, home, log: () => {}, workers: 1, threads: 1 });
  const browser = await launching;
  const problems: string[] = [];
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    page.on('console', (m) => {
      if (m.type() === 'error') problems.push(`console error: ${m.text()}`);
    });
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));

    // the runs table: the train run and its evaluation, sortable
    await page.goto(`${server.url}#/runs`);
    const trainRow = page.locator('table.runs tbody tr', { hasText: 'train' }).first();
    await trainRow.waitFor();
    assert.match(await trainRow.innerText(), /ganomaly[\s\S]*finished/);
    const ids = async () => page.$$eval('table.runs tbody tr', (rows) => rows.map((r) => Number(r.getAttribute('data-id'))));
    const before = await ids();
    assert.equal(before.length, 2, 'a train and an eval run');
    assert.deepEqual(
      before,
      [...before].sort((a, b) => b - a),
      'newest first',
    );
    await page.click('table.runs th[data-key="id"]');
    assert.deepEqual(await ids(), [...before].reverse(), 'clicking # sorts the other way');

    // the run page: loss curve and ROC drawn, the most anomalous images loaded
    const trainId = Number(await trainRow.getAttribute('data-id'));
    await trainRow.locator('a', { hasText: `#${trainId}` }).click();
    await page.waitForSelector('svg.loss polyline.series', { state: 'attached' });
    await page.waitForSelector('svg.roc polyline.series', { state: 'attached' });
    await page.waitForSelector('svg.histogram line.phi', { state: 'attached' });
    const points = await page.$eval('svg.loss polyline.series', (el) => el.getAttribute('points')!.trim().split(/\s+/).length);
    assert.ok(points >= 4, `the loss curve has a point per step (${points})`);
    await page.waitForFunction(() => {
      const imgs = [...document.querySelectorAll<HTMLImageElement>('#top img')];
      return imgs.length > 0 && imgs.every((i) => i.complete && i.naturalWidth > 0);
    });

    // the score page: upload a PNG, see its score and map, move the threshold under it
    await page.goto(`${server.url}#/score`);
    await page.waitForSelector('#file');
    await page.setInputFiles('#file', { name: 'ring.png', mimeType: 'image/png', buffer: await ringPng() });
    const raw = page.locator('.scorecard .scores b.raw');
    await raw.waitFor({ timeout: 30_000 });
    assert.ok(Number.isFinite(Number(await raw.innerText())), `a raw score (${await raw.innerText()})`);
    const normalized = Number(await page.locator('.scorecard b.normalized').innerText());
    assert.ok(Number.isFinite(normalized));
    await page.waitForFunction(() => {
      const m = document.querySelector<HTMLImageElement>('.scorecard img.map');
      return m !== null && m.complete && m.naturalWidth > 0;
    });
    const setThreshold = (v: number) =>
      page.$eval(
        '#threshold',
        (el, value) => {
          const input = el as HTMLInputElement;
          input.value = String(value);
          input.dispatchEvent(new Event('input'));
        },
        v,
      );
    await setThreshold(Number(await page.$eval('#threshold', (el) => (el as HTMLInputElement).min)));
    assert.equal(await page.locator('.scorecard .tag').innerText(), 'anomalous');
    assert.match(await page.locator('#flagsummary').innerText(), /^1 of 1 image/);
    await setThreshold(Number(await page.$eval('#threshold', (el) => (el as HTMLInputElement).max)));
    assert.equal(await page.locator('.scorecard .tag').innerText(), 'normal');
    assert.match(await page.locator('#flagsummary').innerText(), /^0 of 1 image/);
    assert.deepEqual(problems, []);
  } finally {
    await server.close();
  }
}

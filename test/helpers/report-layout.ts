// Headless-Chromium helpers for the HTML report: launching Debian's chromium through
// playwright-core, and a layout check run inside the page that lists every element that
// overflows its card, grid or plot (used by test/eval/report-browser.test.ts and
// scripts/report-screenshots.ts).
import fs from 'node:fs';
import type { Browser, Page } from 'playwright-core';

/** Where Debian installs Chromium. */
export const CHROMIUM_PATH = process.env.ANOGEN_CHROMIUM ?? '/usr/bin/chromium';

/** Why the browser checks cannot run here (null when they can). */
export function chromiumSkipReason(): string | null {
  if (!fs.existsSync(CHROMIUM_PATH)) return `${CHROMIUM_PATH} is absent (install Debian's chromium or set ANOGEN_CHROMIUM)`;
  return null;
}

/** Launches headless Chromium (no sandbox: these run as root in containers). */
export async function launchChromium(): Promise<Browser> {
  const { chromium } = await import('playwright-core');
  return chromium.launch({ executablePath: CHROMIUM_PATH, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
}

/** The window widths the report is checked at. */
export const REPORT_WIDTHS = [1000, 1400, 1920] as const;

/** Facts measured in the page beside the problems, for further assertions. */
export interface LayoutFacts {
  /** Sample cards checked. */
  cards: number;
  /** t-SNE points checked. */
  points: number;
  /** Legends checked. */
  legends: number;
  /** Per chart title: the height of the union of its curves' boxes over the frame's height. */
  curveSpan: Record<string, number>;
}

/**
 * Checks the rendered report's layout in the page; returns the problems found (empty = fine):
 * the page must not scroll sideways; every sample card must lie inside its grid and overlap no
 * other card, and its images, captions and badges must lie inside the card; every chart must
 * lie inside its section; every t-SNE point must lie whole inside the plot frame; every legend
 * must lie inside its SVG, its text inside its box, and its box must cover no curve or bar.
 */
export async function checkReportLayout(page: Page): Promise<{ problems: string[]; facts: LayoutFacts }> {
  // tsx (esbuild, keepNames) wraps named functions in __name(...), which the page lacks
  await page.evaluate('globalThis.__name ??= (f) => f');
  return page.evaluate(() => {
    const EPS = 0.75;
    const problems: string[] = [];
    type R = { left: number; top: number; right: number; bottom: number };
    const box = (e: Element): R => {
      const r = e.getBoundingClientRect();
      return { left: r.left, top: r.top, right: r.right, bottom: r.bottom };
    };
    const inside = (a: R, b: R): boolean => a.left >= b.left - EPS && a.right <= b.right + EPS && a.top >= b.top - EPS && a.bottom <= b.bottom + EPS;
    const overlap = (a: R, b: R): boolean => a.left < b.right - EPS && b.left < a.right - EPS && a.top < b.bottom - EPS && b.top < a.bottom - EPS;
    const show = (r: R): string => `[${r.left.toFixed(1)}, ${r.top.toFixed(1)} – ${r.right.toFixed(1)}, ${r.bottom.toFixed(1)}]`;
    const sectionOf = (e: Element): string => e.closest('section')?.id ?? '?';

    // 1. no sideways scrolling
    const sw = document.documentElement.scrollWidth;
    if (sw > window.innerWidth + 1) problems.push(`page is ${sw} px wide in a ${window.innerWidth} px window`);

    // 2. sample cards
    let cards = 0;
    for (const grid of Array.from(document.querySelectorAll('.samplegrid'))) {
      const g = box(grid);
      const cs = Array.from(grid.querySelectorAll(':scope > .sample'));
      cards += cs.length;
      const rs = cs.map(box);
      rs.forEach((r, i) => {
        if (!inside(r, g)) problems.push(`${sectionOf(grid)} card ${i + 1} ${show(r)} leaves its grid ${show(g)}`);
        for (let j = i + 1; j < rs.length; j++) if (overlap(r, rs[j]!)) problems.push(`${sectionOf(grid)} cards ${i + 1} and ${j + 1} overlap`);
        const card = cs[i]!;
        for (const e of Array.from(card.querySelectorAll('img, figure, figcaption, .cap, .tag, .name'))) {
          const b = box(e);
          if (!inside(b, r))
            problems.push(`${sectionOf(grid)} card ${i + 1}: ${e.tagName.toLowerCase()}.${(e as HTMLElement).className || ''} ${show(b)} leaves the card ${show(r)}`);
        }
        // figures side by side must not overlap each other
        const figs = Array.from(card.querySelectorAll('figure')).map(box);
        for (let a = 0; a < figs.length; a++)
          for (let b = a + 1; b < figs.length; b++) if (overlap(figs[a]!, figs[b]!)) problems.push(`${sectionOf(grid)} card ${i + 1}: figures ${a + 1} and ${b + 1} overlap`);
      });
    }

    // 3. charts inside their sections
    const svgs = Array.from(document.querySelectorAll('svg.chart')) as SVGSVGElement[];
    for (const svg of svgs) {
      const sec = svg.closest('section');
      if (sec && !inside(box(svg), box(sec))) problems.push(`a chart in ${sec.id} ${show(box(svg))} leaves its section ${show(box(sec))}`);
    }

    // 4. t-SNE points inside the frame
    let points = 0;
    for (const svg of Array.from(document.querySelectorAll('svg.scatter'))) {
      const frame = svg.querySelector('rect.frame');
      if (!frame) {
        problems.push('a scatter plot has no frame');
        continue;
      }
      const f = box(frame);
      for (const c of Array.from(svg.querySelectorAll('circle')).filter((e) => !e.closest('.legend'))) {
        points++;
        const b = box(c);
        if (!inside(b, f)) problems.push(`t-SNE point ${show(b)} leaves the frame ${show(f)}`);
      }
    }

    // 5. legends: inside the SVG, text inside the box, the box clear of curves and bars
    let legends = 0;
    const curveSpan: Record<string, number> = {};
    for (const svg of svgs) {
      const sb = box(svg);
      const ctm = svg.getScreenCTM();
      if (!ctm) continue;
      const toScreen = (x: number, y: number): [number, number] => {
        const p = new DOMPoint(x, y).matrixTransform(ctm);
        return [p.x, p.y];
      };
      const title = svg.querySelector('text.title')?.textContent ?? svg.closest('section')?.id ?? '?';
      const lines: [number, number][][] = [];
      for (const pl of Array.from(svg.querySelectorAll('polyline')) as SVGPolylineElement[]) {
        const pts: [number, number][] = [];
        for (let i = 0; i < pl.points.numberOfItems; i++) {
          const p = pl.points.getItem(i);
          pts.push(toScreen(p.x, p.y));
        }
        lines.push(pts);
      }
      const frame = svg.querySelector('rect.frame');
      if (frame && lines.length > 0) {
        const ys = lines.flat().map((p) => p[1]);
        const f = box(frame);
        curveSpan[title] = (Math.max(...ys) - Math.min(...ys)) / (f.bottom - f.top);
      }
      const bars = Array.from(svg.querySelectorAll('rect'))
        .filter((e) => !e.closest('defs, .legend') && !e.classList.contains('frame'))
        .map(box);
      const segHits = (a: [number, number], b: [number, number], r: R): boolean => {
        // Liang-Barsky
        const dx = b[0] - a[0],
          dy = b[1] - a[1];
        let t0 = 0,
          t1 = 1;
        const clip = (p: number, q: number): boolean => {
          if (p === 0) return q >= 0;
          const t = q / p;
          if (p < 0) {
            if (t > t1) return false;
            if (t > t0) t0 = t;
          } else {
            if (t < t0) return false;
            if (t < t1) t1 = t;
          }
          return true;
        };
        return clip(-dx, a[0] - r.left) && clip(dx, r.right - a[0]) && clip(-dy, a[1] - r.top) && clip(dy, r.bottom - a[1]);
      };
      for (const lg of Array.from(svg.querySelectorAll('g.legend'))) {
        legends++;
        const rect = lg.querySelector('rect.legendbox');
        if (!rect) continue;
        const lb = box(rect);
        if (!inside(lb, sb)) problems.push(`legend of "${title}" ${show(lb)} leaves its SVG ${show(sb)}`);
        for (const t of Array.from(lg.querySelectorAll('text'))) {
          const tb = box(t);
          if (!inside(tb, lb)) problems.push(`legend text "${t.textContent}" of "${title}" ${show(tb)} leaves its box ${show(lb)}`);
        }
        const inner = { left: lb.left + EPS, top: lb.top + EPS, right: lb.right - EPS, bottom: lb.bottom - EPS };
        for (const pts of lines) {
          for (let i = 0; i + 1 < pts.length; i++) {
            if (segHits(pts[i]!, pts[i + 1]!, inner)) {
              problems.push(`legend of "${title}" ${show(lb)} covers a curve near (${pts[i]![0].toFixed(1)}, ${pts[i]![1].toFixed(1)})`);
              break;
            }
          }
        }
        for (const b of bars) {
          if (overlap(b, lb)) {
            problems.push(`legend of "${title}" ${show(lb)} covers a histogram bar ${show(b)}`);
            break;
          }
        }
      }
    }
    return { problems, facts: { cards, points, legends, curveSpan } };
  });
}

// Prints the per-digit AUROC tables of bench/ae-vae-mnist.sh (runs/ae-vae-mnist/*/results.json).
import fs from 'node:fs';
import path from 'node:path';
const root = process.argv[2] ?? 'runs/ae-vae-mnist-ngf64';
const models = ['ae', 'vae-recon', 'vae-elbo', 'vae-iwae'];
const read = (m, d) => {
  const f = path.join(root, `${m}-${d}`, 'results.json');
  return fs.existsSync(f) ? JSON.parse(fs.readFileSync(f, 'utf8')) : null;
};
const rows = [];
const sums = Object.fromEntries([...models, 'pca', 'knn'].map((k) => [k, []]));
for (let d = 0; d <= 9; d++) {
  const r = Object.fromEntries(models.map((m) => [m, read(m, d)]));
  if (Object.values(r).every((v) => v === null)) continue;
  const fl = r.ae?.floors;
  const cells = models.map((m) => {
    const a = r[m]?.metrics.auroc;
    if (a !== undefined) sums[m].push(a);
    return a === undefined ? '-' : a.toFixed(3);
  });
  if (fl) {
    sums.pca.push(fl.pca.auroc);
    sums.knn.push(fl.knn.auroc);
  }
  rows.push(`| ${d} | ${cells.join(' | ')} | ${fl ? fl.pca.auroc.toFixed(3) : '-'} | ${fl ? fl.knn.auroc.toFixed(3) : '-'} |`);
}
const mean = (a) => (a.length === 0 ? '-' : `${(a.reduce((s, v) => s + v, 0) / a.length).toFixed(3)}${a.length < 10 ? ` (${a.length} digits)` : ''}`);
console.log(`| normal digit | ${models.join(' | ')} | PCA floor | kNN floor |`);
console.log(`|---|${[...models, 'pca', 'knn'].map(() => '---:').join('|')}|`);
for (const r of rows) console.log(r);
console.log(`| **mean** | ${[...models, 'pca', 'knn'].map((m) => mean(sums[m])).join(' | ')} |`);

// The VAE's bound relation on the test images: iwae (-log p(x) estimate) <= negative ELBO.
const scores = (m, d) => {
  const f = path.join(root, `${m}-${d}`, 'scores.csv');
  if (!fs.existsSync(f)) return null;
  const rows = fs.readFileSync(f, 'utf8').trim().split('\n').slice(1);
  return new Map(
    rows.map((r) => {
      const [file, , score] = r.split(','); // file,label,score,normalized,flagged
      return [file, Number(score)];
    }),
  );
};
for (let d = 0; d <= 9; d++) {
  const e = scores('vae-elbo', d);
  const i = scores('vae-iwae', d);
  if (e === null || i === null) continue;
  let below = 0;
  let se = 0;
  let si = 0;
  for (const [k, v] of e) {
    const w = i.get(k);
    if (w <= v) below++;
    se += v;
    si += w;
  }
  console.log(`digit ${d}: iwae <= elbo for ${below}/${e.size} test images; mean elbo ${(se / e.size).toFixed(1)}, mean iwae ${(si / e.size).toFixed(1)} nats`);
}

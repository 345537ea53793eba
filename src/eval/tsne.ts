/**
 * Barnes-Hut t-SNE (van der Maaten, 2014) in TypeScript, for 2-D plots of features (e.g. a
 * discriminator's) coloured by label. Input similarities use the exact k nearest neighbours
 * (k = 3 × perplexity, distances by a libtorch matmul in blocks); the embedding is optimised
 * with a quadtree (θ = 0.5), early exaggeration, momentum and gains, as in the reference
 * bhtsne code and sklearn's `TSNE(method='barnes_hut')`. Seeded: the same input and seed
 * give the same embedding. About 2,000 points in a few seconds on one core.
 */
import { AnogenError } from '../core/errors.js';
import { Tensor } from '../core/tensor.js';
import { tidy } from '../core/scope.js';
import { toMatrix, type ImageMatrix } from './floors.js';
import { mulberry32 } from '../data/random.js';

/** Options of {@link tsne}. */
export interface TsneOptions {
  /** Effective number of neighbours (default 30); lowered to (N − 1) / 3 for small N. */
  perplexity?: number;
  /** Gradient-descent iterations (default 1000). */
  iterations?: number;
  /** Learning rate (default 'auto' = max(N / 12 / 4, 50), sklearn's rule). */
  learningRate?: number | 'auto';
  /** Early exaggeration factor (default 12) applied for the first `exaggerationIterations` (default 250). */
  earlyExaggeration?: number;
  exaggerationIterations?: number;
  /** Barnes-Hut accuracy θ (default 0.5; 0 = exact repulsion, slow). */
  theta?: number;
  /** Seed of the random initialisation N(0, 1e-4²) (default 0). */
  seed?: number;
}

/** An embedding. */
export interface TsneResult {
  /** N points × 2, row-major: point i is (coords[2i], coords[2i+1]). */
  coords: Float64Array;
  n: number;
  /** The perplexity actually used. */
  perplexity: number;
  /** KL(P || Q) of the final embedding (exact; computed when N <= 5000, else NaN). */
  kl: number;
}

function checkNum(name: string, v: unknown, ok: (x: number) => boolean, valid: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || !ok(v)) {
    throw new AnogenError(`t-SNE ${name}: ${JSON.stringify(v)} is not valid; expected ${valid}`);
  }
  return v;
}

/** Sparse symmetric P (CSR), from the exact kNN graph and a per-point perplexity search. */
function inputSimilarities(x: Tensor, perplexity: number): { rowPtr: Int32Array; cols: Int32Array; vals: Float64Array } {
  const n = x.shape[0]!;
  const k = Math.min(n - 1, Math.floor(3 * perplexity));
  const nbr = new Int32Array(n * k);
  const dist = new Float64Array(n * k); // squared distances
  const xn = tidy(() => x.square().sum(1).unsqueeze(0));
  const xt = tidy(() => x.t().contiguous());
  try {
    const chunk = 512;
    for (let s = 0; s < n; s += chunk) {
      const len = Math.min(chunk, n - s);
      const { v, i } = tidy(() => {
        const xb = x.narrow(0, s, len);
        const d2 = xb.square().sum(1, true).add(xn).sub(xb.matmul(xt).mul(2)).clamp(0, null);
        const top = d2.topk(k + 1, 1, false, true);
        return { v: top.values.toFloat64Array(), i: top.indices.toTypedArray() as BigInt64Array };
      });
      for (let r = 0; r < len; r++) {
        const self = s + r;
        let m = 0;
        for (let c = 0; c < k + 1 && m < k; c++) {
          const j = Number(i[r * (k + 1) + c]!);
          if (j === self) continue;
          nbr[self * k + m] = j;
          dist[self * k + m] = v[r * (k + 1) + c]!;
          m++;
        }
      }
    }
  } finally {
    xn.dispose();
    xt.dispose();
  }
  // binary search of the Gaussian precision beta_i so that the row's entropy is log(perplexity)
  const target = Math.log(perplexity);
  const condP = new Float64Array(n * k);
  const row = new Float64Array(k);
  for (let i = 0; i < n; i++) {
    let beta = 1;
    let lo = -Infinity;
    let hi = Infinity;
    const d = dist.subarray(i * k, (i + 1) * k);
    const dmin = d[0]!; // shift for numerical stability (rows are sorted ascending)
    for (let it = 0; it < 200; it++) {
      let sum = 0;
      let hsum = 0;
      for (let m = 0; m < k; m++) {
        const p = Math.exp(-beta * (d[m]! - dmin));
        row[m] = p;
        sum += p;
        hsum += (d[m]! - dmin) * p;
      }
      const h = Math.log(sum) + (beta * hsum) / sum;
      for (let m = 0; m < k; m++) row[m] = row[m]! / sum;
      const diff = h - target;
      if (Math.abs(diff) < 1e-5) break;
      if (diff > 0) {
        lo = beta;
        beta = hi === Infinity ? beta * 2 : (beta + hi) / 2;
      } else {
        hi = beta;
        beta = lo === -Infinity ? beta / 2 : (beta + lo) / 2;
      }
    }
    condP.set(row, i * k);
  }
  // symmetrise: P_ij = (P_j|i + P_i|j) / 2N
  const maps: Map<number, number>[] = Array.from({ length: n }, () => new Map());
  for (let i = 0; i < n; i++) {
    for (let m = 0; m < k; m++) {
      const j = nbr[i * k + m]!;
      const p = condP[i * k + m]! / (2 * n);
      maps[i]!.set(j, (maps[i]!.get(j) ?? 0) + p);
      maps[j]!.set(i, (maps[j]!.get(i) ?? 0) + p);
    }
  }
  const rowPtr = new Int32Array(n + 1);
  for (let i = 0; i < n; i++) rowPtr[i + 1] = rowPtr[i]! + maps[i]!.size;
  const cols = new Int32Array(rowPtr[n]!);
  const vals = new Float64Array(rowPtr[n]!);
  for (let i = 0; i < n; i++) {
    let o = rowPtr[i]!;
    for (const [j, p] of maps[i]!) {
      cols[o] = j;
      vals[o++] = p;
    }
  }
  return { rowPtr, cols, vals };
}

/** A quadtree over the current embedding, in flat arrays (rebuilt every iteration). */
class QuadTree {
  cap = 0;
  count = new Int32Array(0);
  comX = new Float64Array(0);
  comY = new Float64Array(0);
  cx = new Float64Array(0);
  cy = new Float64Array(0);
  hw = new Float64Array(0); // half width
  child = new Int32Array(0); // 4 per node, -1 = none
  point = new Int32Array(0); // leaf's point, -1 = internal or empty
  size = 0;

  private grow(need: number): void {
    if (need <= this.cap) return;
    const cap = Math.max(need, this.cap * 2, 64);
    const f = (a: Float64Array) => {
      const b = new Float64Array(cap);
      b.set(a);
      return b;
    };
    const g = (a: Int32Array, per: number) => {
      const b = new Int32Array(cap * per);
      b.set(a);
      return b;
    };
    this.count = g(this.count, 1);
    this.comX = f(this.comX);
    this.comY = f(this.comY);
    this.cx = f(this.cx);
    this.cy = f(this.cy);
    this.hw = f(this.hw);
    this.child = g(this.child, 4);
    this.point = g(this.point, 1);
    this.cap = cap;
  }

  private node(cx: number, cy: number, hw: number): number {
    this.grow(this.size + 1);
    const id = this.size++;
    this.count[id] = 0;
    this.comX[id] = 0;
    this.comY[id] = 0;
    this.cx[id] = cx;
    this.cy[id] = cy;
    this.hw[id] = hw;
    this.child.fill(-1, id * 4, id * 4 + 4);
    this.point[id] = -1;
    return id;
  }

  build(y: Float64Array, n: number): void {
    this.size = 0;
    let minX = Infinity,
      minY = Infinity,
      maxX = -Infinity,
      maxY = -Infinity;
    for (let i = 0; i < n; i++) {
      const a = y[2 * i]!,
        b = y[2 * i + 1]!;
      if (a < minX) minX = a;
      if (a > maxX) maxX = a;
      if (b < minY) minY = b;
      if (b > maxY) maxY = b;
    }
    const hw = Math.max(maxX - minX, maxY - minY) / 2 + 1e-5;
    const root = this.node((minX + maxX) / 2, (minY + maxY) / 2, hw);
    for (let i = 0; i < n; i++) this.insert(root, i, y[2 * i]!, y[2 * i + 1]!);
  }

  /** Node kinds: count 0 = empty leaf; point >= 0 = leaf (count > 1: duplicates); point -1 and count > 0 = internal. */
  private insert(root: number, i: number, px: number, py: number): void {
    let nd = root;
    for (let depth = 0; ; depth++) {
      const c = this.count[nd]!;
      if (c === 0) {
        this.count[nd] = 1;
        this.comX[nd] = px;
        this.comY[nd] = py;
        this.point[nd] = i;
        return;
      }
      const leafPt = this.point[nd]!;
      if (leafPt >= 0) {
        if ((this.comX[nd] === px && this.comY[nd] === py) || depth > 40) {
          this.comX[nd] = (this.comX[nd]! * c + px) / (c + 1);
          this.comY[nd] = (this.comY[nd]! * c + py) / (c + 1);
          this.count[nd] = c + 1;
          return;
        }
        // split: move the leaf's point(s) one level down, then go on as an internal node
        const ox = this.comX[nd]!;
        const oy = this.comY[nd]!;
        const ch = this.childFor(nd, this.quadrant(nd, ox, oy));
        this.count[ch] = c;
        this.comX[ch] = ox;
        this.comY[ch] = oy;
        this.point[ch] = leafPt;
        this.point[nd] = -1;
      }
      this.comX[nd] = (this.comX[nd]! * c + px) / (c + 1);
      this.comY[nd] = (this.comY[nd]! * c + py) / (c + 1);
      this.count[nd] = c + 1;
      nd = this.childFor(nd, this.quadrant(nd, px, py));
    }
  }

  private quadrant(nd: number, px: number, py: number): number {
    return (px >= this.cx[nd]! ? 1 : 0) + (py >= this.cy[nd]! ? 2 : 0);
  }

  private childFor(nd: number, q: number): number {
    let ch = this.child[nd * 4 + q]!;
    if (ch === -1) {
      const h = this.hw[nd]! / 2;
      const cx = this.cx[nd]! + (q & 1 ? h : -h);
      const cy = this.cy[nd]! + (q & 2 ? h : -h);
      ch = this.node(cx, cy, h); // may reallocate arrays: index again after
      this.child[nd * 4 + q] = ch;
    }
    return ch;
  }
}

/**
 * Embeds the rows of `x` ([N, D]: a Tensor [N, ...], an array of Float32Array, or
 * `{data, rows, cols}`) in 2-D. N >= 4. See {@link TsneOptions} for the defaults.
 */
export function tsne(x: ImageMatrix, opts: TsneOptions = {}): TsneResult {
  const iterations = checkNum('iterations', opts.iterations ?? 1000, (v) => Number.isInteger(v) && v >= 1, 'an integer >= 1 (default 1000)');
  const perp0 = checkNum('perplexity', opts.perplexity ?? 30, (v) => v >= 1, 'a number >= 1 (default 30)');
  const theta = checkNum('theta', opts.theta ?? 0.5, (v) => v >= 0 && v <= 1.5, 'a number in [0, 1.5] (default 0.5)');
  const exag = checkNum('earlyExaggeration', opts.earlyExaggeration ?? 12, (v) => v >= 1, 'a number >= 1 (default 12)');
  const exagIters = checkNum('exaggerationIterations', opts.exaggerationIterations ?? 250, (v) => Number.isInteger(v) && v >= 0, 'an integer >= 0 (default 250)');
  const seed = checkNum('seed', opts.seed ?? 0, Number.isInteger, 'an integer (default 0)');
  const xm = toMatrix(x, 't-SNE input', 'float32');
  let P: ReturnType<typeof inputSimilarities>;
  const n = xm.shape[0]!;
  let perplexity = perp0;
  try {
    if (n < 4) throw new AnogenError(`t-SNE input: needs at least 4 points, got ${n}`);
    const finite = tidy(() => xm.isfinite().all().item());
    if (!finite) throw new AnogenError('t-SNE input: contains NaN or infinite values');
    perplexity = Math.min(perp0, (n - 1) / 3);
    P = inputSimilarities(xm, perplexity);
  } finally {
    xm.dispose();
  }
  const lrOpt = opts.learningRate ?? 'auto';
  const lr = lrOpt === 'auto' ? Math.max(n / exag / 4, 50) : checkNum('learningRate', lrOpt, (v) => v > 0, "a number > 0 or 'auto' (default 'auto')");

  const rand = mulberry32(seed);
  const gauss = (): number => {
    const u = 1 - rand();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rand());
  };
  const y = new Float64Array(2 * n);
  for (let i = 0; i < 2 * n; i++) y[i] = 1e-4 * gauss();
  const upd = new Float64Array(2 * n);
  const gains = new Float64Array(2 * n).fill(1);
  const grad = new Float64Array(2 * n);
  const rep = new Float64Array(2 * n);
  const tree = new QuadTree();
  const theta2 = theta * theta;
  const stack = new Int32Array(4096);
  const { rowPtr, cols, vals } = P;

  for (let it = 0; it < iterations; it++) {
    const ex = it < exagIters ? exag : 1;
    const momentum = it < exagIters ? 0.5 : 0.8;
    // repulsive forces by Barnes-Hut
    tree.build(y, n);
    const sumQ = repulsion(y, n, tree.count, tree.comX, tree.comY, tree.hw, tree.child, tree.point, theta2, stack, rep);
    // attractive forces on the sparse P, and the gradient
    for (let i = 0; i < n; i++) {
      const px = y[2 * i]!,
        py = y[2 * i + 1]!;
      let ax = 0,
        ay = 0;
      for (let o = rowPtr[i]!; o < rowPtr[i + 1]!; o++) {
        const j = cols[o]!;
        const dx = px - y[2 * j]!;
        const dy = py - y[2 * j + 1]!;
        const m = (ex * vals[o]!) / (1 + dx * dx + dy * dy);
        ax += m * dx;
        ay += m * dy;
      }
      grad[2 * i] = 4 * (ax - rep[2 * i]! / sumQ);
      grad[2 * i + 1] = 4 * (ay - rep[2 * i + 1]! / sumQ);
    }
    // gains, momentum, update; re-centre
    let mx = 0,
      my = 0;
    for (let d = 0; d < 2 * n; d++) {
      const g = grad[d]!;
      const u = upd[d]!;
      let gn = g > 0 !== u > 0 ? gains[d]! + 0.2 : gains[d]! * 0.8;
      if (gn < 0.01) gn = 0.01;
      gains[d] = gn;
      const nu = momentum * u - lr * gn * g;
      upd[d] = nu;
      y[d] = y[d]! + nu;
    }
    for (let i = 0; i < n; i++) {
      mx += y[2 * i]!;
      my += y[2 * i + 1]!;
    }
    mx /= n;
    my /= n;
    for (let i = 0; i < n; i++) {
      y[2 * i] = y[2 * i]! - mx;
      y[2 * i + 1] = y[2 * i + 1]! - my;
    }
  }
  return { coords: y, n, perplexity, kl: n <= 5000 ? exactKl(y, n, P) : NaN };
}

/** Barnes-Hut repulsive forces (unnormalised) into `rep`; returns Z = Σ q_ij Z. */
function repulsion(
  y: Float64Array,
  n: number,
  tCount: Int32Array,
  tComX: Float64Array,
  tComY: Float64Array,
  tHw: Float64Array,
  tChild: Int32Array,
  tPoint: Int32Array,
  theta2: number,
  stack: Int32Array,
  rep: Float64Array,
): number {
  let sumQ = 0;
  for (let i = 0; i < n; i++) {
    const px = y[2 * i]!,
      py = y[2 * i + 1]!;
    let fx = 0,
      fy = 0;
    let sp = 0;
    stack[sp++] = 0;
    while (sp > 0) {
      const nd = stack[--sp]!;
      const cnt = tCount[nd]!;
      if (cnt === 0) continue;
      const leafPt = tPoint[nd]!;
      const dx = px - tComX[nd]!;
      const dy = py - tComY[nd]!;
      const d2 = dx * dx + dy * dy;
      const w = 2 * tHw[nd]!;
      if (leafPt >= 0 || w * w < theta2 * d2) {
        if (leafPt === i) {
          // the point itself exerts no force; its exact duplicates (q = 1) count in Z
          sumQ += cnt - 1;
          continue;
        }
        const q = 1 / (1 + d2);
        sumQ += cnt * q;
        const m = cnt * q * q;
        fx += m * dx;
        fy += m * dy;
      } else {
        const c4 = nd * 4;
        for (let c = 0; c < 4; c++) {
          const ch = tChild[c4 + c]!;
          if (ch !== -1) stack[sp++] = ch;
        }
      }
    }
    rep[2 * i] = fx;
    rep[2 * i + 1] = fy;
  }
  return sumQ;
}

/** KL(P || Q) with the exact Q (O(N²)). */
function exactKl(y: Float64Array, n: number, P: { rowPtr: Int32Array; cols: Int32Array; vals: Float64Array }): number {
  let z = 0;
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      const dx = y[2 * i]! - y[2 * j]!;
      const dy = y[2 * i + 1]! - y[2 * j + 1]!;
      z += 2 / (1 + dx * dx + dy * dy);
    }
  }
  let kl = 0;
  for (let i = 0; i < n; i++) {
    for (let o = P.rowPtr[i]!; o < P.rowPtr[i + 1]!; o++) {
      const j = P.cols[o]!;
      const p = P.vals[o]!;
      if (p <= 0) continue;
      const dx = y[2 * i]! - y[2 * j]!;
      const dy = y[2 * i + 1]! - y[2 * j + 1]!;
      const q = 1 / (1 + dx * dx + dy * dy) / z;
      kl += p * Math.log(p / Math.max(q, 1e-300));
    }
  }
  return kl;
}

/**
 * `anogen data info <name|dir>`: counts per source (split) and class, and image sizes, of a
 * named dataset ('mnist', 'fashion-mnist') or a dataset folder (IDX files or MVTec layout).
 */
import { AnogenError } from '../../core/errors.js';
import { openDataset, IdxDataset, FolderDataset, imageHeader, type Dataset } from '../../data/index.js';

/** Options of {@link dataInfoCommand}. */
export interface DataInfoOptions {
  /** Dataset name or directory. */
  target: string;
  /** Include ELPV-style test/uncertain (default false). */
  includeUncertain?: boolean;
  /** Return JSON instead of text (default false). */
  json?: boolean;
}

/** The facts `data info` reports. */
export interface DataInfo {
  name: string;
  kind: string;
  root: string | null;
  classes: string[];
  normalClass: string | null;
  sources: Record<string, { count: number; classes: Record<string, number>; masks?: number }>;
  /** Distinct image sizes and how many images have each. */
  sizes: { width: number; height: number; channels: number; bits: number; count: number }[];
  excluded?: string[];
  /** Files whose header could not be read. */
  unreadable?: string[];
}

/** Gathers {@link DataInfo} of an opened dataset (reads every image header of a folder). */
export async function dataInfo(ds: Dataset): Promise<DataInfo> {
  const sources: DataInfo['sources'] = {};
  for (const s of ds.sources) {
    const n = new Array<number>(ds.classes.length).fill(0);
    for (const c of ds.classIds(s)) n[c]++;
    const classes: Record<string, number> = {};
    ds.classes.forEach((name, c) => {
      if (n[c] > 0) classes[name] = n[c];
    });
    sources[s] = { count: ds.count(s), classes };
    if (ds instanceof FolderDataset && ds.hasMasks) {
      let m = 0;
      for (let i = 0; i < ds.count(s); i++) if (ds.maskFile(s, i)) m++;
      sources[s].masks = m;
    }
  }
  const sizes = new Map<string, DataInfo['sizes'][number]>();
  const unreadable: string[] = [];
  if (ds instanceof IdxDataset) {
    const n = ds.sources.reduce((a, s) => a + ds.count(s), 0);
    sizes.set('', { width: ds.width, height: ds.height, channels: ds.channels, bits: ds.images.train.dtype === 'uint8' ? 8 : 32, count: n });
  } else {
    const files = ds.sources.flatMap((s) => Array.from({ length: ds.count(s) }, (_, i) => ds.itemName(s, i)));
    const batch = 32;
    for (let k = 0; k < files.length; k += batch) {
      const heads = await Promise.allSettled(files.slice(k, k + batch).map((f) => imageHeader(f)));
      heads.forEach((h, j) => {
        if (h.status === 'rejected') {
          unreadable.push(files[k + j]);
          return;
        }
        const v = h.value;
        const key = `${v.width}x${v.height}x${v.channels}x${v.depth}`;
        const e = sizes.get(key) ?? { width: v.width, height: v.height, channels: v.channels, bits: v.depth, count: 0 };
        e.count++;
        sizes.set(key, e);
      });
    }
  }
  const excluded = (ds as { excluded?: readonly string[] }).excluded;
  return {
    name: ds.name,
    kind: ds.kind,
    root: ds.root,
    classes: [...ds.classes],
    normalClass: ds.normalClass,
    sources,
    sizes: [...sizes.values()].sort((a, b) => b.count - a.count),
    ...(excluded && excluded.length ? { excluded: [...excluded] } : {}),
    ...(unreadable.length ? { unreadable } : {}),
  };
}

/** Formats {@link DataInfo} as text. */
export function formatDataInfo(info: DataInfo): string {
  const lines: string[] = [];
  lines.push(`dataset ${info.name} (${info.kind}${info.root ? `, ${info.root}` : ''})`);
  lines.push(`classes: ${info.classes.length} (${info.classes.join(', ')})${info.normalClass ? `; normal class: ${info.normalClass}` : ''}`);
  for (const [s, v] of Object.entries(info.sources)) {
    lines.push(`${s}: ${v.count} images${v.masks !== undefined ? `, ${v.masks} masks` : ''}`);
    for (const [c, n] of Object.entries(v.classes)) lines.push(`  ${c.padEnd(14)} ${String(n).padStart(7)}`);
  }
  lines.push('image sizes:');
  for (const z of info.sizes) {
    lines.push(`  ${z.width}x${z.height}, ${z.channels === 1 ? 'gray' : 'RGB'}, ${z.bits}-bit: ${z.count}`);
  }
  if (info.excluded) lines.push(`left out: ${info.excluded.join(', ')} (include with --include-uncertain)`);
  if (info.unreadable) lines.push(`unreadable: ${info.unreadable.length} (${info.unreadable.slice(0, 5).join(', ')}${info.unreadable.length > 5 ? ', ...' : ''})`);
  return lines.join('\n') + '\n';
}

/**
 * `anogen data info`: gathers the facts of `opts.target` and RETURNS the text (or JSON with
 * `json: true`) to print; prints nothing and never exits. The command line's argv is parsed
 * by src/cli/commands/data-verb.ts, which prints the result.
 */
export async function dataInfoCommand(opts: DataInfoOptions): Promise<string> {
  if (typeof opts?.target !== 'string' || opts.target === '') {
    throw new AnogenError("data info: expected a dataset: 'mnist', 'fashion-mnist' or a directory");
  }
  const ds = openDataset(opts.target, { includeUncertain: opts.includeUncertain ?? false });
  const info = await dataInfo(ds);
  return opts.json ? JSON.stringify(info, null, 2) + '\n' : formatDataInfo(info);
}

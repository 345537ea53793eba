/**
 * `--hparams name.key=value,...` of `anogen benchmark`, parsed against the schemas of the listed
 * detectors or generators: one parser for both suites.
 */
import { AnogenError } from '../core/index.js';
import { didYouMean, flagName, type HParamSchema } from '../util/schema.js';

/** Splits a comma list ('' and spaces dropped). */
export const list = (s: unknown): string[] =>
  String(s)
    .split(',')
    .map((x) => x.trim())
    .filter((x) => x.length > 0);

/** What `--hparams` names: the schema of each listed name, and how messages call them. */
export interface HParamsTarget {
  /** The schema of a listed detector or generator. */
  schemaOf: (name: string) => HParamSchema;
  /** The flag that lists the names ('--detectors' or '--models'). */
  listFlag: string;
  /** What a name is ('detector' or 'model'), for messages. */
  what: string;
  /** An example item for messages (e.g. 'ganomaly.nz=8'). */
  example: string;
}

/** Converts a `--hparams` value to the schema's type (validated later by the schema). */
function hparamValue(schema: HParamSchema, name: string, key: string, raw: string): unknown {
  const spec = schema[key]!;
  if (spec.type === 'int' || spec.type === 'number') {
    const n = Number(raw);
    if (raw.trim() === '' || !Number.isFinite(n)) throw new AnogenError(`--hparams ${name}.${flagName(key)}=${raw}: expected a number`);
    return n;
  }
  if (spec.type === 'bool') {
    if (raw === 'true' || raw === '1') return true;
    if (raw === 'false' || raw === '0') return false;
    throw new AnogenError(`--hparams ${name}.${flagName(key)}=${raw}: expected true or false`);
  }
  return raw;
}

/**
 * The `key=value` items of a `--hparams` text: split at commas, where a piece without `=` after
 * an item continues that item's value (`gaussian.backboneLayers=layer2,layer3` is one item whose
 * value is `layer2,layer3`; a first piece without `=` stays an item, refused by the caller).
 */
export function hparamItems(text: string): string[] {
  const out: string[] = [];
  for (const piece of list(text)) {
    if (!piece.includes('=') && out.length > 0) out[out.length - 1] += `,${piece}`;
    else out.push(piece);
  }
  return out;
}

/**
 * Parses `--hparams name.key=value,...` for the listed names (a key without `name.` applies to
 * every listed name whose schema has it; keys in camelCase or kebab-case; a value may hold
 * commas: see {@link hparamItems}).
 */
export function parseHParamsList(text: string, names: string[], t: HParamsTarget): Record<string, Record<string, unknown>> {
  const out: Record<string, Record<string, unknown>> = {};
  for (const item of hparamItems(text)) {
    const eq = item.indexOf('=');
    if (eq <= 0) throw new AnogenError(`--hparams: ${JSON.stringify(item)} is not key=value; expected ${t.what}.key=value,... (e.g. ${t.example})`);
    const lhs = item.slice(0, eq).trim();
    const raw = item.slice(eq + 1).trim();
    const dot = lhs.indexOf('.');
    const targets = dot > 0 ? [lhs.slice(0, dot)] : names;
    const key0 = dot > 0 ? lhs.slice(dot + 1) : lhs;
    if (dot > 0 && !names.includes(targets[0]!)) {
      throw new AnogenError(`--hparams ${lhs}: ${JSON.stringify(targets[0])} is not in ${t.listFlag}${didYouMean(targets[0]!, names)}; expected one of ${names.join(', ')}`);
    }
    let used = 0;
    for (const n of targets) {
      const schema = t.schemaOf(n);
      const key = Object.keys(schema).find((k) => k === key0 || flagName(k) === key0);
      if (key === undefined) {
        if (dot > 0) {
          const keys = Object.keys(schema).map(flagName);
          throw new AnogenError(`--hparams ${lhs}: ${n} has no hyperparameter ${JSON.stringify(key0)}${didYouMean(key0, keys)}; valid: ${keys.join(', ')}`);
        }
        continue;
      }
      (out[n] ??= {})[key] = hparamValue(schema, n, key, raw);
      used++;
    }
    if (used === 0) throw new AnogenError(`--hparams ${lhs}: none of ${names.join(', ')} has a hyperparameter ${JSON.stringify(key0)} (anogen help train <${t.what}> lists them)`);
  }
  return out;
}

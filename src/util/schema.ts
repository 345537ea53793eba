/**
 * Hyperparameter schemas. A detector (src/detectors) or a generative model (src/models) declares each hyperparameter once (type, default, range,
 * one-line doc); the schema drives validation (library and bundles), the CLI's flags
 * (`--camel-case` names in kebab case) and `anogen help train <model>`.
 */
import fs from 'node:fs';
import { AnogenError, validList } from '../core/errors.js';

interface Common {
  /** One line for help, without the default (it is appended). */
  doc: string;
}
/** An integer in [min, max]; `check` adds a rule (returns what is expected, or null when fine). */
export interface IntParam extends Common {
  type: 'int';
  default: number;
  min?: number;
  max?: number;
  check?: (v: number) => string | null;
}
/** A finite number in [min, max]. */
export interface NumberParam extends Common {
  type: 'number';
  default: number;
  min?: number;
  max?: number;
  /** Exclusive upper bound instead of max (e.g. Adam's beta < 1). */
  below?: number;
}
/** true or false. */
export interface BoolParam extends Common {
  type: 'bool';
  default: boolean;
}
/** One of `values`. */
export interface EnumParam extends Common {
  type: 'enum';
  default: string;
  values: readonly string[];
}
/** Free text. */
export interface StringParam extends Common {
  type: 'string';
  default: string;
}
/** A path to an existing file (null: none). */
export interface FileParam extends Common {
  type: 'file';
  default: string | null;
}
/** One hyperparameter. */
export type ParamSpec = IntParam | NumberParam | BoolParam | EnumParam | StringParam | FileParam;
/** Every hyperparameter of a detector, by camelCase name. */
export type HParamSchema = Record<string, ParamSpec>;

/** The defaults of a schema as an object. */
export function schemaDefaults(schema: HParamSchema): Record<string, unknown> {
  return Object.fromEntries(Object.entries(schema).map(([k, s]) => [k, s.default]));
}

/** kebab-case CLI flag name of a camelCase key (`bnRecalibration` -> `bn-recalibration`). */
export function flagName(key: string): string {
  return key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

/** Levenshtein distance (small strings). */
function distance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...new Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
  }
  return d[a.length]![b.length]!;
}

/** The closest of `candidates` to `word` when it is a plausible typo (distance <= 2, or a prefix), else null. */
export function closeMatch(word: string, candidates: readonly string[]): string | null {
  let best: string | null = null;
  let bestD = Infinity;
  for (const c of candidates) {
    const d = c.startsWith(word) || word.startsWith(c) ? Math.min(1, distance(word, c)) : distance(word, c);
    if (d < bestD) {
      bestD = d;
      best = c;
    }
  }
  return best !== null && bestD <= Math.max(1, Math.min(2, Math.floor(word.length / 3))) ? best : null;
}

/** "; did you mean X?" or "". */
export function didYouMean(word: string, candidates: readonly string[], fmt: (s: string) => string = (s) => s): string {
  const m = closeMatch(word, candidates);
  return m === null ? '' : ` (did you mean ${fmt(m)}?)`;
}

/** Help text of one parameter: its doc, range or values, and default. */
export function describeParam(s: ParamSpec): string {
  const range =
    s.type === 'int' || s.type === 'number'
      ? [s.min !== undefined ? `>= ${s.min}` : '', s.type === 'number' && s.below !== undefined ? `< ${s.below}` : '', s.max !== undefined ? `<= ${s.max}` : '']
          .filter(Boolean)
          .join(', ')
      : s.type === 'enum'
        ? s.values.join(' | ')
        : '';
  return `${s.doc}${range ? ` (${range})` : ''} (default ${s.default === null ? 'none' : String(s.default)})`;
}

/** Checks one value against its spec; returns it (numbers from strings are NOT accepted here). */
export function checkParam(who: string, key: string, s: ParamSpec, v: unknown): unknown {
  const bad = (expected: string): never => {
    throw new AnogenError(`${who} ${key}: ${JSON.stringify(v)} is not valid; expected ${expected}`);
  };
  switch (s.type) {
    case 'bool':
      if (typeof v !== 'boolean') bad('true or false');
      return v;
    case 'int':
    case 'number': {
      if (typeof v !== 'number' || !Number.isFinite(v)) bad(s.type === 'int' ? 'an integer' : 'a finite number');
      const n = v as number;
      if (s.type === 'int' && !Number.isInteger(n)) bad('an integer');
      if (s.min !== undefined && n < s.min) bad(`a number >= ${s.min}`);
      if (s.max !== undefined && n > s.max) bad(`a number <= ${s.max}`);
      if (s.type === 'number' && s.below !== undefined && n >= s.below) bad(`a number < ${s.below}`);
      if (s.type === 'int' && s.check) {
        const why = s.check(n);
        if (why !== null) bad(why);
      }
      return n;
    }
    case 'enum':
      if (typeof v !== 'string' || !s.values.includes(v)) bad(validList(s.values));
      return v;
    case 'string':
      if (typeof v !== 'string') bad('a string');
      return v;
    case 'file':
      if (v === null) return null;
      if (typeof v !== 'string' || v === '') bad('a file path');
      if (!fs.existsSync(v as string) || !fs.statSync(v as string).isFile()) bad('an existing file');
      return v;
  }
}

/**
 * Validates (partial) hyperparameters against a schema and fills in the defaults: unknown keys
 * (with a close-match suggestion) and bad values are AnogenErrors naming `who`, the key and
 * what is valid.
 */
export function resolveHParams(schema: HParamSchema, given: Record<string, unknown> | undefined, who: string): Record<string, unknown> {
  const out = schemaDefaults(schema);
  for (const [k, v] of Object.entries(given ?? {})) {
    const s = schema[k];
    if (s === undefined) {
      throw new AnogenError(`${who}: unknown option ${JSON.stringify(k)}${didYouMean(k, Object.keys(schema))}; valid options: ${Object.keys(schema).join(', ')}`);
    }
    if (v === undefined) continue;
    out[k] = checkParam(who, k, s, v);
  }
  return out;
}

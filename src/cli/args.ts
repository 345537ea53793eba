/**
 * Command-line option parsing for `anogen`: `--name value`, `--name=value`, boolean flags,
 * positionals, and `--config file.json|.yaml` whose keys are the same option names (kebab
 * or camel case). Unknown options/keys and invalid values are AnogenErrors that list what
 * is valid.
 */
import fs from 'node:fs';
import YAML from 'yaml';
import { AnogenError, validList } from '../core/index.js';
import { didYouMean } from '../detectors/schema.js';

/** One option of a verb. */
export interface OptionSpec {
  /** kebab-case name without dashes, e.g. 'image-size'. */
  name: string;
  type: 'string' | 'int' | 'number' | 'bool';
  /** Allowed values (for strings). */
  values?: readonly string[];
  /** Minimum (numbers). */
  min?: number;
  /** Maximum (numbers; default: none, but every number must be a plain decimal literal). */
  max?: number;
  /** One line for --help, with its default. */
  doc: string;
}

/** Parsed options: camelCase keys. */
export type Parsed = { positionals: string[]; opts: Record<string, string | number | boolean> };

const camel = (s: string) => s.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
const kebab = (s: string) => s.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

function convert(spec: OptionSpec, raw: unknown, where: string): string | number | boolean {
  const bad = (expected: string): never => {
    throw new AnogenError(`${where}: ${JSON.stringify(raw)} is not valid; expected ${expected}`);
  };
  if (spec.type === 'bool') {
    if (typeof raw === 'boolean') return raw;
    if (raw === 'true' || raw === '1' || raw === undefined) return true;
    if (raw === 'false' || raw === '0') return false;
    return bad('true or false');
  }
  if (spec.type === 'int' || spec.type === 'number') {
    // Plain decimal literals only: '0x1', '1e20' for an integer, 'Infinity' and ' 3' are refused.
    const literal = spec.type === 'int' ? /^[+-]?\d+$/ : /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
    const n = typeof raw === 'number' ? raw : typeof raw === 'string' && literal.test(raw) ? Number(raw) : NaN;
    if (!Number.isFinite(n) || (spec.type === 'int' && !Number.isSafeInteger(n))) return bad(spec.type === 'int' ? 'an integer' : 'a number');
    if (spec.min !== undefined && n < spec.min) return bad(`a number >= ${spec.min}`);
    if (spec.max !== undefined && n > spec.max) return bad(`a number <= ${spec.max}`);
    return n;
  }
  if (typeof raw !== 'string' && typeof raw !== 'number') return bad('a string');
  const s = String(raw);
  if (spec.values && !spec.values.includes(s)) return bad(validList(spec.values));
  return s;
}

/** Reads a JSON or YAML config file into option values (validated against `specs`; keys not in `specs` are errors unless `ignoreUnknown`, default false). */
export function readConfigFile(file: string, specs: OptionSpec[], ignoreUnknown = false): Record<string, string | number | boolean> {
  if (!fs.existsSync(file)) throw new AnogenError(`--config ${file}: no such file`);
  if (!fs.statSync(file).isFile()) throw new AnogenError(`--config ${file}: not a file (expected a JSON or YAML file of option: value)`);
  const text = fs.readFileSync(file, 'utf8');
  let obj: unknown;
  try {
    obj = /\.ya?ml$/i.test(file) ? YAML.parse(text) : JSON.parse(text);
  } catch (e) {
    throw new AnogenError(`--config ${file}: cannot parse (${(e as Error).message.split('\n')[0]}); expected a JSON or YAML object`);
  }
  if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) throw new AnogenError(`--config ${file}: expected an object of option: value`);
  const out: Record<string, string | number | boolean> = {};
  for (const [k, v] of Object.entries(obj as Record<string, unknown>)) {
    const spec = specs.find((s) => s.name === k || s.name === kebab(k));
    if (ignoreUnknown && spec === undefined) continue;
    if (spec === undefined || spec.name === 'config') {
      const names = specs.filter((s) => s.name !== 'config').map((s) => s.name);
      throw new AnogenError(`--config ${file}: unknown key ${JSON.stringify(k)}${didYouMean(kebab(k), names)}; valid keys: ${names.join(', ')}`);
    }
    out[camel(spec.name)] = convert(spec, v, `--config ${file}: ${k}`);
  }
  return out;
}

/** Parses argv (after the verb) against `specs`; `--config` values are overridden by flags. */
export function parseArgs(argv: string[], specs: OptionSpec[], verb: string): Parsed {
  const positionals: string[] = [];
  const flags: Record<string, string | number | boolean> = {};
  let config: Record<string, string | number | boolean> = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (!a.startsWith('--') || a === '-') {
      if (a.startsWith('-') && a.length > 1 && a !== '-') {
        throw new AnogenError(`anogen ${verb}: unknown option ${a}; valid options: ${specs.map((s) => `--${s.name}`).join(', ')}`);
      }
      positionals.push(a);
      continue;
    }
    const eq = a.indexOf('=');
    const name = eq < 0 ? a.slice(2) : a.slice(2, eq);
    const spec = specs.find((s) => s.name === name);
    if (spec === undefined) {
      const names = specs.map((s) => s.name);
      throw new AnogenError(`anogen ${verb}: unknown option --${name}${didYouMean(name, names, (m) => `--${m}`)}; valid options: ${names.map((s) => `--${s}`).join(', ')}`);
    }
    let raw: string | undefined;
    if (eq >= 0) raw = a.slice(eq + 1);
    else if (spec.type !== 'bool') {
      raw = argv[++i];
      if (raw === undefined) throw new AnogenError(`anogen ${verb}: option --${name} needs a value (${spec.doc})`);
    }
    if (spec.name === 'config') config = readConfigFile(String(raw), specs);
    else flags[camel(spec.name)] = convert(spec, raw, `--${name}`);
  }
  return { positionals, opts: { ...config, ...flags } };
}

/** --help text for a verb's options. */
export function optionsHelp(specs: OptionSpec[]): string {
  const w = Math.max(...specs.map((s) => s.name.length + (s.type === 'bool' ? 0 : 8)));
  return specs
    .map((s) => {
      const left = `--${s.name}${s.type === 'bool' ? '' : ` <${s.values ? 'value' : s.type === 'string' ? 'text' : s.type}>`}`;
      const vals = s.values && !s.doc.includes(s.values.join(' | ')) ? ` (${s.values.join(' | ')})` : '';
      return `  ${left.padEnd(w + 12)}${s.doc}${vals}`;
    })
    .join('\n');
}

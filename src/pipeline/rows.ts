/**
 * Benchmark rows: a registered name, or `name@label` to give one detector or generator a second
 * row (column of cells) with its own `--hparams` (e.g. `patchcore@aware` with
 * `--hparams patchcore@aware.position-aware=true`). Shared by both benchmark suites.
 */
import { AnogenError } from '../core/index.js';

/** A row label's form: letters, digits, '_' and '-' (no '.', which `--hparams` uses). */
const ROW_LABEL = /^[A-Za-z0-9_-]+$/;

/**
 * Splits a row into its name and label: 'gan' -> { name: 'gan' }, 'gan@minimax' ->
 * { name: 'gan', label: 'minimax' }; an empty or invalid label is refused naming `flag` and the
 * example row `example`. The name is not looked up here.
 */
export function splitRow(row: string, flag: string, example: string): { name: string; label?: string } {
  const at = row.indexOf('@');
  if (at < 0) return { name: row };
  const label = row.slice(at + 1);
  if (!ROW_LABEL.test(label)) throw new AnogenError(`${flag} ${row}: the label after '@' must be letters, digits, '_' or '-' (e.g. ${example}), got ${JSON.stringify(label)}`);
  return { name: row.slice(0, at), label };
}

/** A row written back from its registered name and label: 'gan', or 'gan@minimax'. */
export function rowOf(name: string, label?: string): string {
  return label === undefined ? name : `${name}@${label}`;
}

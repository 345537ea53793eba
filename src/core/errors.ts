/**
 * Errors thrown by anogen.
 *
 * - {@link TorchError}: an exception raised inside libtorch (shape mismatch, wrong dtype,
 *   index out of range...). Carries torch's own message, without the C++ backtrace.
 * - {@link AnogenError}: a user's mistake detected by anogen itself (a bad option, a
 *   malformed file...). The message names the file, option or value and what is valid.
 */
export class TorchError extends Error {
  constructor(message: string) {
    super(cleanTorchMessage(message));
    this.name = 'TorchError';
  }
}

/**
 * Removes C++ noise from a libtorch message: backtrace lines, and the `[enforce fail at
 * file.cpp:75] cond. ` prefix of CAFFE_ENFORCE failures such as allocation errors.
 */
export function cleanTorchMessage(message: string): string {
  const lines = String(message)
    .split('\n')
    .filter((l) => !/^\s*(Exception raised from |frame #\d+:)/.test(l));
  return lines
    .join('\n')
    .replace(/^\[enforce fail at [^\]]*\]\s*(?:[^.]*?(?:==|!=|<|>)[^.]*\.\s+)?/, '')
    .trimEnd();
}

export class AnogenError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AnogenError';
  }
}

/** Formats a list of valid values for an error message: `'a', 'b' or 'c'`. */
export function validList(values: readonly (string | number)[]): string {
  const q = values.map((v) => (typeof v === 'string' ? `'${v}'` : String(v)));
  if (q.length <= 1) return q.join('');
  return `${q.slice(0, -1).join(', ')} or ${q[q.length - 1]}`;
}

/** Throws an AnogenError unless `value` is one of `valid`. */
export function checkOneOf<T extends string | number>(what: string, value: unknown, valid: readonly T[]): T {
  if (!valid.includes(value as T)) {
    throw new AnogenError(`${what}: ${JSON.stringify(value)} is not valid; expected ${validList(valid)}`);
  }
  return value as T;
}

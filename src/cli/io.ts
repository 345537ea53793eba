/**
 * Where the CLI prints its results (stdout). One indirection so that a caller running the
 * CLI in-process (tests, an embedding program) can capture the results without replacing
 * process.stdout.write, which would also swallow anything else the process prints meanwhile.
 */
export const cliOutput = {
  /** Writes result text (default: process.stdout). */
  write: (s: string): void => {
    process.stdout.write(s);
  },
};

/** Prints result text through {@link cliOutput}. */
export function stdout(s: string): void {
  cliOutput.write(s);
}

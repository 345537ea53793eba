/** `anogen data info <name|dir>`: argv parsed like every verb, then src/cli/commands/data.ts's dataInfoCommand. */
import { AnogenError } from '../../core/index.js';
import { optionsHelp, parseArgs, type OptionSpec } from '../args.js';
import { dataInfoCommand } from './data.js';
import { stdout } from '../io.js';

export const DATA_INFO_SPECS: OptionSpec[] = [
  { name: 'json', type: 'bool', doc: 'print JSON instead of text (default false)' },
  { name: 'include-uncertain', type: 'bool', doc: 'image folders: count test/uncertain as a class (default false: left out)' },
];

export const DATA_HELP = `anogen data info <name|dir> [options]\n\nPrints the counts per split and class and the image sizes of 'mnist', 'fashion-mnist' or a dataset folder.\n\n${optionsHelp(DATA_INFO_SPECS)}\n`;

/** `anogen data <subverb>`. */
export async function dataCommand(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub !== 'info') throw new AnogenError(`anogen data: unknown subcommand ${JSON.stringify(sub ?? '')}; expected 'info'`);
  const { positionals, opts } = parseArgs(rest, DATA_INFO_SPECS, 'data info');
  if (positionals.length !== 1) {
    throw new AnogenError(`anogen data info: expected one dataset ('mnist', 'fashion-mnist' or a directory), got ${positionals.length === 0 ? 'none' : positionals.join(' ')}`);
  }
  stdout(await dataInfoCommand({ target: positionals[0], json: opts.json === true, includeUncertain: opts.includeUncertain === true }));
  return 0;
}

/** `anogen data info <name|dir>`: the data layer's dataInfoCommand (src/cli/commands/data.ts). */
import { AnogenError } from '../../core/index.js';
import { dataInfoCommand } from './data.js';

export const DATA_HELP = `anogen data info <name|dir> [--json] [--include-uncertain]\n\nPrints the counts per split and class and the image sizes of 'mnist', 'fashion-mnist' or a dataset folder.\n`;

/** `anogen data <subverb>`. */
export async function dataCommand(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub !== 'info') throw new AnogenError(`anogen data: unknown subcommand ${JSON.stringify(sub ?? '')}; expected 'info'`);
  return dataInfoCommand(rest);
}

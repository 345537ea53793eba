/** `anogen data info <name|dir>`: delegates to the data layer's dataInfoCommand (src/cli/commands/data.ts). */
import { AnogenError } from '../../core/index.js';

export const DATA_HELP = `anogen data info <name|dir>\n\nPrints the counts per split and class and the image sizes of 'mnist', 'fashion-mnist' or a dataset folder.\n`;

/** `anogen data <subverb>`. */
export async function dataCommand(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub !== 'info') throw new AnogenError(`anogen data: unknown subcommand ${JSON.stringify(sub ?? '')}; expected 'info'`);
  const modPath = './data.js';
  let mod: { dataInfoCommand?: (argv: string[]) => Promise<number | void> | number | void };
  try {
    mod = (await import(modPath)) as typeof mod;
  } catch {
    throw new AnogenError('anogen data info: not available in this build (src/cli/commands/data.ts is missing)');
  }
  if (typeof mod.dataInfoCommand !== 'function') throw new AnogenError('anogen data info: not available in this build');
  const code = await mod.dataInfoCommand(rest);
  return typeof code === 'number' ? code : 0;
}

/** Small re-exports for the streaming test. */
export { openFolder } from '../../src/data/folder.js';
export { makeSplits } from '../../src/data/protocols.js';
import { imageTransforms } from '../../src/pipeline/data.js';
/** The CLI's preprocessing chain at size s, 1 channel. */
export const imageTransformsFor = (s: number) => imageTransforms({ size: s, channels: 1 });

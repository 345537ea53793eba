/** DCGAN building blocks (encoder, decoder) with the GANomaly reference's parameter names. */
export { DcganEncoder, DcganDecoder, type EncoderOptions, type DecoderOptions } from './networks.js';
export { dcganInit } from '../../nn/init.js';

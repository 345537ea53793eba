/** The Keras MobileNetV2 trunk (alpha 1.0, no head) with Keras's layer names in PyTorch layouts, and strict weight loading. */
export {
  MobileNetV2,
  KerasBatchNorm2d,
  MOBILENET_LAYERS,
  MOBILENET_LAYER_CHANNELS,
  MOBILENET_BLOCKS,
  KERAS_BN_EPS,
  kerasCorrectPad,
  mobilenetStateShapes,
  checkMobilenetState,
  assertMobilenetState,
  loadMobilenetState,
  loadMobilenetWeights,
  type MobilenetLayer,
  type MobilenetStateProblems,
} from './network.js';

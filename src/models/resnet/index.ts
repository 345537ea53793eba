/** ResNet-18/50 and Wide-ResNet-50-2 trunks with torchvision's state-dict names, and strict weight loading. */
export {
  ResNet,
  BasicBlock,
  Bottleneck,
  RESNET_ARCHS,
  RESNET_LAYERS,
  RESNET_CONFIGS,
  checkResnetArch,
  resnetLayerChannels,
  resnetStateShapes,
  type ResnetArch,
  type ResnetLayer,
  type ResnetConfig,
} from './networks.js';
export { IGNORED_RESNET_KEYS, checkResnetState, assertResnetState, loadResnetState, loadResnetWeights, type ResnetStateProblems } from './weights.js';

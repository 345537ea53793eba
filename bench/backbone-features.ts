/**
 * Throughput of the 'backbone' feature source (src/detectors/features/backbone.ts) on this
 * machine: images per second through the ResNet trunk, from [-1, 1] gray images at --image-size
 * to the pooled stages, for each architecture. The weights are the constructor's (PyTorch's
 * default initialisation): the speed does not depend on their values, and nothing is downloaded.
 *
 *   node --import tsx bench/backbone-features.ts [--archs resnet18,resnet50,wide_resnet50_2]
 *        [--image-size 32] [--backbone-size 128] [--layers layer2,layer3] [--images 64] [--threads 2]
 */
import { parseArgs } from 'node:util';
import { manualSeed, noGrad, randn, setNumThreads, tidy } from '../src/core/index.js';
import { BackboneFeatures } from '../src/detectors/features/backbone.js';
import { ResNet, checkResnetArch } from '../src/models/resnet/index.js';

const { values: o } = parseArgs({
  options: {
    archs: { type: 'string', default: 'resnet18,resnet50,wide_resnet50_2' },
    'image-size': { type: 'string', default: '32' },
    'backbone-size': { type: 'string', default: '128' },
    layers: { type: 'string', default: 'layer2,layer3' },
    images: { type: 'string', default: '64' },
    threads: { type: 'string', default: '2' },
  },
});
setNumThreads(Number(o.threads));
const size = Number(o['image-size']);
const n = Number(o.images);
manualSeed(0);
const x = tidy(() => randn([n, 1, size, size]).tanh());
for (const name of o.archs.split(',')) {
  const arch = checkResnetArch(name, '--archs');
  const src = new BackboneFeatures({
    backboneArch: arch,
    backboneWeights: null,
    backboneLayers: o.layers,
    backboneSize: Number(o['backbone-size']),
    backboneSha256: '',
    input: { size, channels: 1, range: [-1, 1] },
    who: 'bench',
  });
  // no weights file: take the default-initialised trunk's own weights
  const net = new ResNet(arch);
  const sd = net.stateDict();
  src.loadStateDict(sd, 'bench');
  for (const t of sd.values()) t.dispose();
  net.dispose();
  noGrad(() => tidy(() => src.extract(x.narrow(0, 0, Math.min(4, n))))); // warm-up
  const t0 = performance.now();
  const f = noGrad(() => tidy(() => src.extract(x)));
  const s = (performance.now() - t0) / 1000;
  console.log(
    `${arch}: ${n} images ${size} px -> ${o['backbone-size']} px, ${o.layers} (${f.shape[1]} features): ${s.toFixed(2)} s, ${(n / s).toFixed(1)} img/s, ${((1000 * s) / n).toFixed(1)} ms/img`,
  );
  f.dispose();
  src.dispose();
}
x.dispose();

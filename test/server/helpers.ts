/**
 * Helpers of the server tests: a tiny image folder and GANomaly bundle trained through the CLI,
 * a registry home filled with runs directly (independent of what the CLI records), and HTTP
 * requests that expose status, headers and body.
 */
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { runCli, TINY_GANOMALY } from '../helpers/cli.js';

const made: string[] = [];
process.on('exit', () => {
  for (const d of made) fs.rmSync(d, { recursive: true, force: true });
});

/** A fresh temp folder, removed when the process exits. */
export function tempDir(prefix = 'anogen-server-'): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  made.push(d);
  return d;
}

/** A 16x16 grey PNG: a gradient, with a bright square when `defect`. */
export async function tinyPng(seed: number, defect: boolean): Promise<Buffer> {
  const px = Buffer.alloc(256);
  for (let y = 0; y < 16; y++) for (let x = 0; x < 16; x++) px[y * 16 + x] = (x * 8 + y * 4 + ((seed * 37 + x * y) % 13)) % 256;
  if (defect) for (let y = 4 + (seed % 6); y < 10 + (seed % 6); y++) for (let x = 5; x < 11; x++) px[y * 16 + x] = 255;
  return sharp(px, { raw: { width: 16, height: 16, channels: 1 } })
    .toColourspace('b-w')
    .png()
    .toBuffer();
}

/** An MVTec-layout folder of 16x16 PNGs (24 train, 4 good + 4 defect test) and a GANomaly bundle trained on it for one epoch. */
export async function trainTinyBundle(root: string): Promise<{ data: string; bundle: string; good: string; defect: string }> {
  const data = path.join(root, 'data');
  const write = async (rel: string, seed: number, defect: boolean) => {
    const f = path.join(data, rel);
    fs.mkdirSync(path.dirname(f), { recursive: true });
    fs.writeFileSync(f, await tinyPng(seed, defect));
  };
  for (let i = 0; i < 24; i++) await write(`train/good/${i}.png`, i, false);
  for (let i = 0; i < 4; i++) await write(`test/good/${i}.png`, 100 + i, false);
  for (let i = 0; i < 4; i++) await write(`test/crack/${i}.png`, 200 + i, true);
  const bundle = path.join(root, 'bundle');
  const t = await runCli('train', 'ganomaly', '--data', data, '--epochs', '1', '--batch-size', '8', ...TINY_GANOMALY, '--out', bundle, '--quiet', '--seed', '1');
  if (t.code !== 0) throw new Error(`training the test bundle failed (${t.code}): ${t.err}`);
  return { data, bundle, good: path.join(data, 'test/good/0.png'), defect: path.join(data, 'test/crack/0.png') };
}

/** An HTTP answer. */
export interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  /** The body parsed as JSON (undefined when it is not JSON). */
  json: any;
}

/** One HTTP request with node:http (a body given as a Buffer or string; `chunked` sends it without Content-Length). */
export function request(base: string, method: string, p: string, opts: { headers?: Record<string, string>; body?: Buffer | string; chunked?: boolean } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const u = new URL(p, base);
    const headers: Record<string, string> = { ...opts.headers };
    if (opts.body !== undefined && !opts.chunked) headers['Content-Length'] = String(Buffer.byteLength(opts.body));
    const req = http.request(u, { method, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const body = Buffer.concat(chunks);
        let json: unknown;
        try {
          json = JSON.parse(body.toString('utf8'));
        } catch {
          json = undefined;
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body, json });
      });
      res.on('error', reject);
    });
    // The server may answer (413) and close before the whole body is written: that is not a failure here.
    req.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code !== 'EPIPE' && e.code !== 'ECONNRESET') reject(e);
    });
    if (opts.body !== undefined) {
      if (opts.chunked) {
        const b = Buffer.from(opts.body);
        for (let i = 0; i < b.length; i += 64 * 1024) req.write(b.subarray(i, i + 64 * 1024));
      } else req.write(opts.body);
    }
    req.end();
  });
}

/** A multipart/form-data body of `file` fields. */
export function multipart(files: { name: string; data: Buffer; type?: string }[], field = 'file'): { body: Buffer; contentType: string } {
  const boundary = `----anogen-test-${Math.random().toString(16).slice(2)}`;
  const parts: Buffer[] = [];
  for (const f of files) {
    parts.push(
      Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${field}"; filename="${f.name}"\r\nContent-Type: ${f.type ?? 'image/png'}\r\n\r\n`),
      f.data,
      Buffer.from('\r\n'),
    );
  }
  parts.push(Buffer.from(`--${boundary}--\r\n`));
  return { body: Buffer.concat(parts), contentType: `multipart/form-data; boundary=${boundary}` };
}

/**
 * The images of a `POST /api/score` request: `multipart/form-data` with one or more `file`
 * fields, a raw body with `Content-Type: image/*`, or JSON `{ images: [{ name, data }] }`
 * (data: base64 or a data: URL). Each image is checked to be a format the decoder reads
 * (PNG, JPEG, BMP, TIFF, WebP; 415 naming the file otherwise) before it is sent to scoring.
 */
import { HttpError } from './http.js';
import { parseMultipart } from './multipart.js';

/** One uploaded image. */
export interface Upload {
  /** The client's file name (or `upload-N` when it gave none). */
  name: string;
  data: Buffer;
}

/** The image formats scoring decodes, by their first bytes. */
export function sniffImage(b: Uint8Array): 'png' | 'jpeg' | 'bmp' | 'tiff' | 'webp' | null {
  const at = (i: number, ...xs: number[]) => xs.every((x, k) => b[i + k] === x);
  if (at(0, 0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a)) return 'png';
  if (at(0, 0xff, 0xd8, 0xff)) return 'jpeg';
  if (at(0, 0x42, 0x4d)) return 'bmp';
  if (at(0, 0x49, 0x49, 0x2a, 0x00) || at(0, 0x4d, 0x4d, 0x00, 0x2a)) return 'tiff';
  if (at(0, 0x52, 0x49, 0x46, 0x46) && at(8, 0x57, 0x45, 0x42, 0x50)) return 'webp';
  return null;
}

/** Throws a 415 naming the upload unless its bytes start like a PNG, JPEG, BMP, TIFF or WebP file. */
export function requireImage(u: Upload): void {
  if (u.data.length === 0) throw new HttpError(422, `upload ${JSON.stringify(u.name)} is empty (0 bytes); expected a PNG, JPEG, BMP, TIFF or WebP image`);
  if (sniffImage(u.data) === null) {
    throw new HttpError(415, `upload ${JSON.stringify(u.name)} is not an image this server decodes (its first bytes match no PNG, JPEG, BMP, TIFF or WebP signature)`);
  }
}

/** File names safe to show and echo: the last path component, control characters removed, at most 200 characters. */
function cleanName(name: string | null, i: number): string {
  const base = (name ?? '')
    .split(/[\\/]/)
    .pop()!
    .split('')
    .filter((ch) => ch.charCodeAt(0) >= 32 && ch.charCodeAt(0) !== 127)
    .join('');
  return base.length > 0 ? base.slice(0, 200) : `upload-${i + 1}`;
}

/** The images of a scoring request body (see the module comment); 400/415 when there are none or the body is malformed. */
export function extractUploads(body: Buffer, contentType: string | undefined, query: URLSearchParams): { images: Upload[]; json: Record<string, unknown> | null } {
  const ct = (contentType ?? '').toLowerCase();
  const mime = ct.split(';')[0]!.trim();
  let images: Upload[];
  let json: Record<string, unknown> | null = null;
  if (mime === 'multipart/form-data') {
    const parts = parseMultipart(body, contentType!);
    const files = parts.filter((p) => p.name === 'file');
    if (files.length === 0) {
      const names = [...new Set(parts.map((p) => p.name))];
      throw new HttpError(400, `multipart body has no 'file' field${names.length ? ` (fields: ${names.join(', ')})` : ''}; send each image as a field named 'file'`);
    }
    images = files.map((p, i) => ({ name: cleanName(p.filename, i), data: p.data }));
  } else if (mime.startsWith('image/')) {
    images = [{ name: cleanName(query.get('name'), 0), data: body }];
  } else if (mime === 'application/json') {
    let v: unknown;
    try {
      v = JSON.parse(body.toString('utf8'));
    } catch (e) {
      throw new HttpError(400, `request body is not valid JSON (${(e as Error).message}); expected { "images": [{ "name": "a.png", "data": "<base64>" }] }`);
    }
    if (v === null || typeof v !== 'object' || Array.isArray(v) || !Array.isArray((v as { images?: unknown }).images)) {
      throw new HttpError(400, 'JSON body must be an object with an "images" array: { "images": [{ "name": "a.png", "data": "<base64 or data: URL>" }] }');
    }
    json = v as Record<string, unknown>;
    images = (json.images as unknown[]).map((im, i) => {
      const o = im as { name?: unknown; data?: unknown } | null;
      if (o === null || typeof o !== 'object' || typeof o.data !== 'string') {
        throw new HttpError(400, `JSON body: images[${i}] must be an object with a string "data" (base64 or a data: URL)`);
      }
      const b64 = o.data.replace(/^data:[^,]*;base64,/, '');
      if (!/^[A-Za-z0-9+/_-]*={0,2}$/.test(b64.replace(/\s+/g, ''))) throw new HttpError(400, `JSON body: images[${i}].data is not base64`);
      return { name: cleanName(typeof o.name === 'string' ? o.name : null, i), data: Buffer.from(b64, 'base64') };
    });
  } else {
    throw new HttpError(
      415,
      `Content-Type ${JSON.stringify(contentType ?? '(none)')} is not accepted; send multipart/form-data with one or more 'file' fields, a raw image with Content-Type image/png (or jpeg, bmp, tiff, webp), or application/json { images: [...] }`,
    );
  }
  if (images.length === 0) throw new HttpError(400, 'no images in the request; send at least one');
  for (const u of images) requireImage(u);
  return { images, json };
}

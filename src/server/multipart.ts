/**
 * A small `multipart/form-data` parser (RFC 7578) for uploads already read whole under the
 * server's byte limit: parts with their field name, file name, content type and bytes
 * (views into the body, no copies). Malformed bodies are HttpErrors (400) saying what is wrong.
 */
import { HttpError } from './http.js';

/** One part of a multipart body. */
export interface FormPart {
  /** The field name (`name=` of Content-Disposition). */
  name: string;
  /** The file name (`filename=`), or null for a plain field. */
  filename: string | null;
  /** The part's Content-Type (lower case, without parameters), or null when absent. */
  contentType: string | null;
  data: Buffer;
}

/** The boundary parameter of a `multipart/form-data; boundary=...` content type (400 when missing or malformed). */
export function multipartBoundary(contentType: string): string {
  const m = /;\s*boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(contentType);
  const b = m ? (m[1] ?? m[2])! : '';
  if (b.length === 0 || b.length > 70) throw new HttpError(400, 'multipart/form-data without a valid boundary parameter (1 to 70 characters)');
  return b;
}

/** Decodes a header parameter value: quoted (with \" escapes) or a token; RFC 5987 `filename*=UTF-8''...` is preferred when present. */
function param(header: string, key: string): string | null {
  const ext = new RegExp(`;\\s*${key}\\*\\s*=\\s*([^']*)'[^']*'([^;\\s]*)`, 'i').exec(header);
  if (ext) {
    try {
      return decodeURIComponent(ext[2]!);
    } catch {
      /* fall back to the plain parameter */
    }
  }
  const m = new RegExp(`;\\s*${key}\\s*=\\s*(?:"((?:[^"\\\\]|\\\\.)*)"|([^;\\s]*))`, 'i').exec(header);
  if (!m) return null;
  return m[1] !== undefined ? m[1].replace(/\\(.)/g, '$1') : m[2]!;
}

/** Splits a multipart body into its parts (400 on a body that is not well-formed). */
export function parseMultipart(body: Buffer, contentType: string): FormPart[] {
  const boundary = multipartBoundary(contentType);
  const delim = Buffer.from(`--${boundary}`);
  const parts: FormPart[] = [];
  let pos = body.indexOf(delim);
  if (pos < 0) throw new HttpError(400, `multipart body has no boundary line "--${boundary}"`);
  for (;;) {
    pos += delim.length;
    if (body[pos] === 0x2d && body[pos + 1] === 0x2d) return parts; // closing "--boundary--"
    // the rest of the boundary line (transport padding), then CRLF
    const eol = body.indexOf('\r\n', pos);
    if (eol < 0) throw new HttpError(400, 'multipart body ends inside a boundary line (truncated upload?)');
    pos = eol + 2;
    const headEnd = body.indexOf('\r\n\r\n', pos);
    const next = body.indexOf(Buffer.concat([Buffer.from('\r\n'), delim]), pos);
    if (next < 0) throw new HttpError(400, `multipart body has no closing boundary "--${boundary}--" (truncated upload?)`);
    let headerText: string;
    let dataStart: number;
    if (body.indexOf('\r\n', pos) === pos) {
      headerText = '';
      dataStart = pos + 2;
    } else if (headEnd >= 0 && headEnd < next) {
      headerText = body.subarray(pos, headEnd).toString('utf8');
      dataStart = headEnd + 4;
    } else {
      throw new HttpError(400, 'multipart part without the blank line that ends its headers');
    }
    const headers = new Map<string, string>();
    for (const line of headerText.split('\r\n')) {
      if (line === '') continue;
      const c = line.indexOf(':');
      if (c <= 0) throw new HttpError(400, `multipart part header ${JSON.stringify(line.slice(0, 80))} is not "Name: value"`);
      headers.set(line.slice(0, c).trim().toLowerCase(), line.slice(c + 1).trim());
    }
    const disp = headers.get('content-disposition');
    if (disp === undefined || !/^form-data\b/i.test(disp)) throw new HttpError(400, 'multipart part without "Content-Disposition: form-data; name=..."');
    const name = param(disp, 'name');
    if (name === null) throw new HttpError(400, 'multipart part without a field name (Content-Disposition name=...)');
    const ct = headers.get('content-type');
    parts.push({
      name,
      filename: param(disp, 'filename'),
      contentType: ct === undefined ? null : ct.split(';')[0]!.trim().toLowerCase(),
      data: body.subarray(dataStart, next),
    });
    pos = next + 2;
  }
}

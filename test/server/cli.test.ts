// `anogen serve` on the command line: --port 0 prints the real port and Ctrl-C/SIGTERM stops it
// cleanly; a port in use and a non-loopback address without a token are one clear line and exit 2.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { runCli } from '../helpers/cli.js';
import { cliOutput } from '../../src/cli/io.js';
import { request, tempDir } from './helpers.js';

test('a port in use: one line naming the port and --port, exit 2', async () => {
  const blocker = net.createServer();
  await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', () => r()));
  const port = (blocker.address() as net.AddressInfo).port;
  try {
    const r = await runCli('serve', '--port', String(port), '--home', tempDir());
    assert.equal(r.code, 2);
    assert.equal(r.err, `anogen serve: port ${port} on 127.0.0.1 is in use (EADDRINUSE); choose another with --port\n`);
    assert.equal(r.out, '');
  } finally {
    blocker.close();
  }
});

test('a non-loopback address needs a token; bad options are errors naming them', async () => {
  const saved = process.env.ANOGEN_TOKEN;
  delete process.env.ANOGEN_TOKEN;
  try {
    const r = await runCli('serve', '--host', '0.0.0.0', '--port', '0', '--home', tempDir());
    assert.equal(r.code, 2);
    assert.match(r.err, /^anogen: error: --host 0\.0\.0\.0 is not a loopback address: give --token T \(or set ANOGEN_TOKEN\)/);
    const short = await runCli('serve', '--host', '0.0.0.0', '--token', 'abc', '--port', '0');
    assert.equal(short.code, 2);
    assert.match(short.err, /--token: too short; use at least 8 characters/);
    const port = await runCli('serve', '--port', '70000');
    assert.equal(port.code, 2);
    assert.match(port.err, /--port: "70000" is not valid; expected a number <= 65535/);
    const extra = await runCli('serve', 'now');
    assert.equal(extra.code, 2);
    assert.match(extra.err, /anogen serve: unexpected argument "now"/);
    const help = await runCli('help', 'serve');
    assert.equal(help.code, 0);
    for (const o of ['--host', '--port', '--home', '--token', '--max-upload-mb', '--bundle-cache', '--workers']) assert.match(help.out, new RegExp(`${o} `));
  } finally {
    if (saved !== undefined) process.env.ANOGEN_TOKEN = saved;
  }
});

test('anogen serve --port 0 prints the real port, serves, and stops on SIGTERM with exit 0', async () => {
  // In this process (spawning another CLI costs seconds): main() until the address line, then SIGTERM's handler.
  const { main } = await import('../../src/cli/main.js');
  let out = '';
  const write = cliOutput.write;
  cliOutput.write = (c: string) => void (out += c);
  const saved = process.env.ANOGEN_TOKEN;
  delete process.env.ANOGEN_TOKEN;
  let running: Promise<number> | null = null;
  try {
    running = main(['serve', '--port', '0', '--home', tempDir()]);
    let m: RegExpExecArray | null = null;
    while ((m = /^anogen serve: (http:\/\/127\.0\.0\.1:(\d+)\/)\n$/.exec(out)) === null) {
      const done: number | null = await Promise.race([running, new Promise<null>((r) => setTimeout(() => r(null), 10))]);
      if (done !== null) assert.fail(`anogen serve ended (${String(done)}) before printing its address`);
    }
    assert.notEqual(m[2], '0');
    const h = await request(m[1]!, 'GET', '/api/health');
    assert.equal(h.status, 200);
    assert.equal(h.json.ok, true);
    assert.equal(process.listenerCount('SIGTERM') > 0, true);
    process.emit('SIGTERM');
    assert.equal(await running, 0);
    running = null;
    await assert.rejects(request(m[1]!, 'GET', '/api/health'), /ECONNREFUSED/, 'the server stopped listening');
  } finally {
    if (running !== null) {
      process.emit('SIGTERM');
      await running;
    }
    cliOutput.write = write;
    if (saved !== undefined) process.env.ANOGEN_TOKEN = saved;
  }
});

// The fuzzing harness itself: it must report a foreign error, a garbage result, a hang and a
// crash (with the input that caused each), and keep going after them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runCampaign } from './campaign.js';
import { applyMutation, applyJsonMutation } from './mutate.js';

test('the harness reports errors, invalid results, hangs and crashes with their inputs', async () => {
  const reports = await runCampaign({
    targets: ['selftest-ok', 'selftest-error', 'selftest-invalid', 'selftest-hang', 'selftest-crash'],
    runs: { 'selftest-ok': 20, 'selftest-error': 5, 'selftest-invalid': 2, 'selftest-hang': 1, 'selftest-crash': 1 },
    seed: 1,
    caseTimeoutMs: 1500,
  });
  const by = Object.fromEntries(reports.map((r) => [r.target, r]));
  assert.deepEqual(by['selftest-ok']!.findings, []);
  assert.equal(by['selftest-ok']!.cases, 20);
  const err = by['selftest-error']!.findings;
  assert.equal(err.length, 1);
  assert.equal(err[0]!.kind, 'error');
  assert.equal(err[0]!.count, 5);
  assert.match(err[0]!.message, /^TypeError: /);
  assert.equal(by['selftest-invalid']!.findings[0]!.kind, 'invalid-result');
  const hang = by['selftest-hang']!.findings;
  assert.equal(hang[0]!.kind, 'hang');
  assert.deepEqual(Array.from(hang[0]!.input), [2, 2]);
  assert.equal(by['selftest-hang']!.restarts, 1);
  const crash = by['selftest-crash']!.findings;
  assert.equal(crash[0]!.kind, 'crash');
  assert.match(crash[0]!.message, /SIGKILL/);
  assert.deepEqual(Array.from(crash[0]!.input), [3, 3, 3]);
});

test('mutations are pure and stay within bounds', () => {
  const s = Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8]);
  assert.deepEqual(Array.from(applyMutation(s, { op: 'set', pos: 6, width: 4, value: 0xaabbccddn, le: false })), [1, 2, 3, 4, 5, 6, 0xaa, 0xbb]);
  assert.deepEqual(Array.from(applyMutation(s, { op: 'set', pos: 0, width: 2, value: 0x1234n, le: true })).slice(0, 2), [0x34, 0x12]);
  assert.deepEqual(Array.from(applyMutation(s, { op: 'truncate', len: 11 })), [1, 2, 3]);
  assert.deepEqual(Array.from(applyMutation(s, { op: 'delete', pos: 6, len: 10 })), [1, 2, 3, 4, 5, 6]);
  assert.deepEqual(Array.from(applyMutation(s, { op: 'insert', pos: 8, bytes: Uint8Array.of(9) })), [1, 2, 3, 4, 5, 6, 7, 8, 9]);
  assert.deepEqual(Array.from(applyMutation(new Uint8Array(0), { op: 'flip', pos: 3, bit: 1 })), []);
  assert.deepEqual(Array.from(s), [1, 2, 3, 4, 5, 6, 7, 8]);
  const doc = { a: { b: [1, 2] }, c: 3 };
  assert.deepEqual(applyJsonMutation(doc, { path: [0, 0, 1], op: 'replace', key: '', value: -1 }), { a: { b: [1, -1] }, c: 3 });
  assert.deepEqual(applyJsonMutation(doc, { path: [1], op: 'delete', key: '', value: null }), { a: { b: [1, 2] } });
  assert.deepEqual(doc, { a: { b: [1, 2] }, c: 3 });
});

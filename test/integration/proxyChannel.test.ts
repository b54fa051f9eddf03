/**
 * Foreman's end of a sandbox's proxy channel (src/infra/proxyChannel.ts), spoken to frame by frame
 * as a hostile sandbox could: the flow-control window holds both ways, and a frame that breaks the
 * protocol ends the whole channel with its connections. Real streams, no sandbox.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Duplex, PassThrough } from 'node:stream';
import { MAX_CHANNEL_CONNECTIONS, serveChannel } from '../../src/infra/proxyChannel';

const [OPEN, DATA, END, CLOSE, CREDIT] = [1, 2, 3, 4, 5];
const WINDOW = 256 * 1024;

function frame(type: number, id: number, length: number, payload?: Buffer): Buffer {
  const h = Buffer.alloc(9);
  h.writeUInt8(type, 0);
  h.writeUInt32BE(id, 1);
  h.writeUInt32BE(length, 5);
  return payload ? Buffer.concat([h, payload]) : h;
}

/** A channel whose sandbox side is this test: `send` writes frames to Foreman, `frames` are Foreman's. */
function channel() {
  const toForeman = new PassThrough();
  const fromForeman = new PassThrough();
  const transport = Duplex.from({ readable: toForeman, writable: fromForeman });
  const connections: Duplex[] = [];
  const served = serveChannel(transport, (c) => connections.push(c));
  const frames: { type: number; id: number; length: number }[] = [];
  let buffered = Buffer.alloc(0);
  fromForeman.on('data', (chunk: Buffer) => {
    buffered = Buffer.concat([buffered, chunk]);
    while (buffered.length >= 9) {
      const type = buffered.readUInt8(0);
      const length = buffered.readUInt32BE(5);
      const size = type === DATA ? length : 0;
      if (buffered.length < 9 + size) return;
      frames.push({ type, id: buffered.readUInt32BE(1), length });
      buffered = buffered.subarray(9 + size);
    }
  });
  const send = (...bufs: Buffer[]): void => void toForeman.write(Buffer.concat(bufs));
  return { transport, connections, served, frames, send };
}

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

test('a connection reads what the sandbox sends and ends with it; what is written goes out as DATA, then END and CLOSE', async () => {
  const c = channel();
  c.send(frame(OPEN, 7, 0), frame(DATA, 7, 5, Buffer.from('hello')), frame(END, 7, 0));
  await tick();
  assert.equal(c.connections.length, 1);
  const conn = c.connections[0];
  const got: Buffer[] = [];
  conn.on('data', (d: Buffer) => got.push(d));
  await new Promise((r) => conn.once('end', r));
  assert.equal(Buffer.concat(got).toString(), 'hello');
  conn.end('world');
  await tick();
  assert.deepEqual(
    c.frames.filter((f) => f.id === 7 && f.type !== CREDIT).map((f) => [f.type, f.length]),
    [
      [DATA, 5],
      [END, 0],
      [CLOSE, 0],
    ],
    'ended both ways, the connection is closed and its id released',
  );
  c.served.close();
});

test('Foreman sends no more than the window until the sandbox grants more', async () => {
  const c = channel();
  c.send(frame(OPEN, 1, 0));
  await tick();
  const conn = c.connections[0];
  let written = false;
  conn.write(Buffer.alloc(WINDOW + 100_000), () => (written = true));
  await tick();
  const sent = (): number => c.frames.filter((f) => f.type === DATA).reduce((n, f) => n + f.length, 0);
  assert.equal(sent(), WINDOW, 'exactly one window went out');
  assert.equal(written, false, 'the write waits for credit');
  c.send(frame(CREDIT, 1, 100_000));
  await tick();
  assert.equal(sent(), WINDOW + 100_000);
  assert.equal(written, true);
  c.served.close();
});

test('a sandbox that sends past its window, an oversized frame or an unknown type loses its whole channel', async () => {
  const breaches: [string, Buffer[]][] = [
    ['past the window', [frame(DATA, 1, 60_000, Buffer.alloc(60_000))]],
    ['an oversized frame', [frame(DATA, 1, 70_000, Buffer.alloc(70_000))]],
    ['an unknown frame type', [frame(9, 1, 0)]],
    ['credit it was never owed', [frame(CREDIT, 1, 1)]],
    ['an id opened twice', [frame(OPEN, 1, 0)]],
  ];
  for (const [what, frames] of breaches) {
    const c = channel();
    c.send(frame(OPEN, 1, 0));
    await tick();
    // Nothing reads the connection, so no credit is granted: 5 x 60,000 bytes go past the window.
    const conn = c.connections[0];
    if (what === 'past the window') for (let i = 0; i < 5; i++) c.send(frame(DATA, 1, 60_000, Buffer.alloc(60_000)));
    c.send(...frames);
    await tick();
    await tick();
    assert.equal(c.transport.destroyed, true, `${what}: the channel is closed`);
    assert.equal(conn.destroyed, true, `${what}: its connection is closed`);
  }
});

test('a well-behaved sandbox may fill its window exactly; more connections than allowed are refused one by one', async () => {
  const c = channel();
  c.send(frame(OPEN, 1, 0));
  await tick();
  c.connections[0].pause();
  for (let i = 0; i < 4; i++) c.send(frame(DATA, 1, WINDOW / 4, Buffer.alloc(WINDOW / 4)));
  await tick();
  assert.equal(c.transport.destroyed, false, 'a full window is within the rules');
  for (let id = 2; id <= MAX_CHANNEL_CONNECTIONS + 1; id++) c.send(frame(OPEN, id, 0));
  await tick();
  assert.equal(c.connections.length, MAX_CHANNEL_CONNECTIONS);
  assert.deepEqual(
    c.frames.filter((f) => f.type === CLOSE),
    [{ type: CLOSE, id: MAX_CHANNEL_CONNECTIONS + 1, length: 0 }],
  );
  assert.equal(c.transport.destroyed, false);
  c.send(frame(CLOSE, 1, 0));
  await tick();
  c.served.close();
  assert.ok(
    c.connections.every((x) => x.destroyed),
    'close ends every connection',
  );
});

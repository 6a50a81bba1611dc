// Drives a cachebus-node's Redis port with ioredis, a Node.js client nobody
// here wrote: node resp_ioredis_test.js PORT (with ioredis on NODE_PATH).
// Prints "ok" and exits 0 if every check held; otherwise prints what failed
// and exits 1.
'use strict';
const Redis = require('ioredis');
const assert = require('assert');

async function main() {
  const port = Number(process.argv[2]);
  const redis = new Redis({ port, host: '127.0.0.1', lazyConnect: true,
                            maxRetriesPerRequest: 0, enableOfflineQueue: false });
  await redis.connect();
  try {
    assert.strictEqual(await redis.set('greeting', 'hello'), 'OK');
    assert.strictEqual(await redis.get('greeting'), 'hello');
    assert.strictEqual(await redis.get('missing'), null);

    // Binary values as Buffers, every byte value included.
    const bin = Buffer.alloc(70000);
    for (let i = 0; i < bin.length; ++i) bin[i] = i % 256;
    await redis.set(Buffer.from('bin\0key'), bin);
    const back = await redis.getBuffer(Buffer.from('bin\0key'));
    assert.ok(back.equals(bin), 'binary value round-trips');

    // A pipeline of 5000 commands.
    const p = redis.pipeline();
    for (let i = 0; i < 2500; ++i) {
      p.set(`p:${i}`, String(i));
      p.get(`p:${i}`);
    }
    const results = await p.exec();
    assert.strictEqual(results.length, 5000);
    for (let i = 0; i < 2500; ++i) {
      assert.deepStrictEqual(results[2 * i], [null, 'OK']);
      assert.deepStrictEqual(results[2 * i + 1], [null, String(i)]);
    }

    // SCAN through ioredis's scanStream.
    const seen = new Set();
    await new Promise((resolve, reject) => {
      const s = redis.scanStream({ match: 'p:1*', count: 50 });
      s.on('data', (keys) => keys.forEach((k) => seen.add(k)));
      s.on('end', resolve);
      s.on('error', reject);
    });
    assert.strictEqual(seen.size, 1111); // p:1, p:10-19, p:100-199, p:1000-1999

    // Errors are rejected promises with Redis's text.
    await assert.rejects(redis.call('NOSUCH'), /ERR unknown command/);
    await assert.rejects(redis.expire('greeting', 10, 'NX', 'XX'),
                         /not compatible/);

    // cachebus's own commands through call().
    const v = await redis.call('CB.SET', 'user:1', 'Ada', 'EX', '60', 'TAG',
                               'user:1');
    assert.ok(Number(v) > 0);
    assert.strictEqual(await redis.ttl('user:1'), 60);
    assert.strictEqual(await redis.call('CB.INVALIDATE.TAG', 'user:1'), 1);
    assert.strictEqual(await redis.get('user:1'), null);
    assert.strictEqual(await redis.call('CB.INVALIDATE.PATTERN', 'p:2*'), 611);
    await assert.rejects(redis.call('CB.UPDATE', 'users', '1', 'name', 'x'),
                         /no system of record/);
    // SET without a TTL got cachebus.default-ttl (5 min): GT must exceed it.
    assert.strictEqual(await redis.expire('greeting', 100, 'GT'), 0);
    assert.strictEqual(await redis.expire('greeting', 1000, 'GT'), 1);
    assert.strictEqual(await redis.ttl('greeting'), 1000);
    console.log('ok');
  } finally {
    redis.disconnect();
  }
}

main().catch((err) => {
  console.log('FAILED:', err && err.stack ? err.stack : err);
  process.exit(1);
});

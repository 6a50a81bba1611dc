// A Node.js client of a cachebus node's Redis port, driven by
// resp_tracking_process_test.cpp, which installs the npm packages into a
// temporary directory and passes it here:
//   node resp_tracking_client.js cache  PORT NODE_MODULES KEY...
//     node-redis (package `redis`) over RESP3 with its client-side cache:
//     reads each KEY twice (the second read is a local hit), prints
//     "CACHED key value hits=N", then "READY"; for the Nth invalidation push
//     it prints "INVALIDATED N key" and, the key being no longer in the
//     local cache, reads it again: "AFTER N key value local=false" (true
//     would mean the read was served from the local cache).
//   node resp_tracking_client.js pubsub PORT NODE_MODULES CHANNEL
//     ioredis: SUBSCRIBE CHANNEL, "READY", then "MESSAGE channel payload".
// Every line goes to stdout at once; it runs until the test stops it (by
// its pid).
'use strict';
const path = require('path');

const [mode, port, modules, ...rest] = process.argv.slice(2);
const say = (line) => process.stdout.write(line + '\n');

async function cache() {
  const redis = require(path.join(modules, 'redis'));
  const csc = new redis.BasicClientSideCache({ ttl: 0, maxEntries: 0 });
  const client = redis.createClient({
    url: `redis://127.0.0.1:${port}`,
    RESP: 3,
    clientSideCache: csc,
  });
  client.on('error', (e) => say('ERROR ' + e.message));
  await client.connect();
  for (const key of rest) {
    await client.get(key);
    const v = await client.get(key);
    say(`CACHED ${key} ${v} hits=${csc.stats().hitCount}`);
  }
  let n = 0;
  csc.on('invalidate', (key) => {
    const k = key === null ? '*' : key.toString();
    const i = ++n;
    say(`INVALIDATED ${i} ${k}`);
    if (key === null) return;
    // The push removed the entry: this read goes to the node.
    const hits = csc.stats().hitCount;
    client.get(k).then((v) => {
      say(`AFTER ${i} ${k} ${v} local=${csc.stats().hitCount > hits}`);
    });
  });
  say('READY');
}

async function pubsub() {
  const Redis = require(path.join(modules, 'ioredis'));
  const sub = new Redis({ port: Number(port), host: '127.0.0.1' });
  sub.on('error', (e) => say('ERROR ' + e.message));
  sub.on('message', (channel, message) => say(`MESSAGE ${channel} ${message}`));
  await sub.subscribe(rest[0]);
  say('READY');
}

(mode === 'cache' ? cache() : pubsub()).catch((e) => {
  say('ERROR ' + (e && e.stack ? e.stack : e));
  process.exit(1);
});

// Drops photos into a bucket and collects the pipeline's results with Google's own Node.js
// clients, configured only by the emulator environment `cspipe local up` prints
// (STORAGE_EMULATOR_HOST, PUBSUB_EMULATOR_HOST, GOOGLE_CLOUD_PROJECT): no options, no auth code.
//
// usage: node roundtrip.js BUCKET PREFIX TOPIC SUBSCRIPTION TIMEOUT_SECONDS PHOTO...
// prints one JSON line: {"records": {"<object>": <messages>}, "summaries": [{"run_id", "images"}]}
'use strict';
const path = require('path');
const {Storage} = require('@google-cloud/storage');
const {PubSub} = require('@google-cloud/pubsub');

async function main() {
  const [bucket, prefix, topic, subName, timeoutS, ...photos] = process.argv.slice(2);
  const storage = new Storage();
  const pubsub = new PubSub();
  const [sub] = await pubsub.topic(topic).createSubscription(subName, {ackDeadlineSeconds: 60});
  const records = {};
  const summaries = [];
  const runs = new Set();
  const want = new Set(photos.map(p => prefix + path.basename(p)));
  const done = new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('timed out waiting for results')), Number(timeoutS) * 1000);
    const check = () => {
      const covered = new Set(summaries.map(s => s.run_id));
      if ([...want].every(o => records[o]) && [...runs].every(r => covered.has(r))) {
        clearTimeout(timer);
        resolve();
      }
    };
    sub.on('error', reject);
    sub.on('message', m => {
      m.ack();
      const a = m.attributes;
      if (a.kind === 'summary') {
        const s = JSON.parse(m.data.toString());
        summaries.push({run_id: s.run_id, images: s.images, status: s.status});
      } else if (want.has(a.image)) {
        records[a.image] = (records[a.image] || 0) + 1;
        runs.add(a.run_id);
      }
      check();
    });
  });
  for (const p of photos) {
    await storage.bucket(bucket).upload(p, {destination: prefix + path.basename(p)});
  }
  try {
    await done;
    // Late duplicates would arrive now; give them a moment.
    await new Promise(r => setTimeout(r, 1000));
  } finally {
    await sub.close();
    await sub.delete();
  }
  const mine = summaries.filter(s => runs.has(s.run_id));
  console.log(JSON.stringify({records, summaries: mine}));
}

main().catch(e => {
  console.error(e && e.stack || String(e));
  process.exit(1);
});

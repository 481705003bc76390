// Drives leancloud-realtime 4.3.1 against capture/server.js: open, create a conversation,
// send with receipt, transient, will, mention, custom type with attributes and a binary
// message, receive bob's message (ack), read, edit and recall, history, receipt timestamps,
// close. env: PORT, BINARY=1 for lc.protobuf2.3 (else lc.proto2base64.3).
const { Realtime, TextMessage, BinaryMessage } = require('leancloud-realtime');

const PORT = Number(process.env.PORT || 17001);
const realtime = new Realtime({
  appId: 'test',
  appKey: 'test',
  RTMServers: `ws://127.0.0.1:${PORT}`,
  server: `http://127.0.0.1:${PORT}`,
  noBinary: !process.env.BINARY,
});
const sleep = ms => new Promise(r => setTimeout(r, ms));

(async () => {
  const alice = await realtime.createIMClient('alice', { tag: 'Mobile' });
  const received = new Promise(resolve => alice.on('message', resolve));
  const conv = await alice.createConversation({ members: ['bob'], name: 'alice & bob', unique: true });
  const hello = await conv.send(new TextMessage('hello bob'), { receipt: true });
  await received;
  await conv.send(new TextMessage('typing...'), { transient: true });
  await conv.send(new TextMessage('bye if I drop'), { will: true });
  await conv.send(new TextMessage('@bob look').setMentionList(['bob']).mentionAll());
  const custom = new TextMessage('with attributes');
  custom.setAttributes({ city: 'Beijing', n: 1 });
  await conv.send(custom, { pushData: { alert: 'new message', badge: 1 } });
  await conv.send(new BinaryMessage(new Uint8Array([0, 1, 2, 253, 254, 255]).buffer));
  await sleep(1200); // the SDK batches acks of received messages once a second
  await conv.read();
  await sleep(100);
  await conv.update(hello, new TextMessage('hello bob (edited)'));
  await conv.recall(hello);
  await conv.queryMessages({ limit: 10 });
  await conv.fetchReceiptTimestamps();
  await alice.close();
  process.exit(0);
})().catch(e => { console.error('FAILED', e); process.exit(1); });

'use strict';
// Interop suite: the real leancloud-realtime 4.3.1 SDK against `imspec serve --leancloud`.
//
//   node --test-reporter=spec test.js --imspec PATH [--frames DIR] [--framing NAME]... [--mutant NAME]
//
// For each framing (lc.protobuf2.3, lc.proto2base64.3, lc.protobuf2.1) it starts its own server
// (`imspec serve --leancloud 127.0.0.1:0 --data <tmp>`), runs every feature as a named test with
// fresh client ids, and stops the server. A failing test prints the frames it exchanged, decoded.

const capture = require('./lib/capture'); // before the SDK: it wraps the SDK's ws module
const { describe, test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const { startServer } = require('./lib/server');
const {
  Realtime,
  TextMessage,
  BinaryMessage,
  RecalledMessage,
  MessageStatus,
  Event,
  ErrorCode,
} = require('leancloud-realtime');

// ---------------------------------------------------------------------------------------------
// Options

function parseArgs(argv) {
  const o = { imspec: process.env.IMSPEC_BIN, frames: process.env.LC_FRAMES, framings: [] };
  for (let k = 0; k < argv.length; k += 1) {
    const a = argv[k];
    if (a === '--imspec') o.imspec = argv[(k += 1)];
    else if (a === '--frames') o.frames = argv[(k += 1)];
    else if (a === '--framing') o.framings.push(argv[(k += 1)]);
    else if (a === '--mutant') o.mutant = argv[(k += 1)];
    else throw new Error(`unknown argument ${a}`);
  }
  if (!o.imspec) throw new Error('usage: test.js --imspec PATH [--frames DIR] [--framing NAME]... [--mutant NAME]');
  o.imspec = path.resolve(o.imspec);
  return o;
}
const opts = parseArgs(process.argv.slice(2));
if (opts.frames) capture.setOutDir(path.resolve(opts.frames));

/** How long to wait for something the server should push. */
const WAIT_MS = Number(process.env.LC_WAIT_MS || 5000);

const FRAMINGS = [
  { name: 'lc.protobuf2.3', short: 'pb3', text: false, v1: false, sdk: {} },
  { name: 'lc.proto2base64.3', short: 'b64', text: true, v1: false, sdk: { noBinary: true } },
  { name: 'lc.protobuf2.1', short: 'pb1', text: false, v1: true, sdk: { pushOfflineMessages: true } },
].filter((f) => opts.framings.length === 0 || opts.framings.includes(f.name));

// ---------------------------------------------------------------------------------------------
// Helpers

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Resolves with the arguments of the first `event` that `pred` accepts; rejects after `ms`. */
function waitEvent(emitter, event, pred = () => true, ms = WAIT_MS) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      emitter.off(event, on);
      reject(new Error(`no ${event} event within ${ms} ms`));
    }, ms);
    function on(...args) {
      let ok;
      try {
        ok = pred(...args);
      } catch (e) {
        ok = false;
      }
      if (!ok) return;
      clearTimeout(timer);
      emitter.off(event, on);
      resolve(args);
    }
    emitter.on(event, on);
  });
}

/** Collects every `event` from now on. */
function collect(emitter, event) {
  const seen = [];
  emitter.on(event, (...args) => seen.push(args));
  return seen;
}

/** Polls `pred` until it holds; rejects with `what` after `ms`. */
async function until(pred, what, ms = WAIT_MS) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (pred()) return;
    await sleep(25);
  }
  throw new Error(`timed out after ${ms} ms waiting for ${what}`);
}

function withTimeout(p, ms, what) {
  let timer;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
    }),
  ]);
}

const ms = (d) => (d instanceof Date ? d.getTime() : Number(d));

/** One test's clients: each on its own Realtime (its own WebSocket), all closed at the end. */
class Ctx {
  constructor(framing, url, label, slug) {
    this.framing = framing;
    this.url = url;
    this.label = label;
    this.slug = slug;
    this.realtimes = [];
  }

  /** A client id unique to this framing and test. */
  id(name) {
    return `${this.framing.short}-${this.slug}-${name}`;
  }

  realtime() {
    const rt = new Realtime({
      appId: 'imspec-interop',
      appKey: 'imspec-interop-key',
      RTMServers: [this.url], // no router lookup
      // REST calls (the SDK's notification sync after a reconnect) go to https://<api>/1.1/...:
      // point them at a closed loopback port so nothing ever leaves the machine.
      server: { RTMRouter: '127.0.0.1:9', api: '127.0.0.1:9' },
      ...this.framing.sdk,
    });
    this.realtimes.push(rt);
    return rt;
  }

  /** Opens `name` (a short name, made unique by `id`) on a fresh connection. */
  async client(name, options = {}, rt = this.realtime()) {
    return withTimeout(rt.createIMClient(this.id(name), options), WAIT_MS * 2, `open ${name}`);
  }

  async close() {
    for (const rt of this.realtimes) {
      const clients = Object.values(rt._IMClients || {});
      for (const c of clients) {
        if (c && typeof c.close === 'function') {
          await withTimeout(c.close(), 2000, 'close').catch(() => {});
        }
      }
      try {
        rt._close();
      } catch (e) {
        // already closed
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// The suite

for (const framing of FRAMINGS) {
  describe(framing.name, () => {
    let server;
    before(async () => {
      server = await startServer(opts.imspec, opts.mutant ? ['--mutant', opts.mutant] : []);
    });
    after(async () => {
      if (server) await server.stop();
    });

    /** Declares one feature test with its own clients and frame label. */
    let count = 0;
    const feature = (name, fn, { only } = {}) => {
      if (only === 'v1' && !framing.v1) return;
      if (only === 'v3' && framing.v1) return;
      count += 1;
      // client ids stay short (`pb3-03-send-alice`) and unique per framing and test
      const word = name.split(/[^a-z0-9]+/i).find(Boolean).toLowerCase();
      const slug = `${String(count).padStart(2, '0')}-${word}`;
      test(name, { timeout: 30000 }, async (t) => {
        const label = `${framing.name} ${name}`;
        capture.setLabel(label);
        const ctx = new Ctx(framing, server.url, label, slug);
        try {
          await fn(ctx, label);
        } catch (e) {
          const warn = capture.warnings.filter((w) => w.label === label).map((w) => `  ${w.text}`);
          // (an AssertionError prints its own diff, not a longer message: report beside it)
          t.diagnostic(
            `frames of this test (c2s = SDK to server):\n${capture.dump(label)}` +
              (warn.length ? `\nSDK warnings:\n${warn.join('\n')}` : '') +
              `\nserver output (tail):\n${server.log().split('\n').slice(-20).join('\n')}`,
          );
          throw e;
        } finally {
          await ctx.close();
        }
      });
    };

    feature('open: session opened with the client id', async (ctx, label) => {
      const client = await ctx.client('alice');
      assert.equal(client.id, ctx.id('alice'));
      const opens = capture.of(label, (f) => f.dir === 'c2s' && f.command.cmd === 'session' && f.command.op === 'open');
      assert.equal(opens.length, 1, 'the SDK sent one session/open');
      const i = opens[0].command.i;
      const replies = capture.of(label, (f) => f.dir === 's2c' && f.command.i === i);
      assert.equal(replies.length, 1, `exactly one reply with i=${i}`);
      assert.equal(replies[0].command.cmd, 'session');
      assert.equal(replies[0].command.op, 'opened');
      assert.equal(replies[0].command.peerId, ctx.id('alice'));
      for (const f of capture.of(label)) {
        assert.equal(f.protocol, framing.name, `frame #${f.seq} on the negotiated subprotocol`);
        assert.equal(f.text, framing.text, `frame #${f.seq} is a ${framing.text ? 'text' : 'binary'} frame`);
        assert.equal(f.command.undecodable, undefined, `frame #${f.seq} decodes`);
      }
    });

    feature('createConversation: members, found by id', async (ctx) => {
      const alice = await ctx.client('alice');
      const bob = await ctx.client('bob');
      const conv = await alice.createConversation({ members: [bob.id], name: 'interop' });
      assert.equal(typeof conv.id, 'string');
      assert.ok(conv.id.length > 0, 'the server gave a conversation id');
      assert.deepEqual(conv.members, [alice.id, bob.id].sort());
      const other = await alice.createConversation({ members: [bob.id], name: 'second' });
      assert.notEqual(other.id, conv.id, 'two non-unique conversations get two ids');
      const seen = await bob.getConversation(conv.id, true);
      assert.ok(seen, 'bob finds the conversation by id (conv/query)');
      assert.equal(seen.id, conv.id);
      assert.deepEqual([...seen.members].sort(), [alice.id, bob.id].sort());
      assert.equal(seen.name, 'interop');
    });

    feature('send with receipt: sent, then delivered receipt', async (ctx) => {
      const alice = await ctx.client('alice');
      const bob = await ctx.client('bob');
      const conv = await alice.createConversation({ members: [bob.id] });
      const got = waitEvent(bob, Event.MESSAGE, (m) => m.text === 'hello bob');
      const delivered = waitEvent(conv, Event.LAST_DELIVERED_AT_UPDATE);
      const msg = await conv.send(new TextMessage('hello bob'), { receipt: true });
      assert.equal(typeof msg.id, 'string');
      assert.ok(msg.id.length > 0, 'ack carries a message id');
      assert.ok(ms(msg.timestamp) > 0, 'ack carries a server timestamp');
      assert.ok([MessageStatus.SENT, MessageStatus.DELIVERED].includes(msg.status), 'status sent');
      const [m, bconv] = await got;
      assert.equal(m.id, msg.id);
      assert.equal(m.from, alice.id);
      assert.equal(bconv.id, conv.id);
      assert.equal(ms(m.timestamp), ms(msg.timestamp));
      assert.equal(m.status, MessageStatus.SENT);
      await delivered;
      await until(() => msg.status === MessageStatus.DELIVERED, 'message.status delivered');
      assert.ok(ms(msg.deliveredAt) >= ms(msg.timestamp), 'deliveredAt not before the message');
      assert.ok(ms(conv.lastDeliveredAt) >= ms(msg.timestamp), 'lastDeliveredAt covers the message');
    });

    feature('receipts: none in a 3-member conversation', async (ctx) => {
      const alice = await ctx.client('alice');
      const bob = await ctx.client('bob');
      const carol = await ctx.client('carol');
      const conv = await alice.createConversation({ members: [bob.id, carol.id] });
      const gotB = waitEvent(bob, Event.MESSAGE, (m) => m.text === 'group');
      const gotC = waitEvent(carol, Event.MESSAGE, (m) => m.text === 'group');
      const deliveries = collect(conv, Event.LAST_DELIVERED_AT_UPDATE);
      const msg = await conv.send(new TextMessage('group'), { receipt: true });
      await Promise.all([gotB, gotC]);
      await sleep(1500); // both receivers have acked by now (acks are sent at once)
      assert.equal(deliveries.length, 0, 'no delivered receipt');
      assert.equal(msg.status, MessageStatus.SENT, 'status stays sent');
    });

    feature('read: read receipt moves lastReadAt', async (ctx) => {
      const alice = await ctx.client('alice');
      const bob = await ctx.client('bob');
      const conv = await alice.createConversation({ members: [bob.id] });
      const got = waitEvent(bob, Event.MESSAGE, (m) => m.text === 'read me');
      const msg = await conv.send(new TextMessage('read me'), { receipt: true });
      const [, bconv] = await got;
      assert.equal(bconv.unreadMessagesCount, 1, 'one unread message on bob\'s side');
      const readEvt = waitEvent(conv, Event.LAST_READ_AT_UPDATE);
      await bconv.read();
      assert.equal(bconv.unreadMessagesCount, 0);
      await readEvt;
      assert.ok(conv.lastReadAt instanceof Date, 'lastReadAt set');
      assert.ok(ms(conv.lastReadAt) >= ms(msg.timestamp), 'lastReadAt covers the message');
      await conv.fetchReceiptTimestamps();
      assert.ok(ms(conv.lastReadAt) >= ms(msg.timestamp), 'max_read agrees');
      assert.ok(ms(conv.lastDeliveredAt) >= ms(msg.timestamp), 'max_read reports delivery too');
    });

    feature('update: the other side sees MESSAGE_UPDATE', async (ctx) => {
      const alice = await ctx.client('alice');
      const bob = await ctx.client('bob');
      const conv = await alice.createConversation({ members: [bob.id] });
      const got = waitEvent(bob, Event.MESSAGE, (m) => m.text === 'first draft');
      const msg = await conv.send(new TextMessage('first draft'));
      await got;
      const updated = waitEvent(bob, Event.MESSAGE_UPDATE);
      const mine = await conv.update(msg, new TextMessage('final text').setMentionList([bob.id]));
      assert.equal(mine.id, msg.id);
      const [m, bconv] = await updated;
      assert.ok(m instanceof TextMessage, 'the patch carries a text message');
      assert.equal(m.text, 'final text');
      assert.equal(m.id, msg.id);
      assert.equal(m.from, alice.id);
      assert.equal(bconv.id, conv.id);
      assert.ok(m.updatedAt instanceof Date, 'patchTimestamp given');
      assert.notEqual(ms(m.updatedAt), ms(m.timestamp), 'patchTimestamp differs from the send time');
      assert.equal(m.mentioned, true, 'the patch carries the new mention list');
      assert.deepEqual(m.mentionList, [bob.id]);
      const [last] = await conv.queryMessages({ limit: 1 });
      assert.equal(last.id, msg.id);
      assert.equal(last.text, 'final text', 'history holds the new content');
    });

    feature('update: someone else\'s message is refused', async (ctx) => {
      const alice = await ctx.client('alice');
      const bob = await ctx.client('bob');
      const conv = await alice.createConversation({ members: [bob.id] });
      const got = waitEvent(bob, Event.MESSAGE, (m) => m.text === 'mine');
      const msg = await conv.send(new TextMessage('mine'));
      const [, bconv] = await got;
      const updates = collect(alice, Event.MESSAGE_UPDATE);
      // A plain {id, timestamp} skips the SDK's own sender check, so the server must refuse.
      await assert.rejects(bconv.update({ id: msg.id, timestamp: msg.timestamp }, new TextMessage('forged')));
      const [last] = await conv.queryMessages({ limit: 1 });
      assert.equal(last.text, 'mine', 'history unchanged');
      assert.equal(updates.length, 0, 'alice got no patch');
    });

    feature('recall: the other side sees MESSAGE_RECALL', async (ctx) => {
      const alice = await ctx.client('alice');
      const bob = await ctx.client('bob');
      const conv = await alice.createConversation({ members: [bob.id] });
      const got = waitEvent(bob, Event.MESSAGE, (m) => m.text === 'oops');
      const msg = await conv.send(new TextMessage('oops'));
      await got;
      const recalled = waitEvent(bob, Event.MESSAGE_RECALL);
      const mine = await conv.recall(msg);
      assert.ok(mine instanceof RecalledMessage);
      const [m, bconv] = await recalled;
      assert.ok(m instanceof RecalledMessage, `recalled message parsed as RecalledMessage, got ${m.constructor.name}`);
      assert.equal(m.id, msg.id);
      assert.ok(m.updatedAt instanceof Date, 'patchTimestamp given');
      assert.equal(bconv.id, conv.id);
      const [last] = await conv.queryMessages({ limit: 1 });
      assert.equal(last.id, msg.id);
      assert.ok(!(last instanceof TextMessage) || last.text !== 'oops', 'history no longer holds the content');
    });

    feature('typed message attributes and binary content carried intact', async (ctx) => {
      const alice = await ctx.client('alice');
      const bob = await ctx.client('bob');
      const conv = await alice.createConversation({ members: [bob.id] });
      const seen = collect(bob, Event.MESSAGE);
      const attrs = { leancloud: 'rocks', n: 42, nested: { list: [1, 'two'] } };
      const typed = await conv.send(new TextMessage('typed').setAttributes(attrs));
      const bytes = Uint8Array.from([0, 1, 2, 253, 254, 255, 10, 13]);
      const bin = await conv.send(new BinaryMessage(bytes.buffer));
      await until(() => seen.length >= 2, 'two messages at bob');
      // (the SDK may dispatch the first pushes of a conversation it is still fetching out of order)
      const t = seen.map(([m]) => m).find((m) => m.id === typed.id);
      const b = seen.map(([m]) => m).find((m) => m.id === bin.id);
      assert.ok(t && b, `bob got both messages: ${seen.map(([m]) => m.id)}`);
      assert.equal(t.text, 'typed');
      assert.deepEqual(t.getAttributes(), attrs);
      assert.equal(b.id, bin.id);
      assert.ok(b instanceof BinaryMessage, `binary message parsed as BinaryMessage, got ${b.constructor.name}`);
      assert.deepEqual([...new Uint8Array(b.buffer)], [...bytes]);
      const history = await conv.queryMessages({ limit: 2 });
      assert.deepEqual(history.map((m) => m.id), [typed.id, bin.id]);
      assert.deepEqual(history[0].getAttributes(), attrs, 'attributes intact in history');
      assert.ok(history[1] instanceof BinaryMessage, 'binary intact in history (LogItem.bin)');
      assert.deepEqual([...new Uint8Array(history[1].buffer)], [...bytes]);
    });

    feature('transient: online members only, not in history', async (ctx) => {
      const alice = await ctx.client('alice');
      const bob = await ctx.client('bob');
      const carol = ctx.id('carol'); // offline member
      const conv = await alice.createConversation({ members: [bob.id, carol] });
      const got = waitEvent(bob, Event.MESSAGE, (m) => m.text === 'flash');
      const flash = await conv.send(new TextMessage('flash'), { transient: true });
      assert.ok(flash.id, 'a transient message is acked to its sender with an id');
      await got;
      const got2 = waitEvent(bob, Event.MESSAGE, (m) => m.text === 'kept');
      await conv.send(new TextMessage('kept'));
      await got2;
      const history = await conv.queryMessages({ limit: 10 });
      assert.deepEqual(history.map((m) => m.text), ['kept'], 'only the persistent message is stored');
      if (!framing.v1) {
        const c = await ctx.client('carol');
        const cc = await c.getConversation(conv.id);
        await until(() => cc.unreadMessagesCount > 0, 'carol\'s unread count');
        await sleep(200);
        assert.equal(cc.unreadMessagesCount, 1, 'the transient message is not counted as unread');
      } else {
        const rt = ctx.realtime();
        const seen = [];
        const c = await ctx.client('carol', {}, rt);
        c.on(Event.MESSAGE, (m) => seen.push(m.text));
        await until(() => seen.includes('kept'), 'the stored message pushed to carol');
        await sleep(300);
        assert.deepEqual(seen, ['kept'], 'the transient message is not pushed offline');
      }
    });

    feature('will message: sent on a dropped connection, never on logout', async (ctx) => {
      const bob = await ctx.client('bob');
      const alice = await ctx.client('alice');
      const conv = await alice.createConversation({ members: [bob.id] });
      await bob.getConversation(conv.id);
      const seen = collect(bob, Event.MESSAGE);
      const first = await conv.send(new TextMessage('will, then logout'), { will: true });
      assert.ok(first.id, 'a will message is acknowledged');
      await alice.close(); // logout: the will is discarded
      const rt = ctx.realtime();
      const alice2 = await ctx.client('alice', {}, rt);
      const conv2 = await alice2.getConversation(conv.id);
      await conv2.send(new TextMessage('will, then drop'), { will: true });
      await sleep(300);
      assert.deepEqual(seen.map(([m]) => m.text), [], 'a will is not delivered while its sender is online');
      rt.pause(); // the socket ends without session/close
      await until(() => seen.length > 0, 'the will at bob');
      await sleep(500);
      assert.deepEqual(seen.map(([m]) => m.text), ['will, then drop'], 'only the will of the dropped session');
      assert.equal(seen[0][0].from, alice.id);
    });

    feature('mention: mentionList and mentionedAll reach the receiver', async (ctx) => {
      const alice = await ctx.client('alice');
      const bob = await ctx.client('bob');
      const carol = ctx.id('carol');
      const conv = await alice.createConversation({ members: [bob.id, carol] });
      const seen = collect(bob, Event.MESSAGE);
      await conv.send(new TextMessage('@bob').setMentionList([bob.id]));
      await conv.send(new TextMessage('@all').mentionAll());
      await conv.send(new TextMessage('@carol').setMentionList([carol]));
      await until(() => seen.length >= 3, 'three messages at bob');
      const by = Object.fromEntries(seen.map(([m]) => [m.text, m]));
      assert.deepEqual(by['@bob'].mentionList, [bob.id]);
      assert.equal(by['@bob'].mentioned, true);
      assert.equal(by['@all'].mentionedAll, true);
      assert.equal(by['@all'].mentioned, true);
      assert.deepEqual(by['@carol'].mentionList, [carol]);
      assert.equal(by['@carol'].mentioned, false);
      assert.equal(by['@carol'].mentionedAll, false);
    });

    feature('unread counts after reconnect', async (ctx, label) => {
      const alice = await ctx.client('alice');
      const rt = ctx.realtime();
      const bob = await ctx.client('bob', {}, rt);
      const conv = await alice.createConversation({ members: [bob.id] });
      const bconv = await bob.getConversation(conv.id);
      assert.ok(bconv, 'bob knows the conversation');
      const offline = waitEvent(rt, Event.DISCONNECT);
      rt.pause(); // drops the socket, like a lost network
      await offline;
      await sleep(300); // let the server notice the close
      await conv.send(new TextMessage('while away 1'));
      await conv.send(new TextMessage('while away 2, @bob').setMentionList([bob.id]));
      const updated = waitEvent(bob, Event.UNREAD_MESSAGES_COUNT_UPDATE, (convs) =>
        convs.some((c) => c.id === conv.id),
      );
      const back = waitEvent(bob, Event.RECONNECT);
      rt.resume();
      await back;
      const reopen = capture.of(label, (f) => f.dir === 'c2s' && f.command.op === 'open').pop();
      assert.equal(reopen.command.sessionMessage.r, true, 'the SDK reopened with r=true');
      await updated;
      assert.equal(bconv.unreadMessagesCount, 2);
      assert.equal(bconv.unreadMessagesMentioned, true);
      assert.equal(bconv.lastMessage && bconv.lastMessage.text, 'while away 2, @bob');
      // Dropped again with nothing new: the SDK sends notifTime back as lastUnreadNotifTime and
      // the conversation is not listed again.
      const notif = capture.of(label, (f) => f.dir === 's2c' && f.command.cmd === 'unread').pop();
      const offline2 = waitEvent(rt, Event.DISCONNECT);
      rt.pause();
      await offline2;
      await sleep(300);
      const back2 = waitEvent(bob, Event.RECONNECT);
      rt.resume();
      await back2;
      const open2 = capture.of(label, (f) => f.dir === 'c2s' && f.command.op === 'open').pop();
      assert.equal(
        open2.command.sessionMessage.lastUnreadNotifTime,
        notif.command.unreadMessage.notifTime,
        'lastUnreadNotifTime echoes the last notifTime',
      );
      await sleep(500);
      const again = capture.of(
        label,
        (f) =>
          f.seq > open2.seq &&
          f.dir === 's2c' &&
          f.command.cmd === 'unread' &&
          (f.command.unreadMessage.convs || []).some((c) => c.cid === conv.id),
      );
      assert.equal(again.length, 0, 'no unread tuple again for a conversation with nothing new');
      assert.equal(bconv.unreadMessagesCount, 2, 'the count stays');
    }, { only: 'v3' });

    feature('unread counts at a fresh login', async (ctx) => {
      const alice = await ctx.client('alice');
      const conv = await alice.createConversation({ members: [ctx.id('bob')] });
      await conv.send(new TextMessage('one'));
      await conv.send(new TextMessage('two'));
      await conv.send(new TextMessage('three'));
      const rt = ctx.realtime();
      const bob = await ctx.client('bob', {}, rt);
      const bconv = await bob.getConversation(conv.id);
      await until(() => bconv.unreadMessagesCount === 3, `unread 3 (now ${bconv.unreadMessagesCount})`);
      assert.equal(bconv.unreadMessagesMentioned, false);
      await bconv.read();
      await sleep(300);
      await bob.close();
      const bob2 = await ctx.client('bob', {}, ctx.realtime());
      const again = await bob2.getConversation(conv.id);
      await sleep(500);
      assert.equal(again.unreadMessagesCount, 0, 'read resets the server-side count');
    }, { only: 'v3' });

    feature('offline messages pushed after reconnect (v1)', async (ctx) => {
      const alice = await ctx.client('alice');
      const rt = ctx.realtime();
      const bob = await ctx.client('bob', {}, rt);
      const conv = await alice.createConversation({ members: [bob.id] });
      const offline = waitEvent(rt, Event.DISCONNECT);
      rt.pause();
      await offline;
      await sleep(300);
      const m1 = await conv.send(new TextMessage('offline 1'));
      const m2 = await conv.send(new TextMessage('offline 2'));
      const seen = collect(bob, Event.MESSAGE);
      rt.resume();
      await until(() => seen.length >= 2, 'two offline messages pushed');
      await sleep(300);
      assert.deepEqual(seen.map(([m]) => m.id), [m1.id, m2.id], 'each once, in order');
      assert.deepEqual(seen.map(([m]) => m.text), ['offline 1', 'offline 2']);
    }, { only: 'v1' });

    feature('offline push is bounded to 20 per conversation (v1)', async (ctx) => {
      const alice = await ctx.client('alice');
      const conv = await alice.createConversation({ members: [ctx.id('bob')] });
      const sent = [];
      for (let k = 1; k <= 25; k += 1) sent.push(await conv.send(new TextMessage(`n${k}`)));
      const rt = ctx.realtime();
      const seen = [];
      const bob = await ctx.client('bob', {}, rt);
      bob.on(Event.MESSAGE, (m) => seen.push(m.id));
      await until(() => seen.length >= 20, `20 offline messages (got ${seen.length})`);
      await sleep(500);
      assert.equal(seen.length, 20, 'at most 20 pushed');
      assert.deepEqual([...seen].sort(), sent.slice(5).map((m) => m.id).sort(), 'the newest 20');
    }, { only: 'v1' });

    feature('CONFLICT: same client id and tag logged in twice', async (ctx) => {
      const first = await ctx.client('dave', { tag: 'mobile' });
      const conflict = waitEvent(first, Event.CONFLICT);
      const second = await ctx.client('dave', { tag: 'mobile' });
      const [payload] = await conflict;
      assert.ok(payload && typeof payload.reason === 'string', 'CONFLICT carries a reason');
      // the newer device works
      const alice = await ctx.client('alice');
      const conv = await alice.createConversation({ members: [second.id] });
      const got = waitEvent(second, Event.MESSAGE, (m) => m.text === 'to the new device');
      await conv.send(new TextMessage('to the new device'));
      await got;
    });

    feature('CONFLICT: a reconnect into a taken tag is refused instead', async (ctx, label) => {
      // (createIMClient's own isReconnect option cannot be used: 4.3.1 then dereferences a
      // missing session manager before sending anything.) A real reconnect sends r=true.
      const rt = ctx.realtime();
      const old = await ctx.client('dave', { tag: 'mobile' }, rt);
      const offline = waitEvent(rt, Event.DISCONNECT);
      rt.pause();
      await offline;
      await sleep(300);
      const now = await ctx.client('dave', { tag: 'mobile' });
      const conflicts = collect(now, Event.CONFLICT);
      const refused = waitEvent(old, Event.RECONNECT_ERROR);
      rt.resume();
      const [err] = await refused;
      assert.equal(err.code, ErrorCode.SESSION_CONFLICT, `refused with 4111, got ${err.code} ${err.message}`);
      const reopen = capture.of(label, (f) => f.dir === 'c2s' && f.command.op === 'open').pop();
      assert.equal(reopen.command.sessionMessage.r, true, 'the refused open was a reconnect (r=true)');
      await sleep(200);
      assert.equal(conflicts.length, 0, 'the device that holds the tag stays');
    });

    feature('no tag: several devices, no conflict, all get the message', async (ctx) => {
      const one = await ctx.client('erin');
      const two = await ctx.client('erin');
      const conflicts = [...collect(one, Event.CONFLICT), ...collect(two, Event.CONFLICT)];
      const closes = collect(one, Event.CLOSE);
      const alice = await ctx.client('alice');
      const conv = await alice.createConversation({ members: [one.id] });
      const got1 = waitEvent(one, Event.MESSAGE, (m) => m.text === 'both');
      const got2 = waitEvent(two, Event.MESSAGE, (m) => m.text === 'both');
      await conv.send(new TextMessage('both'));
      await Promise.all([got1, got2]);
      // a device's own message reaches the user's other devices too
      const oneConv = await one.getConversation(conv.id);
      const mirrored = waitEvent(two, Event.MESSAGE, (m) => m.text === 'from one');
      const sent = await oneConv.send(new TextMessage('from one'));
      const [m] = await mirrored;
      assert.equal(m.id, sent.id);
      assert.equal(m.from, one.id);
      assert.equal(conflicts.length + closes.length, 0, 'nobody was logged out');
    });

    feature('history: queryMessages newest page first', async (ctx) => {
      const alice = await ctx.client('alice');
      const conv = await alice.createConversation({ members: [ctx.id('bob')] });
      const sent = [];
      for (const t of ['h1', 'h2', 'h3', 'h4', 'h5']) sent.push(await conv.send(new TextMessage(t)));
      const it = conv.createMessagesIterator({ limit: 2 });
      const p1 = await it.next();
      assert.deepEqual(p1.value.map((m) => m.text), ['h4', 'h5'], 'first page: the newest two, oldest first');
      assert.deepEqual(p1.value.map((m) => m.id), [sent[3].id, sent[4].id]);
      const p2 = await it.next();
      assert.deepEqual(p2.value.map((m) => m.text), ['h2', 'h3']);
      const p3 = await it.next();
      assert.deepEqual(p3.value.map((m) => m.text), ['h1']);
      assert.equal(p3.done, true);
    });
  });
}

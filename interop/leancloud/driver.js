'use strict';
// A driver (docs/driver-protocol.md) for the official leancloud-realtime SDK, pinned in
// package.json: `imspec client-test scenarios/clients/leancloud --driver 'node interop/leancloud/driver.js'`.
//
//   node interop/leancloud/driver.js [--framing lc.protobuf2.3|lc.proto2base64.3|lc.protobuf2.1]
//
// imspec starts it once per case with IMSPEC_LEANCLOUD=HOST:PORT (its realtime WebSocket endpoint)
// and IMSPEC_CASE; ops arrive on stdin, one JSON object a line; answers and events go to stdout.
// The driver only calls the SDK's public API, as an app would, and reports what the SDK tells its
// app (events). stdout carries nothing else: the SDK's console output goes to stderr.

const readline = require('node:readline');
const { Realtime, TextMessage, Event, ErrorCode } = require('leancloud-realtime');

// stdout is the driver protocol's: anything the SDK or its dependencies log goes to stderr.
console.log = console.error;
console.info = console.error;

const FRAMINGS = {
  'lc.protobuf2.3': {},
  'lc.proto2base64.3': { noBinary: true },
  'lc.protobuf2.1': { pushOfflineMessages: true },
};

function parseArgs(argv) {
  const o = { framing: 'lc.protobuf2.3' };
  for (let k = 0; k < argv.length; k += 1) {
    if (argv[k] === '--framing') o.framing = argv[(k += 1)];
    else throw new Error(`unknown argument ${argv[k]}`);
  }
  if (!FRAMINGS[o.framing]) {
    throw new Error(`--framing must be one of ${Object.keys(FRAMINGS).join(', ')}`);
  }
  return o;
}

const opts = parseArgs(process.argv.slice(2));
const addr = process.env.IMSPEC_LEANCLOUD;
if (!addr) {
  console.error('driver.js: IMSPEC_LEANCLOUD is not set (imspec client-test sets it)');
  process.exit(2);
}

function out(obj) {
  process.stdout.write(`${JSON.stringify(obj)}\n`);
}

const realtime = new Realtime({
  appId: 'imspec',
  appKey: 'imspec-key',
  RTMServers: [`ws://${addr}/`], // no router lookup
  // The only REST call left (the notification sync after a reconnect) goes to a closed loopback
  // port: nothing leaves the machine, the SDK only warns.
  server: { RTMRouter: '127.0.0.1:9', api: '127.0.0.1:9' },
  ...FRAMINGS[opts.framing],
});

// `ping` (imspec's barrier) is answered once every command the SDK received before it has been
// dispatched to the app. The SDK dispatches asynchronously (a message waits for its conv/query),
// so the driver keeps the promises of dispatches in flight. This observes, it changes nothing:
// the connection binds `_dispatchCommand` when it opens, after this wrapper is in place.
const dispatching = new Set();
const dispatch = realtime._dispatchCommand;
realtime._dispatchCommand = function observed(command) {
  const p = Promise.resolve(dispatch.call(this, command));
  dispatching.add(p);
  const done = () => dispatching.delete(p);
  p.then(done, done);
  return p;
};

/** What the user sees of a message: a TextMessage's text, else its content as text. */
function textOf(message) {
  if (message instanceof TextMessage) return message.getText();
  const { content } = message;
  if (typeof content === 'string') return content;
  return content === undefined ? '' : JSON.stringify(content);
}

let client = null;

function watch(c) {
  c.on(Event.MESSAGE, (message, conversation) =>
    out({
      event: 'received',
      from: message.from,
      text: textOf(message),
      conv: conversation.id,
      id: message.id,
    }),
  );
  c.on(Event.MESSAGE_RECALL, (message, conversation) =>
    out({ event: 'recalled', conv: conversation.id, id: message.id }),
  );
  c.on(Event.MESSAGE_UPDATE, (message, conversation) =>
    out({ event: 'patched', conv: conversation.id, id: message.id, text: textOf(message) }),
  );
  c.on(Event.UNREAD_MESSAGES_COUNT_UPDATE, (conversations) => {
    for (const conv of conversations) {
      out({ event: 'unread', conv: conv.id, count: conv.unreadMessagesCount });
    }
  });
  // CONFLICT is the SDK's event for session/closed 4111 (SESSION_CONFLICT); it carries the reason.
  c.on(Event.CONFLICT, ({ reason }) =>
    out({ event: 'conflict', code: ErrorCode.SESSION_CONFLICT, reason }),
  );
  c.on(Event.CLOSE, ({ code, reason }) => console.error(`driver.js: closed by the server: ${code} ${reason}`));
  c.on(Event.RECONNECT, () => out({ event: 'reconnected' }));
  c.on(Event.RECONNECT_ERROR, (e) => console.error(`driver.js: reconnect failed: ${e.message}`));
}

function need(op, ...fields) {
  for (const f of fields) {
    if (typeof op[f] !== 'string') throw new Error(`${op.op} needs \`${f}\``);
  }
}

async function handle(op) {
  switch (op.op) {
    case 'login': {
      need(op, 'user');
      // The SDK returns the client it already has for an id: watch each client once.
      const c = await realtime.createIMClient(op.user);
      if (c !== client) watch(c);
      client = c;
      return;
    }
    case 'send': {
      need(op, 'to', 'text');
      if (!client) throw new Error('not logged in');
      // The SDK sends to a Conversation object; for an id it has not cached it asks the server
      // (conv/query), as any app that opens a conversation by id does.
      const conversation = await client.getConversation(op.to);
      if (!conversation) throw new Error(`no conversation ${op.to}`);
      await conversation.send(new TextMessage(op.text));
      return;
    }
    case 'logout': {
      if (!client) throw new Error('not logged in');
      await client.close();
      client = null;
      return;
    }
    case 'ping': {
      // Commands received up to now are dispatching; wait until none is left (a dispatch may
      // start another, e.g. the ack after a query).
      await new Promise((r) => setImmediate(r));
      while (dispatching.size) {
        await Promise.allSettled([...dispatching]);
        await new Promise((r) => setImmediate(r));
      }
      return;
    }
    default:
      throw new Error('unsupported');
  }
}

const lines = readline.createInterface({ input: process.stdin });
lines.on('line', (line) => {
  if (!line.trim()) return;
  let op;
  try {
    op = JSON.parse(line);
  } catch (e) {
    console.error(`driver.js: not JSON: ${line}`);
    return;
  }
  const { id } = op;
  // Ops run concurrently (two sends in flight); each is answered when it completes.
  handle(op).then(
    () => out({ ok: true, id }),
    (e) => out({ ok: false, id, error: e && e.message ? e.message : String(e) }),
  );
});
lines.on('close', () => process.exit(0));

out({ event: 'ready' });

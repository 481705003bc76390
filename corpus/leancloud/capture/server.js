// Fake LeanCloud RTM server for capturing the frames leancloud-realtime 4.3.1 sends.
// Saves every WebSocket message, both directions, as a corpus file: binary frames as
// <n>-<dir>-<cmd>[-<op>].bin, text frames (base64) as .b64 holding the exact text.
// Answers just enough for client.js (docs/protocols/peers.md §4 is the starting point), and pushes a few
// server-to-client commands (receipt, a message from bob, a patch, unread counts) encoded by
// the SDK's own protobufjs. env: PORT, OUT (directory).
const http = require('http');
const fs = require('fs');
const path = require('path');
const { WebSocketServer } = require('ws');
const ProtoBuf = require('protobufjs');

const PORT = Number(process.env.PORT || 17001);
const OUT = process.env.OUT || 'out';
const proto = path.join(__dirname, 'node_modules/leancloud-realtime/proto/message.proto');
const pb = ProtoBuf.loadProtoFile(proto).build('push_server.messages2');
const { GenericCommand, CommandType, OpType } = pb;
const name = (e, v) => Object.keys(e).find(k => e[k] === v);
fs.mkdirSync(OUT, { recursive: true });

// Fixed ids and times, so that captures differ only where the SDK's own values do.
const CID = '5f7c8d9e0a1b2c3d4e5f6a7b';
const T0 = 1795310486000;
let n = 0;
let mid = 0;

function save(dir, cmd, payload, base64) {
  n += 1;
  const c = name(CommandType, cmd.cmd);
  const op = cmd.op === null ? '' : `-${name(OpType, cmd.op)}`;
  const file = `${String(n).padStart(2, '0')}-${dir}-${c}${op}.${base64 ? 'b64' : 'bin'}`;
  fs.writeFileSync(path.join(OUT, file), payload);
  console.log(file);
}

const server = http.createServer((req, res) => res.writeHead(404).end());
const wss = new WebSocketServer({
  server,
  handleProtocols: protocols => [...protocols].find(p => p.startsWith('lc.')) || false,
});

wss.on('connection', ws => {
  const base64 = ws.protocol.includes('base64');
  const send = obj => {
    const cmd = new GenericCommand(obj);
    const out = base64 ? cmd.toBase64() : cmd.toBuffer();
    save('s2c', cmd, out, base64);
    ws.send(out, { binary: !base64 });
  };
  ws.on('message', (data, isBinary) => {
    const cmd = isBinary ? GenericCommand.decode(data) : GenericCommand.decode(data.toString('utf8'), 'base64');
    save('c2s', cmd, isBinary ? data : data.toString('utf8'), !isBinary);
    const { i } = cmd;
    const c = name(CommandType, cmd.cmd);
    const op = cmd.op === null ? null : name(OpType, cmd.op);
    if (c === 'session' && op === 'open') {
      send({ cmd: 'session', op: 'opened', i, peerId: cmd.peerId, serverTs: T0,
        sessionMessage: { st: 'local-0123456789abcdef', stTtl: 17280 } });
      // Unread counts at login: one conversation, mentioned.
      send({ cmd: 'unread', unreadMessage: { notifTime: T0 + 1, convs: [{ cid: CID, unread: 2,
        mid: 'mid-unread-1', timestamp: T0 - 5000, from: 'bob', data: '{"_lctext":"are you there?","_lctype":-1}',
        mentioned: true }] } });
    } else if (c === 'session' && op === 'close') {
      send({ cmd: 'session', op: 'closed', i });
    } else if (c === 'conv' && op === 'start') {
      send({ cmd: 'conv', op: 'started', i, convMessage: { cid: CID, cdate: '2026-11-22T01:21:26.098Z' } });
    } else if (c === 'conv' && op === 'max_read') {
      send({ cmd: 'conv', op: 'max_read', i, convMessage: { maxReadTimestamp: T0 + 30, maxAckTimestamp: T0 + 40 } });
    } else if (c === 'direct') {
      mid += 1;
      const t = T0 + 10 * mid;
      send({ cmd: 'ack', i, ackMessage: { uid: `mid-alice-${mid}`, t } });
      if (cmd.directMessage.r) {
        // Delivery receipt for the message that asked for one, then a message from bob.
        send({ cmd: 'rcp', rcpMessage: { id: `mid-alice-${mid}`, cid: CID, t: t + 1, from: 'bob' } });
        send({ cmd: 'rcp', rcpMessage: { id: `mid-alice-${mid}`, cid: CID, t: t + 2, read: true, from: 'bob' } });
        send({ cmd: 'direct', directMessage: { id: 'mid-bob-1', cid: CID, fromPeerId: 'bob', timestamp: t + 3,
          msg: '{"_lctext":"hi @alice","_lctype":-1}', mentionPids: ['alice'], mentionAll: false } });
      }
    } else if (c === 'patch' && op === 'modify') {
      send({ cmd: 'patch', op: 'modified', i, patchMessage: { lastPatchTime: T0 + 100 + mid } });
      if (!cmd.patchMessage.patches[0].recall) {
        // bob edits his own message; alice receives the patch.
        send({ cmd: 'patch', patchMessage: { lastPatchTime: T0 + 200, patches: [{ cid: CID, mid: 'mid-bob-1',
          timestamp: T0 + 13, recall: false, data: '{"_lctext":"hi @alice (edited)","_lctype":-1}',
          patchTimestamp: T0 + 200, from: 'bob', mentionAll: false, mentionPids: ['alice'] }] } });
      }
    } else if (c === 'logs') {
      send({ cmd: 'logs', i, logsMessage: { logs: [
        { from: 'alice', data: '{"_lctext":"hello bob","_lctype":-1}', timestamp: T0 + 10, msgId: 'mid-alice-1', ackAt: T0 + 11, readAt: T0 + 12 },
        { from: 'bob', data: '{"_lctext":"hi @alice","_lctype":-1}', timestamp: T0 + 13, msgId: 'mid-bob-1', mentionAll: false, mentionPids: ['alice'] },
      ] } });
    } else if (c === 'echo') {
      send({ cmd: 'echo', i });
    } else if (i) {
      send({ cmd: 'error', i, errorMessage: { code: 4200, reason: `capture server: ${c}/${op} not implemented` } });
    }
  });
});

server.listen(PORT, '127.0.0.1', () => console.log(`listening ws://127.0.0.1:${PORT}`));
process.on('SIGTERM', () => process.exit(0));

'use strict';
// Records every WebSocket frame the leancloud-realtime SDK sends and receives, decoded with the
// SDK's own schema. It wraps the `ws` module the SDK itself loads (its nested ws@5), so nothing
// sits between the SDK and the server: the bytes logged are the bytes on the wire.
//
// Must be required before `leancloud-realtime`.

const fs = require('node:fs');
const path = require('node:path');

const sdkDir = path.dirname(require.resolve('leancloud-realtime/package.json'));
const WebSocket = require(require.resolve('ws', { paths: [sdkDir] }));
const ProtoBuf = require(require.resolve('protobufjs', { paths: [sdkDir] }));

const schema = ProtoBuf.loadProtoFile(path.join(sdkDir, 'proto', 'message.proto')).build(
  'push_server.messages2',
);
const { GenericCommand, CommandType, OpType } = schema;
const enumName = (e, v) => Object.keys(e).find((k) => e[k] === v);

/** Every recorded frame, in order: {seq, label, dir, protocol, text, bytes, command}. */
const frames = [];
/** SDK console warnings, with the label current when they were printed. */
const warnings = [];
let label = '';
let outDir = null;
let seq = 0;

function toBytes(data) {
  if (Buffer.isBuffer(data)) return data;
  if (data instanceof ArrayBuffer) return Buffer.from(data);
  if (ArrayBuffer.isView(data)) return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  if (Array.isArray(data)) return Buffer.concat(data.map(toBytes));
  return Buffer.from(String(data), 'utf8');
}

/** Plain JSON view of a decoded command: enums by name, int64 as strings, bytes as base64. */
function plain(cmd) {
  const strip = (o) => {
    if (Array.isArray(o)) return o.length ? o.map(strip) : undefined;
    if (o && typeof o === 'object') {
      const r = {};
      for (const [k, v] of Object.entries(o)) {
        const s = strip(v);
        if (s !== undefined && s !== null) r[k] = s;
      }
      return Object.keys(r).length ? r : undefined;
    }
    return o;
  };
  return strip(cmd.toRaw(true, true)) || {};
}

function decode(bytes, text) {
  try {
    const cmd = text ? GenericCommand.decode(bytes.toString('utf8'), 'base64') : GenericCommand.decode(bytes);
    return plain(cmd);
  } catch (e) {
    return { undecodable: String(e.message || e) };
  }
}

function record(ws, dir, data, text) {
  const bytes = toBytes(data);
  const command = decode(bytes, text);
  seq += 1;
  const frame = { seq, label, dir, protocol: ws.protocol, text, bytes: bytes.length, command };
  frames.push(frame);
  if (outDir) {
    const cmd = command.cmd || 'unknown';
    const op = command.op ? `-${command.op}` : '';
    const name = `${String(seq).padStart(4, '0')}-${dir}-${cmd}${op}.${text ? 'b64' : 'bin'}`;
    const sub = path.join(outDir, ws.protocol || 'none');
    fs.mkdirSync(sub, { recursive: true });
    fs.writeFileSync(path.join(sub, name), bytes);
    fs.appendFileSync(
      path.join(sub, 'frames.jsonl'),
      `${JSON.stringify({ file: name, ...frame, raw: text ? bytes.toString('utf8') : bytes.toString('base64') })}\n`,
    );
  }
}

const origSend = WebSocket.prototype.send;
WebSocket.prototype.send = function send(data, ...rest) {
  record(this, 'c2s', data, typeof data === 'string');
  return origSend.call(this, data, ...rest);
};
const origEmit = WebSocket.prototype.emit;
WebSocket.prototype.emit = function emit(event, ...args) {
  if (event === 'message') {
    const data = args[0];
    record(this, 's2c', data, typeof data === 'string');
  }
  return origEmit.call(this, event, ...args);
};

const origWarn = console.warn;
console.warn = (...args) => {
  warnings.push({ label, text: args.map(String).join(' ') });
  if (process.env.LC_VERBOSE) origWarn(...args);
};

module.exports = {
  frames,
  warnings,
  CommandType,
  OpType,
  enumName,
  /** Names the frames recorded from now on (the current test). */
  setLabel(l) {
    label = l;
  },
  /** Also write each frame to DIR/<subprotocol>/NNNN-<dir>-<cmd>[-<op>].{bin,b64} + frames.jsonl. */
  setOutDir(dir) {
    outDir = dir;
  },
  /** The frames of one label, optionally filtered. */
  of(l, pred = () => true) {
    return frames.filter((f) => f.label === l && pred(f));
  },
  /** A readable dump of a label's frames for a failure message. */
  dump(l) {
    return frames
      .filter((f) => f.label === l)
      .map((f) => `  #${f.seq} ${f.dir} ${f.text ? 'text' : 'bin'} ${JSON.stringify(f.command)}`)
      .join('\n');
  },
};

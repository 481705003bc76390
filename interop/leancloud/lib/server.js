'use strict';
// Starts `imspec serve --leancloud 127.0.0.1:0 --data <tmp>` and reads the port it prints.

const { spawn } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const readline = require('node:readline');

/**
 * @param {string} bin path of the imspec binary
 * @param {string[]} extra more `imspec serve` arguments (e.g. `--mutant NAME`)
 * @param {number} timeoutMs how long to wait for the `listening leancloud HOST:PORT` line
 * @returns {Promise<{url: string, stop: () => Promise<void>, log: () => string}>}
 */
function startServer(bin, extra = [], timeoutMs = 20000) {
  const data = fs.mkdtempSync(path.join(os.tmpdir(), 'imspec-lc-interop-'));
  const child = spawn(bin, ['serve', '--leancloud', '127.0.0.1:0', '--data', data, ...extra], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logLines = [];
  const keep = (line) => {
    logLines.push(line);
    if (logLines.length > 400) logLines.shift();
  };
  readline.createInterface({ input: child.stderr }).on('line', (l) => keep(`stderr: ${l}`));
  const stdout = readline.createInterface({ input: child.stdout });

  const stop = () =>
    new Promise((resolve) => {
      const done = () => {
        fs.rmSync(data, { recursive: true, force: true });
        resolve();
      };
      if (child.exitCode !== null || child.signalCode !== null) return done();
      child.once('exit', done);
      child.kill('SIGTERM');
      setTimeout(() => child.exitCode === null && child.kill('SIGKILL'), 3000).unref();
    });

  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      stop();
      reject(new Error(`${bin} printed no "listening leancloud" line in ${timeoutMs} ms:\n${logLines.join('\n')}`));
    }, timeoutMs);
    child.once('error', (e) => {
      clearTimeout(timer);
      reject(new Error(`cannot start ${bin}: ${e.message}`));
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`${bin} exited (${code ?? signal}) before listening:\n${logLines.join('\n')}`));
    });
    stdout.on('line', (line) => {
      keep(`stdout: ${line}`);
      const m = /^listening leancloud (\S+):(\d+)\s*$/.exec(line);
      if (!m) return;
      clearTimeout(timer);
      child.removeAllListeners('exit');
      resolve({ url: `ws://${m[1]}:${m[2]}/`, stop, log: () => logLines.join('\n') });
    });
  });
}

module.exports = { startServer };

// Shared by the page's browser tests. startTidemark starts a real `tidemark` process and finds
// its URL in what it prints ("Tidemark demo: open http://...", or the log line "listening on http://...").
'use strict';
const { spawn, execFileSync } = require('child_process');

function startTidemark(binary, args, { cwd, timeoutMs = 180000 } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(binary, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'],
                                        env: { ...process.env, TIDEMARK_LOG_FORMAT: 'text' } });
    let output = '';
    let done = false;
    const timer = setTimeout(() => finish(new Error(`tidemark did not start in ${timeoutMs} ms:\n${output}`)), timeoutMs);
    function finish(err, url) {
      if (done) return;
      done = true;
      clearTimeout(timer);
      if (err) { child.kill('SIGTERM'); reject(err); } else resolve({ child, url, stop: () => stop(child) });
    }
    const onData = (chunk) => {
      output += chunk.toString();
      const m = /(?:open|listening on) (http:\/\/[0-9.]+:\d+)\/?/.exec(output);
      if (m) finish(null, m[1]);
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('exit', (code) => finish(new Error(`tidemark exited with ${code} before serving:\n${output}`)));
  });
}

function stop(child) {
  return new Promise((resolve) => {
    if (child.exitCode !== null) return resolve();
    child.on('exit', () => resolve());
    child.kill('SIGTERM');
    setTimeout(() => child.kill('SIGKILL'), 15000).unref();
  });
}

function runTidemark(binary, args, opts = {}) {
  return execFileSync(binary, args, { encoding: 'utf8', ...opts });
}

function launchOptions() {
  return {
    executablePath: process.env.TIDEMARK_CHROMIUM || '/usr/bin/chromium',
    headless: true,
    chromiumSandbox: false,
    args: ['--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
           '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'],
  };
}

// The checks of one test script: check() prints "ok"/"FAIL" lines, finish() the tally and the
// exit status.
function checker() {
  const results = [];
  return {
    check(name, ok, detail) {
      results.push(!!ok);
      console.log(`${ok ? 'ok  ' : 'FAIL'} ${name}${detail !== undefined && detail !== '' ? ': ' + detail : ''}`);
    },
    finish() {
      const passed = results.filter(Boolean).length, failed = results.length - passed;
      console.log(`${passed} passed, ${failed} failed`);
      process.exit(failed === 0 ? 0 : 1);
    },
  };
}

module.exports = { startTidemark, runTidemark, launchOptions, checker };

// check.mjs runs official Jamsocket client code against a server that claims
// to speak Jamsocket's API (here: the local plane), unchanged:
//   - the `jamsocket` CLI's commands (service connect, backend info, list,
//     terminate, logs), pointed at the server with JAMSOCKET_SERVER_API;
//   - every connect response and status event through the @jamsocket/types
//     validators isConnectResponse and isBackendState.
//
// Usage: node check.mjs API_URL ACCOUNT SERVICE TOKEN EXPECTED_LOG_LINE
// Prints one JSON line {"ok": true, "checks": [...]} and exits 0, or prints
// the failure and exits 1.
import { execFile } from 'node:child_process';
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isBackendState, isConnectResponse } from '@jamsocket/types';

const [apiURL, account, service, token, expectedLog] = process.argv.slice(2);
const here = dirname(fileURLToPath(import.meta.url));
const cli = join(here, 'node_modules', 'jamsocket', 'bin', 'run');
const checks = [];

function check(name, ok, detail) {
  if (!ok) {
    throw new Error(`${name}: ${typeof detail === 'string' ? detail : JSON.stringify(detail)}`);
  }
  checks.push(name);
}

// The CLI reads its credentials from ~/.jamsocket/config.json.
const home = mkdtempSync(join(tmpdir(), 'jamsocket-compat-'));
mkdirSync(join(home, '.jamsocket'));
writeFileSync(join(home, '.jamsocket', 'config.json'), JSON.stringify({ api_token: { token, account } }));

function runCLI(...args) {
  return new Promise((resolve) => {
    execFile(process.execPath, [cli, ...args], {
      env: { ...process.env, HOME: home, JAMSOCKET_SERVER_API: apiURL, FORCE_COLOR: '0', NO_COLOR: '1' },
      timeout: 60_000,
    }, (error, stdout, stderr) => resolve({ code: error ? (error.code ?? 1) : 0, stdout, stderr }));
  });
}

async function connect(body) {
  const res = await fetch(`${apiURL}/v2/service/${account}/${service}/connect`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
  const json = await res.json();
  check(`connect ${JSON.stringify(body)} answers 200`, res.status === 200, json);
  check(`connect ${JSON.stringify(body)} passes isConnectResponse`, isConnectResponse(json), json);
  return json;
}

// Reads the status stream until `until` (or the stream's end), validating
// every event.
async function streamStatuses(backendID, until) {
  const res = await fetch(`${apiURL}/v2/backend/${backendID}/status/stream`);
  check('status stream answers 200', res.status === 200, res.status);
  const seen = [];
  const decoder = new TextDecoder();
  let buffer = '';
  const reader = res.body.getReader();
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true });
    let end;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const event = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      for (const line of event.split('\n')) {
        if (!line.startsWith('data:')) continue;
        const state = JSON.parse(line.slice(5).trim());
        check(`stream event ${state.status} passes isBackendState`, isBackendState(state), state);
        seen.push(state.status);
        if (state.status === until) {
          await reader.cancel();
          return seen;
        }
      }
    }
  }
  return seen;
}

try {
  const connected = await runCLI('service', 'connect', service, '-k', 'compat-key', '-u', 'alice', '-a', '{"role":"editor"}');
  check('cli service connect exits 0', connected.code === 0, connected.stderr);
  const id = connected.stdout.match(/backend id:\s+(\S+)/)?.[1];
  check('cli service connect prints a backend id', !!id, connected.stdout);

  const again = await connect({ key: 'compat-key' });
  check('connect by key joins the same backend', again.backend_id === id && again.spawned === false, again);

  const status = await (await fetch(`${apiURL}/v2/backend/${id}/status`)).json();
  check('status passes isBackendState', isBackendState(status), status);

  const toReady = await streamStatuses(id, 'ready');
  check('status stream reaches ready', toReady.at(-1) === 'ready', toReady);

  const info = await runCLI('backend', 'info', id);
  check('cli backend info exits 0', info.code === 0, info.stderr);
  check('cli backend info lists the statuses', info.stdout.includes('Statuses:') && info.stdout.includes('ready'), info.stdout);

  const list = await runCLI('backend', 'list');
  check('cli backend list exits 0', list.code === 0, list.stderr);
  check('cli backend list shows the backend', list.stdout.includes(id), list.stdout);

  const terminated = await runCLI('backend', 'terminate', id);
  check('cli backend terminate exits 0', terminated.code === 0, terminated.stderr);

  const toEnd = await streamStatuses(id, 'terminated');
  check('status stream reaches terminated', toEnd.at(-1) === 'terminated', toEnd);

  const finalStatus = await (await fetch(`${apiURL}/v2/backend/${id}/status`)).json();
  check('final status passes isBackendState', isBackendState(finalStatus) && finalStatus.status === 'terminated', finalStatus);

  const logs = await runCLI('backend', 'logs', id);
  check('cli backend logs exits 0', logs.code === 0, logs.stderr);
  check('cli backend logs prints the backend output', logs.stdout.includes(expectedLog), logs.stdout);

  const fresh = await connect({});
  check('keyless connect spawns', fresh.spawned === true, fresh);
  await fetch(`${apiURL}/v2/backend/${fresh.backend_id}/terminate`, {
    method: 'POST', headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ hard: true }),
  });

  console.log(JSON.stringify({ ok: true, checks }));
} catch (err) {
  console.log(JSON.stringify({ ok: false, checks, error: String(err.message ?? err) }));
  process.exit(1);
}

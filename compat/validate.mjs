// validate.mjs runs the official @jamsocket/types validator isConnectResponse,
// unchanged, on each JSON value of the array read from standard input, and
// prints the array of its answers, for compat_test.go.
//
// Usage: node validate.mjs < values.json
import { isConnectResponse } from '@jamsocket/types';

let input = '';
for await (const chunk of process.stdin) input += chunk;
console.log(JSON.stringify(JSON.parse(input).map((value) => isConnectResponse(value))));

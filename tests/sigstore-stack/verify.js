#!/usr/bin/env node
// An independent judge: verify a Sigstore bundle with sigstore-js
// (@sigstore/verify 3.1.1), offline, against a trusted root.
//
//   node verify.js --bundle B --trusted-root TR --artifact FILE
//                  [--tlog N] [--ctlog N] [--timestamp N]
//                  [--identity SAN] [--issuer ISSUER]
//
// Thresholds are the minimum number of verified transparency-log entries,
// certificate-transparency SCTs and timestamps (a Rekor integrated time or
// an RFC 3161 token) the bundle must carry; sigstore-js's defaults are 1/1/1.
// A certificate + RFC 3161 bundle without a log entry (an HSM signature
// timestamped by a TSA) passes with --tlog 0 --ctlog 0 --timestamp 1.
//
// Exit 0 and one JSON line on stdout when the bundle verifies; exit 1 and
// the reason on stderr when it does not; exit 2 on usage errors.
'use strict';

const fs = require('node:fs');
const { bundleFromJSON } = require('@sigstore/bundle');
const { TrustedRoot } = require('@sigstore/protobuf-specs');
const { Verifier, toSignedEntity, toTrustMaterial } = require('@sigstore/verify');

function usage(msg) {
  process.stderr.write(`verify.js: ${msg}\n` +
    'usage: node verify.js --bundle B --trusted-root TR --artifact FILE ' +
    '[--tlog N] [--ctlog N] [--timestamp N] [--identity SAN] [--issuer ISSUER]\n');
  process.exit(2);
}

function parseArgs(argv) {
  const opts = { tlog: 1, ctlog: 1, timestamp: 1 };
  const names = {
    '--bundle': 'bundle', '--trusted-root': 'trustedRoot', '--artifact': 'artifact',
    '--tlog': 'tlog', '--ctlog': 'ctlog', '--timestamp': 'timestamp',
    '--identity': 'identity', '--issuer': 'issuer',
  };
  for (let i = 0; i < argv.length; i += 2) {
    const key = names[argv[i]];
    if (!key) usage(`unknown argument ${argv[i]}`);
    if (i + 1 >= argv.length) usage(`${argv[i]} needs a value`);
    const value = argv[i + 1];
    if (key === 'tlog' || key === 'ctlog' || key === 'timestamp') {
      const n = Number(value);
      if (!Number.isInteger(n) || n < 0) usage(`${argv[i]}: a count`);
      opts[key] = n;
    } else {
      opts[key] = value;
    }
  }
  for (const k of ['bundle', 'trustedRoot', 'artifact']) if (!opts[k]) usage(`--${k} is required`);
  if ((opts.identity === undefined) !== (opts.issuer === undefined)) {
    usage('--identity and --issuer go together');
  }
  return opts;
}

function main() {
  const opts = parseArgs(process.argv.slice(2));
  const bundle = bundleFromJSON(JSON.parse(fs.readFileSync(opts.bundle, 'utf8')));
  const root = TrustedRoot.fromJSON(JSON.parse(fs.readFileSync(opts.trustedRoot, 'utf8')));
  const artifact = fs.readFileSync(opts.artifact);
  const verifier = new Verifier(toTrustMaterial(root), {
    tlogThreshold: opts.tlog,
    ctlogThreshold: opts.ctlog,
    timestampThreshold: opts.timestamp,
  });
  const entity = toSignedEntity(bundle, artifact);
  const policy = opts.identity === undefined
    ? undefined
    : { subjectAlternativeName: opts.identity, extensions: { issuer: opts.issuer } };
  const signer = verifier.verify(entity, policy);
  process.stdout.write(`${JSON.stringify({
    ok: true,
    identity: signer.identity ? signer.identity.subjectAlternativeName : null,
    issuer: signer.identity && signer.identity.extensions ? signer.identity.extensions.issuer : null,
    timestamps: entity.timestamps.map((t) => t.$case),
    tlog_entries: entity.tlogEntries.length,
  })}\n`);
}

try {
  main();
} catch (e) {
  const code = e && e.code ? `${e.code}: ` : '';
  process.stderr.write(`verify.js: ${code}${e && e.message ? e.message : e}\n`);
  process.exit(1);
}

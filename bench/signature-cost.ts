/**
 * What verifying one delivery costs, in this process, per scheme: the same ~1 KB Webex delivery
 * signed as each platform signs it, verified again and again after a warm-up. Steadier than the
 * end-to-end rows, whose differences for the cheap schemes are within the machine's noise.
 */
import { parseConfig } from '../src/config/config';
import { SIGNATURE_SCHEME_NAMES } from '../src/signature/schemes';
import { verifierFor } from '../src/signature/verifier';
import { deliverySigner } from '../src/signing/outgoing';
import type { Signer } from '../test/helpers/signers';
import type { SignatureSchemeName } from '../src/signature/schemes';

export async function printVerifyCosts(signers: Record<SignatureSchemeName, Signer>, body: Buffer, rounds = 2000): Promise<void> {
  console.log('\n| scheme | µs per verify, in process (median of 5 runs) |');
  console.log('| --- | ---: |');
  for (const name of SIGNATURE_SCHEME_NAMES) {
    const signer = signers[name];
    const verifier = verifierFor(parseConfig({ ...signer.env, SIGNATURE_TOLERANCE_S: '86400' }));
    if (verifier === undefined) throw new Error(`${name}: the signer's variables do not turn verification on`);
    const request = { headers: await signer.sign(body, Date.now()), body, now: Date.now() };
    const once = async () => {
      const verdict = await verifier.verify(request);
      if (!verdict.ok) throw new Error(`${name}: refused (${verdict.reason})`);
    };
    for (let i = 0; i < 200; i++) await once(); // warm-up: JIT, and Teams' key fetch
    const runs: number[] = [];
    for (let run = 0; run < 5; run++) {
      const started = performance.now();
      for (let i = 0; i < rounds; i++) await once();
      runs.push(((performance.now() - started) * 1000) / rounds);
    }
    runs.sort((a, b) => a - b);
    console.log(`| ${name} | ${runs[2]!.toFixed(1)} |`);
  }
}

/**
 * What the proxy's own signing costs per delivery attempt, in this process: a Slack delivery
 * signed again (QUEUE_RESIGN) and the Standard Webhooks headers (DELIVERY_SIGNING_SECRET), for a
 * ~1 KB body and a 64 KB one.
 */
export function printSigningCosts(body: Buffer, rounds = 5000): void {
  const large = Buffer.alloc(64 * 1024, body);
  const cases = [
    ['QUEUE_RESIGN (slack)', deliverySigner(parseConfig({ PLATFORM: 'slack', WEBHOOK_SECRET: 'bench-secret' }))],
    ['DELIVERY_SIGNING_SECRET', deliverySigner(parseConfig({ DELIVERY_SIGNING_SECRET: `whsec_${Buffer.alloc(32, 7).toString('base64')}` }))],
  ] as const;
  console.log('\n| signing | µs per delivery, ~1 KB body | µs per delivery, 64 KB body |');
  console.log('| --- | ---: | ---: |');
  for (const [name, sign] of cases) {
    if (sign === undefined) throw new Error(`${name}: nothing to sign with`);
    const cost = (b: Buffer) => {
      for (let i = 0; i < 500; i++) sign('delivery-id', b, Date.now());
      const runs: number[] = [];
      for (let run = 0; run < 5; run++) {
        const started = performance.now();
        for (let i = 0; i < rounds; i++) sign('delivery-id', b, Date.now());
        runs.push(((performance.now() - started) * 1000) / rounds);
      }
      return runs.sort((a, b2) => a - b2)[2]!;
    };
    console.log(`| ${name} | ${cost(body).toFixed(1)} | ${cost(large).toFixed(1)} |`);
  }
}

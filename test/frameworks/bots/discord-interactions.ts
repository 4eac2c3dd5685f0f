/**
 * A Discord interactions endpoint on discord-interactions, as a team would write it: verifyKey
 * checks X-Signature-Ed25519 over the timestamp and the raw body; each slash command is answered
 * in the HTTP answer (Discord reads it: interactions are never queued). Prints one JSON line per
 * handled command.
 *
 *   node discord-interactions.js <port> <instance name>   (DISCORD_PUBLIC_KEY)
 */
import http from 'node:http';
import { InteractionResponseType, InteractionType, verifyKey } from 'discord-interactions';

interface Interaction {
  readonly type: number;
  readonly member?: { user: { id: string } };
  readonly data?: { options?: { value: string }[] };
}

function main(): void {
  const [port, instance] = process.argv.slice(2);
  const publicKey = process.env.DISCORD_PUBLIC_KEY ?? '';
  http
    .createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => void answer(Buffer.concat(chunks), req, res));
    })
    .listen(Number(port), '127.0.0.1', () => process.stdout.write(`ready ${port}\n`));

  async function answer(body: Buffer, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const ok = await verifyKey(body, String(req.headers['x-signature-ed25519']), String(req.headers['x-signature-timestamp']), publicKey);
    if (!ok) return void res.writeHead(401).end('invalid request signature');
    const interaction = JSON.parse(body.toString('utf8')) as Interaction;
    if (interaction.type === InteractionType.PING) return void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ type: InteractionResponseType.PONG }));
    const text = interaction.data?.options?.[0]?.value ?? '';
    process.stdout.write(`${JSON.stringify({ instance, person: interaction.member?.user.id, text })}\n`);
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ type: InteractionResponseType.CHANNEL_MESSAGE_WITH_SOURCE, data: { content: `${instance} got ${text}` } }));
  }
}

main();

/**
 * A Teams bot on botbuilder's CloudAdapter, as a team would write it: the adapter checks the Bot
 * Connector's JWT (issuer, audience, signing key and its endorsement, serviceUrl) with keys from
 * the OpenID configuration it is given. Messages are handled without a reply (a reply would call
 * the Bot Connector); an invoke is answered in the HTTP answer, which the sender reads. Prints
 * one JSON line per handled message.
 *
 *   node teams-botbuilder.js <port> <instance name>   (TEAMS_APP_ID, TEAMS_OPENID_URL)
 */
import http from 'node:http';
import { ActivityHandler, CloudAdapter, ConfigurationBotFrameworkAuthentication, type InvokeResponse, type TurnContext } from 'botbuilder';

class Bot extends ActivityHandler {
  constructor(private readonly instance: string) {
    super();
    this.onMessage(async (context, next) => {
      const from = context.activity.from;
      process.stdout.write(`${JSON.stringify({ instance, person: from.aadObjectId ?? from.id, text: context.activity.text })}\n`);
      await next();
    });
  }

  protected override async onInvokeActivity(context: TurnContext): Promise<InvokeResponse> {
    return { status: 200, body: { answeredBy: this.instance, name: context.activity.name } };
  }
}

/** The response the adapter writes to, in the shape Express and restify give it. */
function expressLike(res: http.ServerResponse) {
  return {
    socket: res.socket,
    header: (name: string, value: unknown) => res.setHeader(name, String(value)),
    status: (code: number) => {
      res.statusCode = code;
    },
    send: (body?: unknown) => {
      if (body === undefined) return;
      if (!res.hasHeader('content-type')) res.setHeader('content-type', 'application/json');
      res.write(typeof body === 'string' ? body : JSON.stringify(body));
    },
    end: () => res.end(),
  };
}

function main(): void {
  const [port, instance] = process.argv.slice(2);
  const auth = new ConfigurationBotFrameworkAuthentication({
    MicrosoftAppId: process.env.TEAMS_APP_ID ?? '',
    MicrosoftAppPassword: 'not-used-without-replies',
    MicrosoftAppType: 'MultiTenant',
    // Set one of these and botbuilder takes them all as given: the public cloud's values, but the
    // channel's OpenID configuration from the local stand-in.
    ToBotFromChannelOpenIdMetadataUrl: process.env.TEAMS_OPENID_URL ?? '',
    ToBotFromChannelTokenIssuer: 'https://api.botframework.com',
    ToChannelFromBotLoginUrl: 'https://login.microsoftonline.com/botframework.com',
    ToChannelFromBotOAuthScope: 'https://api.botframework.com',
    OAuthUrl: 'https://api.botframework.com',
    ToBotFromEmulatorOpenIdMetadataUrl: 'https://login.microsoftonline.com/botframework.com/v2.0/.well-known/openid-configuration',
    CallerId: 'urn:botframework:azure',
    ValidateAuthority: true,
  });
  const adapter = new CloudAdapter(auth);
  const bot = new Bot(instance ?? '');
  http
    .createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        // The adapter takes a request with its body parsed, as Express or restify hand it over.
        const request = Object.assign(req, { method: req.method ?? 'POST', body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown> });
        adapter
          .process(request, expressLike(res), (context) => bot.run(context))
          .catch(() => {
            if (!res.headersSent) res.writeHead(500).end();
          });
      });
    })
    .listen(Number(port), '127.0.0.1', () => process.stdout.write(`ready ${port}\n`));
}

main();

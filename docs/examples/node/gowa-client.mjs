// An app written for go-whatsapp-web-multidevice's REST API, pointed at wagw: only the base
// URL changed. It sends a text message and receives webhooks, checking X-Hub-Signature-256.
// Node 20 or later, no npm packages (global fetch, node:http, node:crypto):
//
//   WAGW_URL=http://127.0.0.1:3000 WAGW_LOGIN=user:pass WEBHOOK_SECRET=... PORT=8090 \
//   SEND_TO=15551234567 node gowa-client.mjs
//
// wagw delivers to this receiver when WAGW_WEBHOOK_URLS=http://127.0.0.1:8090/webhook and
// WAGW_WEBHOOK_SECRET is the same secret (docs/webhooks.md).
import { createHmac, randomUUID, timingSafeEqual } from "node:crypto";
import { createServer } from "node:http";

const BASE = process.env.WAGW_URL ?? "http://127.0.0.1:3000"; // wagw api (make run); was your gateway
const LOGIN = process.env.WAGW_LOGIN ?? "user:pass"; // WAGW_API_BASIC_AUTH, as APP_BASIC_AUTH
const SECRET = process.env.WEBHOOK_SECRET ?? "";
const PORT = Number(process.env.PORT ?? 8090);
const AUTH = "Basic " + Buffer.from(LOGIN).toString("base64");

// POST a JSON body as that API takes it; its envelope is {code, message, results}.
// The Idempotency-Key stays the same across retries: wagw sends the message once, however
// often a timed-out request is repeated (a 202 answer means "still running": poll Location).
async function post(path, body, key = randomUUID(), tries = 3) {
  for (let attempt = 1; ; attempt++) {
    try {
      const response = await fetch(BASE + path, {
        method: "POST",
        headers: { Authorization: AUTH, "Content-Type": "application/json", "Idempotency-Key": key },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(60_000),
      });
      const answer = await response.json();
      if (!response.ok) throw new Error(`${path}: ${response.status} ${answer.code}: ${answer.message}`);
      return answer;
    } catch (error) {
      const network = error.name === "TimeoutError" || error.name === "TypeError";
      if (!network || attempt >= tries) throw error;
    }
  }
}

// X-Hub-Signature-256: "sha256=" + hex HMAC-SHA256(secret, raw body), compared in constant time.
function verified(rawBody, header, secret) {
  const expected = Buffer.from("sha256=" + createHmac("sha256", secret).update(rawBody).digest("hex"));
  const given = Buffer.from(String(header ?? ""));
  return secret !== "" && given.length === expected.length && timingSafeEqual(given, expected);
}

const server = createServer((request, response) => {
  const chunks = [];
  request.on("data", (chunk) => chunks.push(chunk));
  request.on("end", () => {
    const raw = Buffer.concat(chunks);
    if (!verified(raw, request.headers["x-hub-signature-256"], SECRET)) {
      response.writeHead(401).end();
      return;
    }
    const event = JSON.parse(raw);
    // The body is that API's webhook format: event, device_id, payload (from, chat_id, body, …).
    console.log(JSON.stringify({ received: event.event, id: event.id, from: event.payload?.from, body: event.payload?.body }));
    response.writeHead(200).end();
  });
});

server.listen(PORT, "127.0.0.1", async () => {
  console.log(JSON.stringify({ listening: PORT }));
  if (process.env.SEND_TO) {
    const sent = await post("/send/message", { phone: process.env.SEND_TO, message: "hello from Node" });
    console.log(JSON.stringify({ sent: sent.results.message_id, status: sent.results.status }));
  }
});

// Verifies one response token through an unmodified verification client library of the
// reCAPTCHA/Turnstile convention, pointed at this server, and prints what the library
// returned as one line of JSON. Run by web/siteverify_clients_test.go:
//
//   node verify.js cf-turnstile|node-grecaptcha-verify SITEVERIFY_URL SECRET TOKEN
"use strict";

const [library, url, secret, token] = process.argv.slice(2);

async function verify() {
  switch (library) {
    case "cf-turnstile": {
      // The Turnstile convention; the verify URL is the apiUrl option.
      const turnstile = require("cf-turnstile");
      const r = await turnstile(secret, { apiUrl: url })(token);
      return { success: r.success, errors: r.errors, hostname: r.hostname, action: r.action, cdata: r.cdata };
    }
    case "node-grecaptcha-verify": {
      // reCAPTCHA v3; the verify URL comes from the environment, over HTTPS only. A minimum
      // score of 0: this server gives no score.
      process.env.GOOGLE_RECAPTCHA_V3_VERIFY_API_URL = url;
      const { ReCAPTCHA } = require("node-grecaptcha-verify");
      const r = await new ReCAPTCHA(secret, 0).verify(token);
      return { success: r.isHuman, errors: r.errors || [], action: r.action };
    }
  }
  throw new Error("unknown library " + library);
}

verify().then(
  (r) => console.log(JSON.stringify(r)),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);

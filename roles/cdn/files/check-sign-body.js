'use strict';
// Run the body signer (sign-body/index.js) on a CloudFront origin-request event for a POST with
// the given body, and print the request it hands on as JSON.
//   node check-sign-body.js '<body>'
const { handler } = require('./sign-body/index.js');

const body = process.argv[2] ?? '';
const event = { Records: [{ cf: { request: {
  method: 'POST', uri: '/verify', querystring: '', clientIp: '127.0.0.1', headers: {},
  body: { action: 'read-only', inputTruncated: false, encoding: 'base64', data: Buffer.from(body).toString('base64') },
} } }] };
handler(event).then((request) => process.stdout.write(JSON.stringify(request)));

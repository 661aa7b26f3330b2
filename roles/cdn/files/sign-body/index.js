'use strict';
// Lambda@Edge, origin request, on every behavior whose origin is a Lambda function URL behind a
// Lambda origin access control. Lambda accepts no unsigned payload: CloudFront's SigV4 signature
// covers a request body only when the request carries that body's SHA-256 in
// x-amz-content-sha256, which browsers never send (form posts, Next.js server actions).
// This function adds it, so POST and PUT reach the server function signed.
// Lambda@Edge allows no environment variables; this file needs none.
const { createHash } = require('node:crypto');

// CloudFront hands an origin-request function at most 1 MB of the body (inputTruncated beyond).
const TOO_LARGE = {
  status: '413',
  statusDescription: 'Payload Too Large',
  headers: { 'content-type': [{ key: 'Content-Type', value: 'text/plain' }] },
  body: 'Request bodies over 1 MB cannot be signed for the application origin.',
};

exports.handler = async (event) => {
  const request = event.Records[0].cf.request;
  if (request.method === 'GET' || request.method === 'HEAD') {
    return request;
  }
  const body = request.body || {};
  if (body.inputTruncated) {
    return TOO_LARGE;
  }
  const data = Buffer.from(body.data || '', body.encoding === 'text' ? 'utf8' : 'base64');
  request.headers['x-amz-content-sha256'] = [
    { key: 'x-amz-content-sha256', value: createHash('sha256').update(data).digest('hex') },
  ];
  return request;
};

// OpenNext v3 viewer-request function (cloudfront-js-2.0): the server needs the viewer's host,
// and the cache key must vary on the headers Next.js varies on.
var crypto = require("crypto");

function header(request, name) {
  var h = request.headers[name];
  if (!h) return "";
  if (h.multiValue) return h.multiValue.map(function (v) { return v.value; }).join(",");
  return h.value || "";
}

function handler(event) {
  var request = event.request;
  if (request.headers.host) request.headers["x-forwarded-host"] = request.headers.host;
  var key = request.uri.indexOf("/_next/image") === 0
    ? header(request, "accept")
    : ["rsc", "next-router-prefetch", "next-router-state-tree", "next-url", "x-prerender-revalidate"]
        .map(function (n) { return header(request, n); }).join("|");
  request.headers["x-open-next-cache-key"] = { value: crypto.createHash("md5").update(key).digest("hex") };
  return request;
}

// Calls RootCause.Infer with the request read as JSON from stdin and prints the response as JSON.
// Usage: node infer.js HOST:PORT PATH/TO/protos < request.json
'use strict';
const path = require('path');
const grpc = require('@grpc/grpc-js');
const protoLoader = require('@grpc/proto-loader');

const [target, protoRoot] = process.argv.slice(2);
if (!target || !protoRoot) {
  console.error('usage: node infer.js HOST:PORT PROTO_ROOT < request.json');
  process.exit(2);
}
const definition = protoLoader.loadSync('rca/v1/rca.proto', {
  includeDirs: [path.resolve(protoRoot)],
  keepCase: true,
  longs: Number,
  enums: String,
  defaults: true,
  oneofs: true,
});
const rca = grpc.loadPackageDefinition(definition).rca.v1;
const client = new rca.RootCause(target, grpc.credentials.createInsecure());

let input = '';
process.stdin.on('data', (chunk) => { input += chunk; });
process.stdin.on('end', () => {
  const request = JSON.parse(input);
  const deadline = new Date(Date.now() + 30000);
  client.Infer(request, { deadline }, (err, response) => {
    if (err) {
      console.error(`Infer failed: ${grpc.status[err.code]}: ${err.details}`);
      process.exit(1);
    }
    process.stdout.write(JSON.stringify(response));
    client.close();
  });
});

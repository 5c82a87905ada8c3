// Runtime entry of `@opsdesk/observability/tracing`: the tracing module alone, so a service's main.ts can start the
// OpenTelemetry SDK before anything loads Nest, pg or http (the package's index pulls in Nest through the health
// module). TypeScript and jest resolve it to src/tracing.ts.
module.exports = require('../../dist/libs/observability/src/tracing.js');

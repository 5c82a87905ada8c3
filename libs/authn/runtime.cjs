// Runtime entry of the workspace package: the compiled output of `npm run build` (TypeScript resolves
// @opsdesk/authn to src/ through tsconfig paths; jest maps it to src/ too).
module.exports = require('../../dist/libs/authn/src/index.js');

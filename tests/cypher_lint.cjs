// Lint Cypher statements with Neo4j's own parser (@neo4j-cypher/language-support).
// stdin: {"schema": {...DbSchema}, "statements": {key: cypher}}; stdout: {key: [diagnostics]}.
const { lintCypherQuery } = require('@neo4j-cypher/language-support');
const fs = require('fs');
const input = JSON.parse(fs.readFileSync(0, 'utf8'));
const out = {};
for (const [key, query] of Object.entries(input.statements)) {
  const result = lintCypherQuery(query, input.schema);
  out[key] = result.diagnostics.map((d) => ({ severity: d.severity, message: d.message, range: d.range }));
}
process.stdout.write(JSON.stringify(out));

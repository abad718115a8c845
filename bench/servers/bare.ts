import { createServer } from 'node:http';
import { FIXED_ANSWER, port } from './fixed.js';

/**
 * The ceiling: node:http reading the POST body and answering a fixed JSON.
 * Nothing a real introspection server can do costs less.
 */
createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', () => {
    res.writeHead(200, { 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-store' });
    res.end(FIXED_ANSWER);
  });
}).listen(port(), '127.0.0.1');

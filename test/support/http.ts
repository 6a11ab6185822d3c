// One HTTP(S) request to the board's web listener on loopback, with the Host (and SNI) a client
// would send; no agent, no certificate check (the tests' boards serve self-signed certificates).
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';

export interface Answer {
  status: number;
  type: string;
  body: string;
}

export interface RequestOptions {
  scheme?: 'http' | 'https';
  method?: string;
  headers?: Record<string, string>;
  body?: string;
}

export function fetchFrom(port: number, host: string, path: string, o: RequestOptions = {}): Promise<Answer> {
  const request = o.scheme === 'http' ? httpRequest : httpsRequest;
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, servername: host, method: o.method ?? 'GET', path, headers: { Host: host, ...o.headers }, rejectUnauthorized: false, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type']), body }));
    });
    req.on('error', reject);
    req.end(o.body);
  });
}

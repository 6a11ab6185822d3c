// One freePort for the tests, the bench and the image's tests: image/lib/ports.ts.
export { freePort } from '../../image/lib/ports.ts';

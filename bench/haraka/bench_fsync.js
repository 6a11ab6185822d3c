// Haraka plugin for the bench: accept mail for bench.test, skip reverse DNS (Yubin and Postfix do
// none in the bench either), and queue each message as one file written, fsync'd and renamed into
// the queue folder before "250" (the durability Haraka users get from a disk queue plugin).
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const crypto = require('node:crypto');

exports.register = function () {
  this.dir = process.env.BENCH_QUEUE_DIR;
  fs.mkdirSync(path.join(this.dir, 'tmp'), { recursive: true });
  fs.mkdirSync(path.join(this.dir, 'new'), { recursive: true });
};

exports.hook_lookup_rdns = function (next) {
  next(OK, 'localhost');
};

exports.hook_rcpt = function (next, connection, params) {
  const rcpt = params[0];
  if (rcpt && rcpt.host === 'bench.test') return next(OK);
  next(DENY, 'relay denied');
};

exports.hook_queue = function (next, connection) {
  const name = `${Date.now()}.${crypto.randomBytes(6).toString('hex')}.eml`;
  const tmp = path.join(this.dir, 'tmp', name);
  const fail = (err) => next(DENYSOFT, `queue error: ${err.message}`);
  const out = fs.createWriteStream(tmp);
  out.on('error', fail);
  out.on('close', () => {
    fs.open(tmp, 'r+', (err, fd) => {
      if (err) return fail(err);
      fs.fsync(fd, (err2) => {
        fs.close(fd, () => undefined);
        if (err2) return fail(err2);
        fs.rename(tmp, path.join(this.dir, 'new', name), (err3) => (err3 ? fail(err3) : next(OK, 'queued')));
      });
    });
  });
  connection.transaction.message_stream.pipe(out);
};

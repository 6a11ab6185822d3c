#!/usr/bin/python3
# Drives Debian's python3-dkim (dkimpy) for the interop test, with DNS answers from a JSON file
# instead of the network: dkimpy's verify() takes a dnsfunc only from Python, hence this script.
#   dkimpy.py verify MESSAGE ZONE.json          -> one line per signature: "<d> <s> pass|fail"
#   dkimpy.py sign MESSAGE DOMAIN SELECTOR KEY ALGO  -> the DKIM-Signature field (KEY: PEM for rsa,
#                                                   base64 32-byte seed for ed25519)
import json, re, sys
import dkim

def main():
    cmd = sys.argv[1]
    message = open(sys.argv[2], 'rb').read()
    if cmd == 'verify':
        zone = {k.lower().rstrip('.'): v for k, v in json.load(open(sys.argv[3])).items()}
        def dnsfunc(name, timeout=5):
            if isinstance(name, bytes):
                name = name.decode()
            value = zone.get(name.lower().rstrip('.'))
            return value.encode() if value is not None else None
        d = dkim.DKIM(message, minkey=1024)
        count = len([h for h in d.headers if h[0].lower() == b'dkim-signature'])
        for i in range(count):
            try:
                ok = d.verify(idx=i, dnsfunc=dnsfunc)
            except dkim.ValidationError:
                ok = False
            sig = dkim.parse_tag_value(d.headers[[j for j, h in enumerate(d.headers) if h[0].lower() == b'dkim-signature'][i]][1])
            print(sig[b'd'].decode(), sig[b's'].decode(), 'pass' if ok else 'fail')
    elif cmd == 'sign':
        domain, selector, keyfile, algo = sys.argv[3], sys.argv[4], sys.argv[5], sys.argv[6]
        key = open(keyfile, 'rb').read().strip()
        sig = dkim.sign(message, selector.encode(), domain.encode(), key,
                        include_headers=[b'from', b'to', b'subject', b'date', b'message-id'],
                        canonicalize=(b'relaxed', b'relaxed'), signature_algorithm=algo.encode(), linesep=b'\r\n')
        sys.stdout.buffer.write(sig)
    else:
        sys.exit('unknown command ' + cmd)

main()

#!/usr/bin/env python3
"""Validate a DMARC aggregate report against the schema of RFC 9990 Appendix A (lxml, Debian's
python3-lxml) and print its facts as JSON. Usage: validate.py SCHEMA.xsd REPORT.xml[.gz]"""
import gzip
import json
import sys
from lxml import etree

schema = etree.XMLSchema(etree.parse(sys.argv[1]))
raw = open(sys.argv[2], 'rb').read()
if raw[:2] == b'\x1f\x8b':
    raw = gzip.decompress(raw)
doc = etree.fromstring(raw, etree.XMLParser(resolve_entities=False, no_network=True))
if not schema.validate(doc):
    print('\n'.join(str(e) for e in schema.error_log), file=sys.stderr)
    sys.exit(1)
ns = {'d': 'urn:ietf:params:xml:ns:dmarc-2.0'}
t = lambda el, path: el.findtext(path, namespaces=ns)
print(json.dumps({
    'org_name': t(doc, 'd:report_metadata/d:org_name'),
    'email': t(doc, 'd:report_metadata/d:email'),
    'begin': int(t(doc, 'd:report_metadata/d:date_range/d:begin')),
    'end': int(t(doc, 'd:report_metadata/d:date_range/d:end')),
    'domain': t(doc, 'd:policy_published/d:domain'),
    'p': t(doc, 'd:policy_published/d:p'),
    'discovery_method': t(doc, 'd:policy_published/d:discovery_method'),
    'records': [{
        'source_ip': t(r, 'd:row/d:source_ip'),
        'count': int(t(r, 'd:row/d:count')),
        'disposition': t(r, 'd:row/d:policy_evaluated/d:disposition'),
        'dkim': t(r, 'd:row/d:policy_evaluated/d:dkim'),
        'spf': t(r, 'd:row/d:policy_evaluated/d:spf'),
        'header_from': t(r, 'd:identifiers/d:header_from'),
        'spf_result': t(r, 'd:auth_results/d:spf/d:result'),
    } for r in doc.findall('d:record', ns)],
}))

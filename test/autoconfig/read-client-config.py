#!/usr/bin/env python3
"""Read an autoconfig document as the clients' own parsers would, check it against the documented
format, and print what a client would configure as JSON. Usage: read-client-config.py FORMAT FILE
with FORMAT one of thunderbird, autodiscover, mobileconfig. Exits 1 naming what is wrong."""
import json
import plistlib
import sys
import xml.etree.ElementTree as ET

def fail(msg):
    print(msg, file=sys.stderr)
    sys.exit(1)

def text(el, tag):
    child = el.find(tag)
    if child is None or child.text is None or child.text.strip() == '':
        fail(f'<{el.tag}> lacks <{tag}>')
    return child.text.strip()

def port(value):
    n = int(value)
    if not 0 < n < 65536:
        fail(f'port {value} out of range')
    return n

def thunderbird(path):
    # https://wiki.mozilla.org/Thunderbird:Autoconfiguration:ConfigFileFormat
    root = ET.parse(path).getroot()
    if root.tag != 'clientConfig' or root.get('version') != '1.1':
        fail('root is not <clientConfig version="1.1">')
    providers = root.findall('emailProvider')
    if len(providers) != 1 or not providers[0].get('id'):
        fail('exactly one <emailProvider id=...> is needed')
    p = providers[0]
    out = {'id': p.get('id'), 'domains': [d.text for d in p.findall('domain')], 'displayName': text(p, 'displayName'), 'incoming': [], 'outgoing': []}
    if not out['domains']:
        fail('no <domain>')
    for tag, types, key in (('incomingServer', ('pop3', 'imap'), 'incoming'), ('outgoingServer', ('smtp',), 'outgoing')):
        for s in p.findall(tag):
            if s.get('type') not in types:
                fail(f'<{tag} type="{s.get("type")}"> is not one of {types}')
            socket = text(s, 'socketType')
            if socket not in ('plain', 'SSL', 'STARTTLS'):
                fail(f'socketType {socket}')
            auth = text(s, 'authentication')
            if auth not in ('password-cleartext', 'password-encrypted', 'NTLM', 'GSSAPI', 'client-IP-address', 'TLS-client-cert', 'OAuth2', 'none'):
                fail(f'authentication {auth}')
            out[key].append({'type': s.get('type'), 'hostname': text(s, 'hostname'), 'port': port(text(s, 'port')), 'socketType': socket, 'authentication': auth, 'username': text(s, 'username')})
    if not out['incoming'] or not out['outgoing']:
        fail('an incoming and an outgoing server are both needed')
    return out

def autodiscover(path):
    ns = {'r': 'http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006', 'o': 'http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a'}
    root = ET.parse(path).getroot()
    if root.tag != '{%s}Autodiscover' % ns['r']:
        fail(f'root is {root.tag}')
    error = root.find('r:Response/r:Error', ns)
    if error is not None:
        return {'error': error.find('r:ErrorCode', ns).text}
    account = root.find('o:Response/o:Account', ns)
    if account is None:
        fail('no Response/Account in the 2006a namespace')
    if account.find('o:AccountType', ns).text != 'email' or account.find('o:Action', ns).text != 'settings':
        fail('AccountType email and Action settings expected')
    protocols = []
    for p in account.findall('o:Protocol', ns):
        get = lambda tag: (p.find(f'o:{tag}', ns).text or '').strip()
        protocols.append({'type': get('Type'), 'server': get('Server'), 'port': port(get('Port')), 'loginName': get('LoginName'), 'ssl': get('SSL'), 'encryption': get('Encryption')})
    return {'protocols': protocols}

def mobileconfig(path):
    with open(path, 'rb') as f:
        profile = plistlib.load(f)
    for key in ('PayloadType', 'PayloadUUID', 'PayloadIdentifier', 'PayloadVersion', 'PayloadContent'):
        if key not in profile:
            fail(f'profile lacks {key}')
    if profile['PayloadType'] != 'Configuration':
        fail('PayloadType must be Configuration')
    mail = [p for p in profile['PayloadContent'] if p.get('PayloadType') == 'com.apple.mail.managed']
    if len(mail) != 1:
        fail('one com.apple.mail.managed payload expected')
    m = mail[0]
    for key in ('EmailAccountType', 'EmailAddress', 'IncomingMailServerHostName', 'IncomingMailServerPortNumber', 'OutgoingMailServerHostName', 'OutgoingMailServerPortNumber', 'PayloadUUID', 'PayloadIdentifier'):
        if key not in m:
            fail(f'mail payload lacks {key}')
    return {'profileUUID': profile['PayloadUUID'], **{k: v for k, v in m.items() if not isinstance(v, bytes)}}

fmt, path = sys.argv[1], sys.argv[2]
print(json.dumps({'thunderbird': thunderbird, 'autodiscover': autodiscover, 'mobileconfig': mobileconfig}[fmt](path)))

// Settings of client autoconfig: the documents mail clients fetch to set themselves up
// (Thunderbird autoconfig, Microsoft Autodiscover, Apple configuration profiles).
import { setting, bool, text, type Setting } from '../settings/kinds.ts';

export const settings = {
  'autoconfig.enabled': setting(bool, false, 'live',
    'Serve client autoconfig on the web listener (autoconfig.DOMAIN/mail/config-v1.1.xml, /.well-known/autoconfig/, autodiscover.DOMAIN/autodiscover/autodiscover.xml, /mobileconfig/USER@DOMAIN) and list the autoconfig and autodiscover names in `yubin dns`.'),
  'autoconfig.displayName': setting(text(/^[^\0\r\n<>&"]{0,64}$/, 'up to 64 characters, no < > & "'), '', 'live',
    'The name clients show for the account provider; empty: the first local domain.'),
} satisfies Record<string, Setting<unknown>>;

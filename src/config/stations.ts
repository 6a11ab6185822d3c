// Settings sections owned by later stations (delivery, POP3, content checks, board).
// Each station exports `settings` from its own settings.ts; add one spread line here.
import { type Setting } from '../settings/kinds.ts';
import { settings as alertSettings } from '../alerts/settings.ts';
import { settings as telemetrySettings } from '../telemetry/settings.ts';
import { settings as boardSettings } from '../../board/gpio/settings.ts';
import { settings as pop3Settings } from '../pop3d/settings.ts';
import { settings as loginSettings } from '../anvil/settings.ts';
import { settings as consoleSettings } from '../../firmware/console/settings.ts';
import { settings as firewallSettings } from '../../board/firewall/settings.ts';
import { settings as queueSettings } from '../qmgr/settings.ts';
import { settings as dnsSettings } from '../dns/settings.ts';
import { settings as mimeSettings } from '../mime/settings.ts';
import { settings as attachmentSettings } from '../attachments/settings.ts';
import { settings as encryptedSettings } from '../encrypted/settings.ts';
import { settings as antivirusSettings } from '../antivirus/settings.ts';
import { settings as spamSettings } from '../spam/settings.ts';
import { settings as quarantineSettings } from '../quarantine/settings.ts';
import { settings as senderAuthSettings } from '../senderauth/settings.ts';
import { settings as dkimSignSettings } from '../dkimsign/settings.ts';
import { settings as outboundSettings } from '../outbound/settings.ts';
import { settings as bounceSettings } from '../bounce/settings.ts';
import { settings as holdSettings } from '../hold/settings.ts';
import { settings as archiveSettings } from '../archive/settings.ts';
import { settings as backupSettings } from '../backup/settings.ts';
import { settings as logSettings } from '../log/settings.ts';
import { settings as traceSettings } from '../maillog/settings.ts';
import { settings as dnsRecordSettings } from '../dnsrecords/settings.ts';
import { settings as autoconfigSettings } from '../autoconfig/settings.ts';
import { settings as systemSettings } from '../../board/system/settings.ts';
import { settings as dmarcReportSettings } from '../dmarcreport/settings.ts';
import { settings as webSettings } from '../web/settings.ts';
import { settings as tlsSettings } from '../tls/settings.ts';
import { settings as acmeSettings } from '../acme/settings.ts';
import { settings as mtastsSettings } from '../mtasts/settings.ts';
import { settings as tlsrptSettings } from '../tlsrpt/settings.ts';

export const stationSettings = {
  ...alertSettings,
  ...telemetrySettings,
  ...boardSettings,
  ...pop3Settings,
  ...loginSettings,
  ...consoleSettings,
  ...firewallSettings,
  ...queueSettings,
  ...dnsSettings,
  ...mimeSettings,
  ...attachmentSettings,
  ...encryptedSettings,
  ...antivirusSettings,
  ...spamSettings,
  ...quarantineSettings,
  ...senderAuthSettings,
  ...dkimSignSettings,
  ...outboundSettings,
  ...bounceSettings,
  ...holdSettings,
  ...archiveSettings,
  ...backupSettings,
  ...logSettings,
  ...traceSettings,
  ...dnsRecordSettings,
  ...autoconfigSettings,
  ...systemSettings,
  ...dmarcReportSettings,
  ...webSettings,
  ...tlsSettings,
  ...acmeSettings,
  ...mtastsSettings,
  ...tlsrptSettings,
} satisfies Record<string, Setting<unknown>>;

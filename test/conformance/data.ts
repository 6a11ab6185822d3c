// Where the conformance suites' data is: third-party test data (YAML suites, messages, key records;
// origins and licences in data/SOURCES.md), kept in the repository so that any clone on any machine
// runs them. It was read from /work/shared/conformance, which a fresh machine does not have.
import { join } from 'node:path';

export const conformanceData = join(import.meta.dirname, 'data');

// A small XML reader for DMARC aggregate reports from strangers: elements, text, CDATA, comments
// and the five predefined and numeric entities; no DOCTYPE (so no entity expansion at all, the
// "billion laughs" and external entities cannot happen), bounded in size, depth and number of
// elements (each element is an object: a document of `<a/>` would otherwise cost ~30× its size). Namespaces are
// kept in the names' prefixes and ignored by `child`: reports come with and without them.

export interface XmlElement {
  readonly name: string;
  readonly children: XmlElement[];
  text: string;
}

export class XmlError extends Error {}

const MAX_DEPTH = 32;
const ENTITIES: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

function decode(text: string): string {
  return text.replace(/&(#x[0-9a-fA-F]+|#\d+|[a-z]+);/g, (m, e: string) => {
    if (e.startsWith('#x')) return String.fromCodePoint(parseInt(e.slice(2), 16));
    if (e.startsWith('#')) return String.fromCodePoint(parseInt(e.slice(1), 10));
    const v = ENTITIES[e];
    if (v === undefined) throw new XmlError(`unknown entity ${m}`);
    return v;
  });
}

export function parseXml(source: string, maxBytes = 4 * 1024 * 1024, maxElements = 50_000): XmlElement {
  if (source.length > maxBytes) throw new XmlError(`document larger than ${maxBytes} bytes`);
  let elements = 0;
  let i = 0;
  const stack: XmlElement[] = [];
  let root: XmlElement | undefined;
  const local = (name: string) => name.slice(name.indexOf(':') + 1);
  while (i < source.length) {
    const lt = source.indexOf('<', i);
    const text = lt < 0 ? source.slice(i) : source.slice(i, lt);
    if (stack.length > 0) stack[stack.length - 1]!.text += decode(text);
    else if (text.trim() !== '') throw new XmlError('text outside the root element');
    if (lt < 0) break;
    if (source.startsWith('<?', lt)) {
      const end = source.indexOf('?>', lt);
      if (end < 0) throw new XmlError('unterminated processing instruction');
      i = end + 2;
    } else if (source.startsWith('<!--', lt)) {
      const end = source.indexOf('-->', lt);
      if (end < 0) throw new XmlError('unterminated comment');
      i = end + 3;
    } else if (source.startsWith('<![CDATA[', lt)) {
      const end = source.indexOf(']]>', lt);
      if (end < 0 || stack.length === 0) throw new XmlError('CDATA outside an element');
      stack[stack.length - 1]!.text += source.slice(lt + 9, end);
      i = end + 3;
    } else if (source.startsWith('<!', lt)) {
      throw new XmlError('DOCTYPE and declarations are not accepted');
    } else if (source.startsWith('</', lt)) {
      const end = source.indexOf('>', lt);
      const name = source.slice(lt + 2, end).trim();
      const open = stack.pop();
      if (!open || local(open.name) !== local(name)) throw new XmlError(`</${name}> does not close <${open?.name ?? ''}>`);
      i = end + 1;
    } else {
      const end = source.indexOf('>', lt);
      if (end < 0) throw new XmlError('unterminated tag');
      const body = source.slice(lt + 1, end);
      const selfClosing = body.endsWith('/');
      const name = /^([A-Za-z_][\w.:-]*)/.exec(body)?.[1];
      if (!name) throw new XmlError(`bad tag <${body.slice(0, 20)}>`);
      if (++elements > maxElements) throw new XmlError(`more than ${maxElements} elements`);
      const el: XmlElement = { name: local(name), children: [], text: '' };
      if (stack.length > 0) stack[stack.length - 1]!.children.push(el);
      else if (root) throw new XmlError('more than one root element');
      else root = el;
      if (!selfClosing) {
        stack.push(el);
        if (stack.length > MAX_DEPTH) throw new XmlError('nested too deep');
      }
      i = end + 1;
    }
  }
  if (stack.length > 0) throw new XmlError(`<${stack[stack.length - 1]!.name}> is not closed`);
  if (!root) throw new XmlError('no root element');
  return root;
}

export function child(el: XmlElement | undefined, name: string): XmlElement | undefined {
  return el?.children.find((c) => c.name === name);
}

export function children(el: XmlElement | undefined, name: string): XmlElement[] {
  return el?.children.filter((c) => c.name === name) ?? [];
}

export function textOf(el: XmlElement | undefined, name: string): string {
  return child(el, name)?.text.trim() ?? '';
}

/** XML character data and attribute values (XML 1.0 §2.4). */
export function escapeXml(text: string | number): string {
  return String(text).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c]!);
}
